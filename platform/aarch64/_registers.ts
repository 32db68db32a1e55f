// Copyright 2026 the percpu authors. MIT license.

// Operand checks of the register instructions (`msr daif`, `msr spsr_el1`,
// `msr daifset`, `msr daifclr`), shared by the machine.

import { describe } from "../../_internal/describe.ts";
import { DAIF } from "./daif.ts";

/** Largest value of a 64-bit register, for the bigint form of a register write. */
const REGISTER_LIMIT = 1n << 64n;

/**
 * The DAIF bits (9..6) of a value written to DAIF or SPSR_EL1 with `msr`:
 * the other bits are ignored, as the instruction ignores them.
 *
 * `value` is the 64-bit register operand: a non-negative safe integer or a
 * bigint below 2^64.
 */
export function daifBitsOf(value: unknown, action: string): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= 0) return value & DAIF.ALL;
  } else if (typeof value === "bigint") {
    if (value >= 0n && value < REGISTER_LIMIT) return Number(value & BigInt(DAIF.ALL));
  } else {
    throw new TypeError(
      `Cannot ${action} as the value must be a number or a bigint: current value is ${
        describe(value)
      }`,
    );
  }
  throw new RangeError(
    `Cannot ${action} as the value must be an integer from 0 to 2^64 - 1: current value is ${
      describe(value)
    }`,
  );
}

/**
 * The DAIF bits that `msr daifset, #imm` / `msr daifclr, #imm` name: imm bit
 * 3 → D, 2 → A, 1 → I, 0 → F.
 */
export function daifBitsOfImmediate(imm: unknown, instruction: string): number {
  if (typeof imm !== "number") {
    throw new TypeError(
      `Cannot execute ${instruction} as the immediate must be a number: current value is ${
        describe(imm)
      }`,
    );
  }
  if (!Number.isInteger(imm) || imm < 0 || imm > 15) {
    throw new RangeError(
      `Cannot execute ${instruction} as the immediate must be an integer from 0 to 15: current value is ${
        describe(imm)
      }`,
    );
  }
  return imm << 6;
}
