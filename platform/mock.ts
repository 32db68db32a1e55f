// Copyright 2026 the percpu authors. MIT license.

/**
 * A deterministic N-core machine inside one agent, for testing code written
 * against a {@linkcode Platform}: switch cores with `runOn`, inject
 * interrupts with `interrupt`, inspect masks, pending handlers and counters,
 * and let {@linkcode MockPlatform.explore} try an interrupt at every
 * delivery point of a scenario.
 *
 * ```ts
 * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const counts = PerCpu.from(platform, () => new ExceptionLock(0));
 * const bump = () => exceptionFree(platform, (t) => counts.get().update(t, (n) => n + 1));
 * exceptionFree(platform, () => platform.interrupt(bump)); // pending: core 0 is masked
 * assert.equal(exceptionFree(platform, (t) => counts.get().borrow(t)), 1); // ran at the restore
 * ```
 *
 * @module
 */

import { checkIndex, checkInteger } from "../_internal/check_index.ts";
import { describe } from "../_internal/describe.ts";
import { type ExceptionFree, rejectThenable, type Synchronous } from "../percpu/exception_free.ts";
import type { Platform } from "../percpu/platform.ts";
import { deliverPending, type ExceptionModel } from "./_delivery.ts";

/** Options for {@linkcode MockPlatform}. */
export interface MockPlatformOptions {
  /**
   * Number of simulated cores.
   *
   * @default {1}
   */
  cores?: number;
}

/** Where {@linkcode MockPlatform.interrupt} delivers. */
export interface InterruptOptions {
  /**
   * The core that takes the interrupt.
   *
   * @default {the current core}
   */
  core?: number;
}

/** What a {@linkcode MockPlatform} counted since it was created. */
export interface MockCounters {
  /** Calls of `mask()`. */
  masks: number;
  /** Calls of `restore()` that succeeded. */
  restores: number;
  /** Interrupt handlers that ran. */
  delivered: number;
  /** Interrupts that arrived while their core was masked and were kept pending. */
  deferred: number;
}

/**
 * An interrupt handler: it runs masked, with a live token of its core. It
 * must be synchronous; what it returns is ignored.
 */
export type MockHandler = (token: ExceptionFree) => unknown;

/** A scenario for {@linkcode MockPlatform.explore}. */
export interface ExploreOptions<S> {
  /**
   * Number of simulated cores.
   *
   * @default {1}
   */
  cores?: number;
  /** Makes fresh state for one run, on the run's fresh platform; called once per run. */
  setup: (platform: MockPlatform) => S;
  /** The scenario; it runs on core 0 of a fresh platform. */
  run: (platform: MockPlatform, state: S) => void;
  /** The handler injected at one delivery point per run. */
  interrupt: (token: ExceptionFree, state: S, platform: MockPlatform) => void;
  /** Throws (for example with `assert`) when the run broke an invariant. */
  check: (state: S) => void;
}

/** A delivery point at which an injected interrupt broke the scenario. */
export interface ExploreFailure {
  /** Index of the delivery point, from 0. */
  point: number;
  /** The point in words, for example `"after the restore of section 1"`. */
  where: string;
  /** What `run` or `check` threw. */
  error: unknown;
}

/** What {@linkcode MockPlatform.explore} found. */
export interface ExploreReport {
  /** How many delivery points a run without interrupts has; one run was made per point. */
  points: number;
  /** Every point where the check failed or an error escaped, in point order. */
  failures: ExploreFailure[];
}

/** One simulated core; a class, so that every core has the same shape. */
class CoreState implements MockCounters {
  masked = false;
  /** States returned by mask() and not yet restored, innermost last. */
  open: number[] = [];
  /** Number of the outermost section now open on this core, for explore(). */
  section = 0;
  pending: MockHandler[] = [];
  masks = 0;
  restores = 0;
  delivered = 0;
  deferred = 0;
  constructor(readonly index: number) {}
}

interface Interrupted {
  core: CoreState;
  masked: boolean;
}

interface ScenarioOutcome {
  points: number;
  where: string;
  error: { value: unknown } | undefined;
}

/**
 * A simulated machine of `cores` cores in one agent: a {@linkcode Platform}
 * for tests of code that uses the package.
 *
 * Every core starts unmasked, and code runs on core 0 unless
 * {@linkcode MockPlatform.runOn} says otherwise. An interrupt is a handler:
 * it runs at once on an unmasked core, masked and with a token as a handler
 * on hardware; on a masked core it stays pending until that core's mask is
 * restored to unmasked, and pending handlers run in arrival order. Misuse of
 * `restore` is reported, not absorbed.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const log: string[] = [];
 * exceptionFree(platform, () => {
 *   platform.interrupt(() => log.push("handler"));
 *   log.push("section");
 * });
 * assert.deepEqual(log, ["section", "handler"]);
 * assert.deepEqual(platform.counters(), { masks: 1, restores: 1, delivered: 1, deferred: 1 });
 * ```
 */
