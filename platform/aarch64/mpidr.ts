// Copyright 2026 the percpu authors. MIT license.

import { checkInteger } from "../../_internal/check_index.ts";
import { describe } from "../../_internal/describe.ts";

/**
 * The fields of MPIDR_EL1, the Multiprocessor Affinity Register, as masks on
 * the `bigint` that {@linkcode Aarch64Machine.mpidr} returns.
 *
 * - `AFF0` bits 7..0, `AFF1` bits 15..8, `AFF2` bits 23..16, `AFF3` bits
 *   39..32: the affinity levels, from the lowest (a thread, or a core) up.
 * - `MT` bit 24: the lowest affinity level consists of logical PEs that are
 *   very interdependent (threads of one core, or cores whose Aff0 is 0).
 * - `U` bit 30: a uniprocessor system; 0 on a machine of several PEs.
 * - `RES1` bit 31: reads as 1.
 * - `AFFINITY` (`0xff00ffffff`): the four affinity fields together, the
 *   value a device tree's `cpu@` node has in its `reg`.
 *
 * @example Usage
 * ```ts
 * import { Aarch64Machine, MPIDR } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * const machine = new Aarch64Machine({ preset: "rk3399" });
 * const mpidr = machine.runOn(4, () => machine.mpidr());
 * assert.equal(mpidr, 0x80000100n);
 * assert.equal(mpidr & MPIDR.AFFINITY, 0x100n);
 * assert.equal(mpidr & MPIDR.U, 0n);
 * ```
 */
export const MPIDR: {
  /** Affinity level 0: bits 7..0. */
  readonly AFF0: bigint;
  /** Affinity level 1: bits 15..8. */
  readonly AFF1: bigint;
  /** Affinity level 2: bits 23..16. */
  readonly AFF2: bigint;
  /** Affinity level 3: bits 39..32. */
  readonly AFF3: bigint;
  /** Multithreading: bit 24. */
  readonly MT: bigint;
  /** Uniprocessor system: bit 30. */
  readonly U: bigint;
  /** Reads as one: bit 31. */
  readonly RES1: bigint;
  /** The four affinity fields: `0xff00ffffff`. */
  readonly AFFINITY: bigint;
} = Object.freeze({
  AFF0: 0xffn,
  AFF1: 0xff00n,
  AFF2: 0xff0000n,
  AFF3: 0xff00000000n,
  MT: 1n << 24n,
  U: 1n << 30n,
  RES1: 1n << 31n,
  AFFINITY: 0xff00ffffffn,
});

/** The fields of one MPIDR_EL1 value; see {@linkcode decodeMpidr}. */
export interface MpidrFields {
  /** Affinity level 0 (bits 7..0). */
  aff0: number;
  /** Affinity level 1 (bits 15..8). */
  aff1: number;
  /** Affinity level 2 (bits 23..16). */
  aff2: number;
  /** Affinity level 3 (bits 39..32). */
  aff3: number;
  /** MT, bit 24. */
  mt: boolean;
  /** U, bit 30. */
  u: boolean;
}

/**
 * Splits an MPIDR_EL1 value into its fields.
 *
 * @param mpidr A value read with {@linkcode Aarch64Machine.mpidr}, or any
 * 64-bit value (a device tree `reg` decodes too: MT and U read as 0 then).
 * @returns The affinity levels and the MT and U flags.
 * @throws {TypeError} If `mpidr` is not a bigint or a number.
 * @throws {RangeError} If `mpidr` is not an integer from 0 to 2^64 - 1.
 *
 * @example Usage
 * ```ts
 * import { decodeMpidr } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(decodeMpidr(0x81000500n), {
 *   aff0: 0, aff1: 5, aff2: 0, aff3: 0, mt: true, u: false,
 * });
 * ```
 */
export function decodeMpidr(mpidr: bigint | number): MpidrFields {
  let value: bigint;
  if (typeof mpidr === "bigint") {
    value = mpidr;
  } else if (typeof mpidr === "number") {
    if (!Number.isSafeInteger(mpidr)) {
      throw new RangeError(
        `Cannot decode MPIDR_EL1 as the value must be an integer from 0 to 2^64 - 1: current value is ${
          describe(mpidr)
        }`,
      );
    }
    value = BigInt(mpidr);
  } else {
    throw new TypeError(
      `Cannot decode MPIDR_EL1 as the value must be a bigint or a number: current value is ${
        describe(mpidr)
      }`,
    );
  }
  if (value < 0n || value >= 1n << 64n) {
    throw new RangeError(
      `Cannot decode MPIDR_EL1 as the value must be an integer from 0 to 2^64 - 1: current value is ${
        describe(mpidr)
      }`,
    );
  }
  return {
    aff0: Number(value & MPIDR.AFF0),
    aff1: Number((value & MPIDR.AFF1) >> 8n),
    aff2: Number((value & MPIDR.AFF2) >> 16n),
    aff3: Number((value & MPIDR.AFF3) >> 32n),
    mt: (value & MPIDR.MT) !== 0n,
    u: (value & MPIDR.U) !== 0n,
  };
}

/**
 * Builds an MPIDR_EL1 value from its fields: the inverse of
 * {@linkcode decodeMpidr}, with bit 31 (RES1) set as the register reads it.
 *
 * @param fields The affinity levels (integers 0–255) and the MT and U flags.
 * @returns The 64-bit register value.
 * @throws {TypeError} If `fields` is not an object, a level is not a number
 * or a flag is not a boolean.
 * @throws {RangeError} If a level is not an integer from 0 to 255.
 *
 * @example Usage
 * ```ts
 * import { decodeMpidr, encodeMpidr } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * const fields = { aff0: 0, aff1: 5, aff2: 0, aff3: 0, mt: true, u: false };
 * assert.equal(encodeMpidr(fields), 0x81000500n);
 * assert.deepEqual(decodeMpidr(encodeMpidr(fields)), fields);
 * ```
 */
export function encodeMpidr(fields: MpidrFields): bigint {
  if (typeof fields !== "object" || fields === null) {
    throw new TypeError(
      `Cannot encode MPIDR_EL1 as 'fields' must be an object: current value is ${describe(fields)}`,
    );
  }
  let value = MPIDR.RES1;
  for (const [name, shift] of [["aff0", 0n], ["aff1", 8n], ["aff2", 16n], ["aff3", 32n]] as const) {
    const level: unknown = fields[name];
    checkInteger(level, 0, 255, `'${name}'`, "encode MPIDR_EL1");
    value |= BigInt(level) << shift;
  }
  for (const [name, bit] of [["mt", MPIDR.MT], ["u", MPIDR.U]] as const) {
    const flag: unknown = fields[name];
    if (typeof flag !== "boolean") {
      throw new TypeError(
        `Cannot encode MPIDR_EL1 as '${name}' must be a boolean: current value is ${
          describe(flag)
        }`,
      );
    }
    if (flag) value |= bit;
  }
  return value;
}
