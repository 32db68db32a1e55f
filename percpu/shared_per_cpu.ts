// Copyright 2026 the percpu authors. MIT license.

import { checkPlatform } from "../_internal/check_platform.ts";
import { describe } from "../_internal/describe.ts";
import { checkHandle, checkOptions, checkType, placement } from "../_internal/shared_memory.ts";
import type { Platform } from "./platform.ts";

/** Options for {@linkcode SharedPerCpu}. */
export interface SharedPerCpuOptions {
  /**
   * How many `Int32` counters each core has.
   *
   * @default {1}
   */
  length?: number;
  /**
   * The shared memory of the slots: {@linkcode SharedPerCpu.byteLength}
   * bytes from `byteOffset`. Without it, a new `SharedArrayBuffer` is made.
   */
  buffer?: SharedArrayBuffer;
  /**
   * Where the slots start in `buffer`: a multiple of 128. Only with `buffer`.
   *
   * @default {0}
   */
  byteOffset?: number;
}

/**
 * What another agent needs to reach the same slots: a plain object that
 * `postMessage` can send. Rebuild the view with {@linkcode SharedPerCpu.attach}.
 */
export interface SharedPerCpuHandle {
  /** The shared memory of the slots. */
  readonly buffer: SharedArrayBuffer;
  /** Where the slots start in `buffer`. */
  readonly byteOffset: number;
  /** Number of cores, one slot each. */
  readonly coreCount: number;
  /** Number of `Int32` counters per slot. */
  readonly length: number;
}

/** The stride unit of a slot: two cores' slots never share 128 bytes. */
const SLOT_ALIGN = 128;

/**
 * Per-core `Int32` counters in one `SharedArrayBuffer` that every Worker can
 * read: Linux's `percpu_counter`. Each core writes only its own slot; any
 * core reads every slot with `Atomics.load` and sums them.
 *
 * Each slot is padded to a multiple of 128 bytes, so no two cores' counters
 * share a cache line (nor a pair of lines that the CPU fetches together):
 * adjacent counters lose most of the gain to false sharing.
 *
 * **Writing.** {@linkcode SharedPerCpu.get} returns the current core's slot
 * as an `Int32Array`, and {@linkcode SharedPerCpu.add} adds to it. These are
 * plain reads and writes, not atomic read-modify-writes: only the owning core
 * writes its slot, and JavaScript is never pre-empted inside `slot[i] += n`,
 * so not even the core's own exception handlers can interleave with it.
 *
 * **Reading.** {@linkcode SharedPerCpu.sum} and {@linkcode SharedPerCpu.load}
 * read with `Atomics.load`, so each value is whole (aligned `Int32` accesses
 * never tear). While cores are counting, a sum is a snapshot that may lag;
 * it is exact once the writers have stopped and the reader has synchronised
 * with them (a message from them, or any `Atomics` operation they did after
 * counting). Counters wrap at 2^31 like any `Int32`.
 *
 * @example Usage
 * ```ts
 * import { SharedPerCpu } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 4 });
 * const hits = new SharedPerCpu(platform); // send hits.handle to Workers; they attach it
 * hits.add(1);
 * platform.runOn(3, () => hits.add(5));
 * assert.equal(hits.sum(), 6);
 * assert.deepEqual(hits.values(), [1, 0, 0, 5]);
 * ```
 */
export class SharedPerCpu {
  /**
   * Number of cores, one slot each.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new SharedPerCpu(new MockPlatform({ cores: 3 })).coreCount, 3);
   * ```
   */
  readonly coreCount: number;
  /**
   * Number of `Int32` counters in each core's slot.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const stats = new SharedPerCpu(new MockPlatform(), { length: 2 });
   * assert.equal(stats.length, 2);
   * assert.equal(stats.get().length, 2);
   * ```
   */
  readonly length: number;
  #platform: Platform;
  /** One view per core on its slot: what `get()` returns and every read goes through. */
  #slots: Int32Array[];
  #handle: SharedPerCpuHandle;

