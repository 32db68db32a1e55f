// Copyright 2026 the percpu authors. MIT license.

import { checkPlatform } from "../_internal/check_platform.ts";
import { describe } from "../_internal/describe.ts";
import type { Platform } from "./platform.ts";

/**
 * One value per core; each core reaches only its own with
 * {@linkcode PerCpu.get}: the crate's `PerCore<T>`.
 *
 * Keep an {@linkcode ExceptionLock} in each slot to make the state safe from
 * the core's own exception handlers: `get()` picks the core, the lock's token
 * proves that nothing on that core can interrupt the access.
 *
 * The values live in the agent that created the `PerCpu`: with one agent
 * simulating several cores (the mock platform), that is all of them. State
 * that Workers must share lives in shared memory instead.
 *
 * @typeParam T The per-core value.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const counters = PerCpu.from(platform, () => new ExceptionLock(0));
 * platform.runOn(1, () => {
 *   exceptionFree(platform, (token) => counters.get().update(token, (n) => n + 1));
 * });
 * assert.deepEqual(
 *   counters.unsynchronizedValues().map((lock) => exceptionFree(platform, (t) => lock.borrow(t))),
 *   [0, 1],
 * );
 * ```
 */
export class PerCpu<T> {
  /**
   * Number of cores, one value each.
   *
   * @example Usage
   * ```ts
   * import { PerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new PerCpu(new MockPlatform({ cores: 3 }), [0, 0, 0]).coreCount, 3);
   * ```
   */
  readonly coreCount: number;
  #platform: Platform;
  #values: T[];

  /**
   * Holds `values[i]` for core `i`.
   *
   * @param platform Tells which core the caller runs on.
   * @param values One value per core, in core index order; the array is copied.
   * @throws {TypeError} If `platform` is not a {@linkcode Platform} or `values` is not an array.
   * @throws {RangeError} If `values.length` is not `platform.coreCount`.
   *
   * @example Usage
   * ```ts
   * import { PerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const names = new PerCpu(new MockPlatform({ cores: 2 }), ["boot", "app"]);
   * assert.equal(names.get(), "boot");
   * ```
   */
  constructor(platform: Platform, values: readonly T[]) {
    checkPlatform(platform, "create PerCpu");
    if (!Array.isArray(values)) {
      throw new TypeError(
        `Cannot create PerCpu as 'values' must be an array: current value is ${describe(values)}`,
      );
    }
    if (values.length !== platform.coreCount) {
      throw new RangeError(
        `Cannot create PerCpu as 'values' must hold one value per core (${platform.coreCount}): current length is ${values.length}`,
      );
    }
    this.#platform = platform;
    this.#values = values.slice();
    this.coreCount = values.length;
  }

  /**
   * Creates one value per core by calling `init` with each core index.
   *
   * @typeParam T The per-core value.
   * @param platform Tells which core the caller runs on.
   * @param init Makes the value of core `core`; called for 0, 1, … in order.
   * @returns The new `PerCpu`.
   * @throws {TypeError} If `platform` is not a {@linkcode Platform} or `init` is not a function.
   *
   * @example Usage
   * ```ts
   * import { PerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const ids = PerCpu.from(new MockPlatform({ cores: 3 }), (core) => `cpu${core}`);
   * assert.deepEqual(ids.unsynchronizedValues(), ["cpu0", "cpu1", "cpu2"]);
   * ```
   */
  static from<T>(platform: Platform, init: (core: number) => T): PerCpu<T> {
    checkPlatform(platform, "create PerCpu");
    if (typeof init !== "function") {
      throw new TypeError(
        `Cannot create PerCpu as 'init' must be a function: current value is ${describe(init)}`,
      );
    }
    const values: T[] = [];
    for (let core = 0; core < platform.coreCount; core++) values.push(init(core));
    return new PerCpu(platform, values);
  }

  /**
   * Returns the value of the core the caller runs on.
   *
   * @returns The current core's value.
   * @throws {RangeError} If the platform's `coreIndex()` is not an integer
   * below `coreCount` (a broken platform).
   *
   * @example Usage
   * ```ts
   * import { PerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const slots = PerCpu.from(platform, () => ({ hits: 0 }));
   * platform.runOn(1, () => slots.get().hits = 3);
   * assert.equal(slots.get().hits, 0);
   * ```
   */
  get(): T {
    const core = this.#platform.coreIndex();
    // `>>> 0` maps negatives, fractions and NaN to another number.
    if (typeof core !== "number" || core >>> 0 !== core || core >= this.#values.length) {
      throw new RangeError(
        `Cannot read PerCpu slot as the core index must be an integer from 0 to ${
          this.#values.length - 1
        }: current value is ${describe(core)}; the platform's coreIndex() is broken`,
      );
    }
    return this.#values[core] as T;
  }

  /**
   * Returns every core's value, in core index order, without any
   * synchronisation: what the crate's `get_mut` and `into_inner` give.
   *
   * **Safety:** use it only when no core is using its value: before the
   * cores start, after they stopped, or to aggregate values that are safe
   * to read at any time. The array is a copy; the values are not.
   *
   * @returns A new array of the values.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const hits = PerCpu.from(platform, () => ({ n: 0 }));
   * for (const core of [0, 1, 1]) platform.runOn(core, () => hits.get().n++);
   * const total = hits.unsynchronizedValues().reduce((sum, v) => sum + v.n, 0);
   * assert.equal(total, 3);
   * ```
   */
  unsynchronizedValues(): T[] {
    return this.#values.slice();
  }
}