export class MockPlatform implements Platform {
  /**
   * Number of simulated cores.
   *
   * @example Usage
   * ```ts
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new MockPlatform({ cores: 4 }).coreCount, 4);
   * ```
   */
  readonly coreCount: number;
  #cores: CoreState[] = [];
  // The current core's state, reached directly: mask() and restore() are hot.
  #here: CoreState;
  #lastState = 0;
  #sections = 0;
  #onDeliveryPoint: ((core: number, where: string) => void) | undefined = undefined;
  #model: ExceptionModel<MockHandler, Interrupted>;

  /**
   * Creates a machine whose cores are all unmasked, with nothing pending.
   *
   * @param options How many cores.
   * @throws {TypeError} If `options` is not an object.
   * @throws {RangeError} If `options.cores` is not an integer from 1 to 1024.
   *
   * @example Usage
   * ```ts
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * assert.equal(platform.coreIndex(), 0);
   * assert.equal(platform.isMasked(1), false);
   * ```
   */
  constructor(options: MockPlatformOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot create MockPlatform as 'options' must be an object: current value is ${
          describe(options)
        }`,
      );
    }
    const cores = options.cores ?? 1;
    checkInteger(cores, 1, 1024, "'cores'", "create MockPlatform");
    this.coreCount = cores;
    for (let i = 0; i < cores; i++) this.#cores.push(new CoreState(i));
    this.#here = this.#cores[0] as CoreState;
    this.#model = {
      takeDeliverable: (core) => {
        const state = this.#cores[core] as CoreState;
        return state.masked ? undefined : state.pending.shift();
      },
      enter: (core) => {
        const state = this.#cores[core] as CoreState;
        const saved = { core: this.#here, masked: state.masked };
        state.masked = true;
        this.#here = state;
        return saved;
      },
      handle: (token, handler) => handler(token),
      exit: (core, saved) => {
        const state = this.#cores[core] as CoreState;
        state.masked = saved.masked;
        state.delivered++;
        this.#here = saved.core;
      },
    };
  }

  /**
   * Index of the core the caller runs on: 0, or the core of the innermost
   * {@linkcode MockPlatform.runOn} or interrupt handler.
   *
   * @returns The current core index.
   *
   * @example Usage
   * ```ts
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * assert.equal(platform.runOn(1, () => platform.coreIndex()), 1);
   * ```
   */
  coreIndex(): number {
    return this.#here.index;
  }

  /**
   * Masks the current core and returns a state for
   * {@linkcode MockPlatform.restore}.
   *
   * Each call returns a different number, so that `restore` can tell which
   * `mask` call a state came from and report misuse.
   *
   * @returns The previous mask state, as an opaque number.
   *
   * @example Usage
   * ```ts
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform();
   * const previous = platform.mask();
   * assert.equal(platform.isMasked(), true);
   * platform.restore(previous);
   * assert.equal(platform.isMasked(), false);
   * ```
   */
  mask(): number {
    const core = this.#here;
    // Odd: the core was masked before; the rest makes each state unique.
    const state = (this.#lastState += 2) + (core.masked ? 1 : 0);
    if (!core.masked) core.section = ++this.#sections;
    core.open.push(state);
    core.masked = true;
    core.masks++;
    return state;
  }

  /**
   * Restores a state returned by {@linkcode MockPlatform.mask} on the current
   * core; when that unmasks the core, runs its pending handlers in arrival
   * order before returning.
   *
   * @param previous The value the matching `mask()` returned.
   * @throws {RangeError} If `previous` was not returned by `mask()` on this
   * core, was already restored, or belongs to an outer section whose inner
   * sections are still open. Nothing changes then.
   *
   * @example Usage
   * ```ts
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform();
   * const outer = platform.mask();
   * const inner = platform.mask();
   * assert.throws(() => platform.restore(outer), RangeError); // inner is still open
   * platform.restore(inner);
   * platform.restore(outer);
   * ```
   */
  restore(previous: number): void {
    const core = this.#here;
    if (core.open[core.open.length - 1] !== previous) this.#throwBadRestore(previous);
    core.open.pop();
    core.restores++;
    if (previous % 2 === 1) return; // Back to masked: nothing can be delivered.
    core.masked = false;
    if (core.pending.length > 0) deliverPending(this, this.#model, core.index);
    this.#onDeliveryPoint?.(core.index, `after the restore of section ${core.section}`);
  }

  /**
   * Runs `fn` on core `core`: inside it, {@linkcode MockPlatform.coreIndex}
   * returns `core`. The previous core is current again afterwards, also when
   * `fn` throws.
   *
   * @typeParam R What `fn` returns.
   * @param core The core to run on.
   * @param fn The code to run.
   * @returns What `fn` returned.
   * @throws {RangeError} If `core` is not a core of this machine.
   * @throws {TypeError} If `fn` is not a function.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * const core = platform.runOn(1, () => exceptionFree(platform, (token) => token.core));
   * assert.equal(core, 1);
   * ```
   */
  runOn<R>(core: number, fn: () => R): R {
    checkIndex(core, this.coreCount, "core", "run on core");
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot run on core ${core} as 'fn' must be a function: current value is ${describe(fn)}`,
      );
    }
    const previous = this.#here;
    this.#here = this.#cores[core] as CoreState;
    try {
      return fn();
    } finally {
      this.#here = previous;
    }
  }

  /**
   * Raises an interrupt: `handler` runs at once on the target core if that
   * core is unmasked, or stays pending until its mask is restored.
   *
   * The handler runs on the target core, masked, with a live token, as an
   * exception handler on hardware.
   *
   * @param handler What the interrupt runs.
   * @param options Which core takes it (default: the current core).
   * @returns `true` if the handler ran at once, `false` if it is pending.
   * @throws {TypeError} If `handler` is not a function, or returns a promise (handlers must be
   * synchronous).
   * @throws {RangeError} If `options.core` is not a core of this machine.
   *
   * @example Usage
   * ```ts
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * let ranOn = -1;
   * assert.equal(platform.interrupt((token) => ranOn = token.core, { core: 1 }), true);
   * assert.equal(ranOn, 1);
   * ```
   */
  interrupt<R = void>(
    handler: (token: ExceptionFree) => Synchronous<R>,
    options: InterruptOptions = {},
  ): boolean {
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot raise an interrupt as 'handler' must be a function: current value is ${
          describe(handler)
        }`,
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot raise an interrupt as 'options' must be an object: current value is ${
          describe(options)
        }`,
      );
    }
    const index = options.core ?? this.#here.index;
    checkIndex(index, this.coreCount, "core", "raise an interrupt on core");
    const core = this.#cores[index] as CoreState;
    core.pending.push(handler);
    if (core.masked) {
      core.deferred++;
      return false;
    }
    deliverPending(this, this.#model, index);
    return true;
  }

  /**
   * Whether a core is masked.
   *
   * @param core The core to look at (default: the current core).
   * @returns `true` while the core is inside a section or a handler.
   * @throws {RangeError} If `core` is not a core of this machine.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * exceptionFree(platform, () => {
   *   assert.equal(platform.isMasked(0), true);
   *   assert.equal(platform.isMasked(1), false);
   * });
   * ```
   */
  isMasked(core: number = this.#here.index): boolean {
    checkIndex(core, this.coreCount, "core", "inspect core");
    return (this.#cores[core] as CoreState).masked;
  }

  /**
   * How many interrupts wait on a core until it is unmasked.
   *
   * @param core The core to look at (default: the current core).
   * @returns The number of pending handlers.
   * @throws {RangeError} If `core` is not a core of this machine.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform();
   * exceptionFree(platform, () => {
   *   platform.interrupt(() => {});
   *   assert.equal(platform.pending(), 1);
   * });
   * assert.equal(platform.pending(), 0);
   * ```
   */
  pending(core: number = this.#here.index): number {
    checkIndex(core, this.coreCount, "core", "inspect core");
    return (this.#cores[core] as CoreState).pending.length;
  }

  /**
   * What was counted since the machine was created: on one core, or summed
   * over all cores.
   *
   * @param core The core to look at (default: all cores together).
   * @returns A fresh object with the counts.
   * @throws {RangeError} If `core` is not a core of this machine.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * platform.runOn(1, () => exceptionFree(platform, () => {}));
   * assert.deepEqual(platform.counters(1), { masks: 1, restores: 1, delivered: 0, deferred: 0 });
   * assert.equal(platform.counters(0).masks, 0);
   * ```
   */
  counters(core?: number): MockCounters {
    if (core !== undefined) {
      checkIndex(core, this.coreCount, "core", "inspect core");
      return countersOf(this.#cores[core] as CoreState);
    }
    const total: MockCounters = { masks: 0, restores: 0, delivered: 0, deferred: 0 };
    for (const counters of this.#cores) {
      total.masks += counters.masks;
      total.restores += counters.restores;
      total.delivered += counters.delivered;
      total.deferred += counters.deferred;
    }
    return total;
  }

  /**
   * Runs a scenario once per delivery point, with an interrupt injected at
   * that point, and reports every point where the check failed or an error
   * escaped: "an interrupt at every possible moment".
   *
   * JavaScript code is never pre-empted, so the only moments an interrupt can
   * arrive are the delivery points: the start of the scenario, and every
   * `restore()` that unmasks a core. A first run without interrupts counts
   * them; then each run gets fresh state from `setup`, runs `run` on core 0
   * of a fresh machine, has `interrupt` delivered at its point, and is
   * checked with `check`.
   *
   * @typeParam S The scenario's state.
   * @param options The scenario.
   * @returns The number of points and the failures.
   * @throws {TypeError} If an option is missing or not a function, or if
   * `run` or `check` returns a promise (scenarios are synchronous).
   * @throws {Error} If the scenario fails without any interrupt (the error
   * is the cause): that is a bug of its own, not an interrupt finding.
   *
   * @example Find a lost update
   * ```ts
   * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const report = MockPlatform.explore({
   *   setup: () => ({ count: new ExceptionLock(0), handled: 0 }),
   *   run: (platform, state) => {
   *     // Bug: the read and the write are in different sections.
   *     const seen = exceptionFree(platform, (t) => state.count.borrow(t));
   *     exceptionFree(platform, (t) => state.count.set(t, seen + 1));
   *   },
   *   interrupt: (token, state) => {
   *     state.count.update(token, (n) => n + 1);
   *     state.handled++;
   *   },
   *   check: (state) => {
   *     const count = exceptionFree(new MockPlatform(), (t) => state.count.borrow(t));
   *     assert.equal(count, 1 + state.handled);
   *   },
   * });
   * assert.equal(report.points, 3);
   * assert.deepEqual(report.failures.map((f) => f.where), ["after the restore of section 1"]);
   * ```
   */
  static explore<S>(options: ExploreOptions<S>): ExploreReport {
    for (const key of ["setup", "run", "interrupt", "check"] as const) {
      if (typeof options?.[key] !== "function") {
        throw new TypeError(
          `Cannot explore as '${key}' must be a function: current value is ${
            describe(options?.[key])
          }`,
        );
      }
    }
    const cores = options.cores ?? 1;
    const baseline = MockPlatform.#runScenario(options, cores, -1);
    if (baseline.error !== undefined) {
      throw new Error(
        "Cannot explore as the scenario fails without any interrupt: fix run() or check() first",
        { cause: baseline.error.value },
      );
    }
    const failures: ExploreFailure[] = [];
    for (let point = 0; point < baseline.points; point++) {
      const outcome = MockPlatform.#runScenario(options, cores, point);
      if (outcome.error !== undefined) {
        failures.push({ point, where: outcome.where, error: outcome.error.value });
      }
    }
    return { points: baseline.points, failures };
  }

  /** One run of a scenario, with an interrupt at point `inject` (none if -1). */
  static #runScenario<S>(
    options: ExploreOptions<S>,
    cores: number,
    inject: number,
  ): ScenarioOutcome {
    const platform = new MockPlatform({ cores });
    const state = options.setup(platform);
    let points = 0;
    let where = "";
    platform.#onDeliveryPoint = (core, place) => {
      if (points++ !== inject) return;
      where = core === 0 ? place : `${place} on core ${core}`;
      platform.interrupt((token) => options.interrupt(token, state, platform), { core });
    };
    const failed = (error: unknown): ScenarioOutcome => ({
      points,
      where,
      error: { value: error },
    });
    // What run() and check() throw is a finding; a promise they return is
    // misuse, thrown out of explore() at once.
    let returned: unknown;
    try {
      platform.#onDeliveryPoint(0, "at the start of the scenario");
      returned = platform.runOn(0, () => options.run(platform, state));
    } catch (error) {
      return failed(error);
    }
    rejectThenable(
      returned,
      "Cannot explore as run() returned a promise: scenarios must be synchronous",
    );
    // The check's own sections are not delivery points of the scenario.
    platform.#onDeliveryPoint = undefined;
    try {
      returned = options.check(state);
    } catch (error) {
      return failed(error);
    }
    rejectThenable(
      returned,
      "Cannot explore as check() returned a promise: checks must be synchronous",
    );
    return { points, where, error: undefined };
  }

  #throwBadRestore(previous: number): never {
    const { index, open } = this.#here;
    const innermost = open[open.length - 1];
    let reason: string;
    if (open.includes(previous)) {
      reason =
        `it belongs to an outer section while an inner one is open (innermost state ${innermost}): restore the innermost first`;
    } else if (open.length === 0) {
      reason = "no mask() is open on it: restore each state once, after its mask()";
    } else {
      const owner = this.#cores.findIndex((core) => core.open.includes(previous));
      reason = owner >= 0
        ? `it was returned by mask() on core ${owner}: restore it on that core`
        : `it was not returned by an open mask() on this core (innermost state ${innermost}): pass exactly what mask() returned`;
    }
    throw new RangeError(
      `Cannot restore the mask of core ${index} to ${describe(previous)} as ${reason}`,
    );
  }
}

function countersOf(core: CoreState): MockCounters {
  const { masks, restores, delivered, deferred } = core;
  return { masks, restores, delivered, deferred };
}