  /**
   * Creates one zeroed slot per core of `platform`, in a new
   * `SharedArrayBuffer` or at `options.byteOffset` of `options.buffer` (which
   * is used as it is, not zeroed).
   *
   * @param platform Tells which core the caller runs on, and how many there are.
   * @param options Counters per core, and where the slots live.
   * @throws {TypeError} If `platform` is not a {@linkcode Platform}, `options`
   * is not an object, `buffer` is not a `SharedArrayBuffer`, `length` or
   * `byteOffset` is not a number, or `byteOffset` is given without `buffer`.
   * @throws {RangeError} If `length` is not a positive integer, `byteOffset`
   * is not a multiple of 128, or the slots do not fit in `buffer`.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const buffer = new SharedArrayBuffer(SharedPerCpu.byteLength(2) + 128);
   * const counters = new SharedPerCpu(platform, { buffer, byteOffset: 128 });
   * counters.add(2);
   * assert.equal(new Int32Array(buffer)[32], 2); // core 0's slot starts at byte 128
   * ```
   */
  constructor(platform: Platform, options: SharedPerCpuOptions = {}) {
    const action = "create SharedPerCpu";
    const coreCount = checkPlatform(platform, action);
    checkOptions(options, action);
    const length = options.length ?? 1;
    checkType(length, "length", "number", action);
    if (!Number.isSafeInteger(length) || length < 1) {
      throw new RangeError(
        `Cannot ${action} as 'length' must be a positive integer: current value is ${
          describe(length)
        }`,
      );
    }
    const bytes = SharedPerCpu.byteLength(coreCount, length);
    const { buffer, byteOffset } = placement(options.buffer, options.byteOffset, {
      action,
      align: SLOT_ALIGN,
      byteLength: bytes,
      tooLong: (bufferLength, offset) =>
        bytes > bufferLength
          ? `Cannot ${action} as its ${bytes} bytes (${coreCount} cores of 'length' ${length}, each slot padded to ${SLOT_ALIGN} bytes) do not fit in the ${bufferLength}-byte buffer at any 'byteOffset': current value of 'length' is ${length}`
          : `Cannot ${action} as its ${bytes} bytes (${coreCount} cores) must fit in the ${bufferLength}-byte buffer from 'byteOffset': current value is ${offset}`,
    });
    this.#platform = platform;
    this.coreCount = coreCount;
    this.length = length;
    const stride = bytes / coreCount;
    this.#slots = Array.from(
      { length: coreCount },
      (_, core) => new Int32Array(buffer, byteOffset + core * stride, length),
    );
    this.#handle = Object.freeze({ buffer, byteOffset, coreCount, length });
  }

  /**
   * How many bytes the slots of `coreCount` cores take: each slot is `length`
   * `Int32`s, rounded up to a multiple of 128 bytes.
   *
   * @param coreCount Number of cores.
   * @param length `Int32` counters per core.
   * @returns The byte length to reserve.
   * @throws {TypeError} If an argument is not a number.
   * @throws {RangeError} If an argument is not a positive integer.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * assert.equal(SharedPerCpu.byteLength(4), 512);
   * assert.equal(SharedPerCpu.byteLength(2, 40), 512); // 160 bytes round up to 256 per core
   * ```
   */
  static byteLength(coreCount: number, length = 1): number {
    for (const [key, value] of [["coreCount", coreCount], ["length", length]] as const) {
      checkType(value, key, "number", "compute the SharedPerCpu byte length");
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot compute the SharedPerCpu byte length as '${key}' must be a positive integer: current value is ${
            describe(value)
          }`,
        );
      }
    }
    return coreCount * Math.ceil((length * 4) / SLOT_ALIGN) * SLOT_ALIGN;
  }

  /**
   * Creates a view on the slots that `handle` describes, typically in a
   * Worker that received the handle by `postMessage`.
   *
   * @param platform The platform of this agent; it must have the handle's number of cores.
   * @param handle {@linkcode SharedPerCpu.handle} of a view in any agent.
   * @returns The new view.
   * @throws {TypeError} If `handle` is not a handle or `platform` not a {@linkcode Platform}.
   * @throws {RangeError} If `platform.coreCount` differs from the handle's, or as the constructor.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const counters = new SharedPerCpu(platform);
   * // A Worker would receive the handle from postMessage; structuredClone does the same.
   * const view = SharedPerCpu.attach(platform, structuredClone(counters.handle));
   * platform.runOn(1, () => view.add(7));
   * assert.equal(counters.sum(), 7);
   * ```
   */
  static attach(platform: Platform, handle: SharedPerCpuHandle): SharedPerCpu {
    const coreCount = checkPlatform(platform, "attach SharedPerCpu");
    checkHandle(
      handle,
      { byteOffset: "number", coreCount: "number", length: "number" },
      "attach SharedPerCpu",
      "SharedPerCpu handle { buffer, byteOffset, coreCount, length }",
    );
    if (handle.coreCount !== coreCount) {
      throw new RangeError(
        `Cannot attach SharedPerCpu as the platform must have the handle's ${
          describe(handle.coreCount)
        } cores: current value is ${coreCount}`,
      );
    }
    return new SharedPerCpu(platform, {
      buffer: handle.buffer,
      byteOffset: handle.byteOffset,
      length: handle.length,
    });
  }

  /**
   * What another agent needs to attach to these slots: send it with
   * `postMessage` and call {@linkcode SharedPerCpu.attach} there.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const { buffer, byteOffset, coreCount, length } =
   *   new SharedPerCpu(new MockPlatform({ cores: 2 })).handle;
   * assert.deepEqual([buffer.byteLength, byteOffset, coreCount, length], [256, 0, 2, 1]);
   * ```
   */
  get handle(): SharedPerCpuHandle {
    return this.#handle;
  }

  /**
   * Returns the slot of the core the caller runs on: `length` `Int32`s that
   * only this core may write, with plain reads and writes.
   *
   * @returns A view on the current core's slot (the same object on every call).
   * @throws {RangeError} If the platform's `coreIndex()` is not an integer
   * below `coreCount` (a broken platform).
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const stats = new SharedPerCpu(platform, { length: 2 }); // [requests, errors]
   * platform.runOn(1, () => {
   *   const mine = stats.get();
   *   mine[0]! += 3;
   *   mine[1]! += 1;
   * });
   * assert.deepEqual([stats.sum(0), stats.sum(1)], [3, 1]);
   * ```
   */
  get(): Int32Array {
    const core = this.#platform.coreIndex();
    const slot = this.#slots[core];
    if (slot === undefined) this.#throwBrokenPlatform(core);
    return slot;
  }

  /**
   * Adds `delta` to counter `index` of the current core's slot.
   *
   * @param delta What to add (an integer; the counter wraps like an `Int32`).
   * @param index Which of the slot's counters.
   * @throws {TypeError} If `delta` is not a number.
   * @throws {RangeError} If `delta` is not an integer (`NaN`, `Infinity`,
   * `0.5`), `index` is not an integer below `length`, or the platform's
   * `coreIndex()` is broken. The counter is left unchanged.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const counters = new SharedPerCpu(new MockPlatform());
   * counters.add(5);
   * counters.add(-2);
   * assert.equal(counters.sum(), 3);
   * ```
   */
  add(delta: number, index = 0): void {
    const slot = this.get();
    if (!Number.isInteger(delta) || index >>> 0 !== index || index >= this.length) {
      this.#throwBadAdd(delta, index);
    }
    // SAFETY: only this core writes its slot, and nothing can run on this
    // agent between the read and the write: no atomic operation is needed.
    slot[index]! += delta;
  }

  /**
   * Reads counter `index` of core `core`'s slot with `Atomics.load`.
   *
   * @param core The core whose counter to read.
   * @param index Which of the slot's counters.
   * @returns The counter's value.
   * @throws {RangeError} If `core` or `index` is out of range.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const counters = new SharedPerCpu(platform);
   * platform.runOn(1, () => counters.add(4));
   * assert.equal(counters.load(1), 4);
   * assert.equal(counters.load(0), 0);
   * ```
   */
  load(core: number, index = 0): number {
    if (!Number.isInteger(core) || core < 0 || core >= this.coreCount) {
      throw new RangeError(
        `Cannot read SharedPerCpu as 'core' must be an integer from 0 to ${
          this.coreCount - 1
        }: current value is ${describe(core)}`,
      );
    }
    this.#checkIndex(index, "read SharedPerCpu");
    return Atomics.load(this.#slots[core]!, index);
  }

  /**
   * Sums counter `index` over every core's slot, reading each with
   * `Atomics.load`. Exact once the writers have stopped and synchronised
   * with the caller; a snapshot that may lag while they run.
   *
   * @param index Which of the slots' counters.
   * @returns The sum, as a number (it does not wrap).
   * @throws {RangeError} If `index` is not an integer below `length`.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 3 });
   * const counters = new SharedPerCpu(platform);
   * for (const core of [0, 1, 2, 2]) platform.runOn(core, () => counters.add(1));
   * assert.equal(counters.sum(), 4);
   * ```
   */
  sum(index = 0): number {
    this.#checkIndex(index, "sum SharedPerCpu");
    let total = 0;
    for (const slot of this.#slots) total += Atomics.load(slot, index);
    return total;
  }

  /**
   * Reads counter `index` of every core, in core index order, with
   * `Atomics.load`.
   *
   * @param index Which of the slots' counters.
   * @returns A new array, one value per core.
   * @throws {RangeError} If `index` is not an integer below `length`.
   *
   * @example Usage
   * ```ts
   * import { SharedPerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const counters = new SharedPerCpu(platform);
   * platform.runOn(1, () => counters.add(9));
   * assert.deepEqual(counters.values(), [0, 9]);
   * ```
   */
  values(index = 0): number[] {
    this.#checkIndex(index, "read SharedPerCpu");
    return this.#slots.map((slot) => Atomics.load(slot, index));
  }

  #checkIndex(index: number, action: string): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      this.#throwBadIndex(index, action);
    }
  }

  #throwBadIndex(index: unknown, action: string): never {
    throw new RangeError(
      `Cannot ${action} as 'index' must be an integer from 0 to ${
        this.length - 1
      }: current value is ${describe(index)}`,
    );
  }

  #throwBrokenPlatform(core: unknown): never {
    throw new RangeError(
      `Cannot reach the SharedPerCpu slot of the current core as the core index must be an integer from 0 to ${
        this.coreCount - 1
      }: current value is ${describe(core)}; the platform's coreIndex() is broken`,
    );
  }

  #throwBadAdd(delta: unknown, index: unknown): never {
    if (typeof delta !== "number") {
      throw new TypeError(
        `Cannot add to SharedPerCpu as 'delta' must be a number: current value is ${
          describe(delta)
        }`,
      );
    }
    if (!Number.isInteger(delta)) {
      // NaN or Infinity would store 0, and a fraction would be dropped.
      throw new RangeError(
        `Cannot add to SharedPerCpu as 'delta' must be an integer: current value is ${delta}`,
      );
    }
    this.#throwBadIndex(index, "add to SharedPerCpu");
  }
}
