// Copyright 2026 the percpu authors. MIT license.

import { describe } from "../_internal/describe.ts";
import { checkHandle, checkOptions, checkType, placement } from "../_internal/shared_memory.ts";
import { ExceptionFree, rejectThenable, type Synchronous } from "../percpu/exception_free.ts";
import { type AgentLock, agentLockAt, byteLengthOf, NO_WATCH, NOT_HELD } from "./_agent_lock.ts";
import { holdGuard, type SpinMutexGuard } from "./spin_mutex_guard.ts";

/**
 * Where a {@linkcode SpinMutex} keeps its lock word and how it waits.
 *
 * `buffer`, `byteOffset` and `fair` say what the lock is in shared memory,
 * and every view of one lock must agree on them (a handle carries them);
 * `spin` and `timeoutMs` say how this view waits, and may differ per view.
 */
export interface SpinMutexOptions {
  /**
   * The shared memory of the lock word. Without it, the mutex allocates a
   * `SharedArrayBuffer` of its own ({@linkcode SpinMutex.BYTE_LENGTH} bytes,
   * or {@linkcode SpinMutex.FAIR_BYTE_LENGTH} when `fair`).
   */
  buffer?: SharedArrayBuffer;
  /**
   * Where the lock starts in `buffer`: a multiple of 4, with room for the
   * lock's bytes before the end of the buffer. Only with `buffer`.
   *
   * @default {0}
   */
  byteOffset?: number;
  /**
   * A fair lock: cores get it in the order they asked (a ticket lock), and
   * it takes {@linkcode SpinMutex.FAIR_BYTE_LENGTH} bytes. Costs more than
   * the default plain lock, and a waiter that dies blocks the queue until
   * {@linkcode SpinMutex.forceUnlock}.
   *
   * Every view of a lock must agree on it: attach views from the handle,
   * which carries it. A plain and a fair view of the same bytes that meet
   * (one holds while the other locks) make `lock` throw `RangeError`; a
   * fair holder's owner word is negative, which a plain word never is. Views
   * that never overlap in time are not noticed, and do no harm.
   *
   * @default {false}
   */
  fair?: boolean;
  /**
   * How many times a waiting core checks the lock, with `Atomics.pause()`
   * between checks, before it parks in `Atomics.wait` until an unlock wakes
   * it; in a fair lock only the next core in line spins, the others park at
   * once. `Infinity` never parks, in either kind of lock: pure spinning, for
   * when every core has a CPU of its own, or where the agent cannot block (a
   * browser's main thread).
   *
   * @default {SpinMutex.DEFAULT_SPIN, or SpinMutex.DEFAULT_FAIR_SPIN when `fair`}
   */
  spin?: number;
  /**
   * How long `lock` waits before it throws {@linkcode LockTimeoutError}, in
   * milliseconds; `Infinity` waits for ever.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
}

/**
 * What another agent needs to reach the same lock: a plain object that
 * `postMessage` can send. Rebuild the view with {@linkcode SpinMutex.attach}.
 */
export interface SpinMutexHandle {
  /** The shared memory of the lock word. */
  readonly buffer: SharedArrayBuffer;
  /** Where the lock starts in `buffer`. */
  readonly byteOffset: number;
  /** Whether it is a fair (ticket) lock. */
  readonly fair: boolean;
}

/** Options for {@linkcode SpinMutex.waitUnlocked}. */
export interface WaitUnlockedOptions {
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Thrown by {@linkcode SpinMutex.lock} when the lock is held by the caller's
 * own agent: JavaScript runs one call at a time per agent, so the holder
 * could never release it while the caller waits.
 *
 * That covers locking twice on one core, and two cores simulated in one agent
 * (a mock platform) taking turns through views of one buffer object. It is
 * also thrown when the lock word names the caller's own core as the holder
 * but this agent holds no guard through a view it recognises: a core runs in
 * one agent at a time, so either this agent holds it through another view (a
 * handle cloned twice), or an agent that ran this core before died holding
 * it; the message says both, and `holderUnknown` is `true`. A lock held on
 * another core by another agent is never reported: `lock` waits for it.
 *
 * @example Usage
 * ```ts
 * import { DeadlockError, exceptionFree, SpinMutex } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 1 });
 * const mutex = new SpinMutex(0);
 * exceptionFree(platform, (token) => {
 *   using _guard = mutex.lock(token);
 *   assert.throws(() => mutex.lock(token), DeadlockError);
 * });
 * ```
 */
export class DeadlockError extends Error {
  /** The core of this agent that holds the lock. */
  readonly holderCore: number;
  /** The core that tried to lock it. */
  readonly core: number;
  /**
   * `true` when only the lock word names the holder: this agent through a
   * view it does not recognise, or a dead agent that ran the same core.
   */
  readonly holderUnknown: boolean;

  /**
   * Creates the error.
   *
   * @param holderCore The core of this agent that holds the lock.
   * @param core The core that tried to lock it.
   * @param options The standard `ErrorOptions` (`cause`), and `holderUnknown`.
   *
   * @example Usage
   * ```ts
   * import { DeadlockError } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const error = new DeadlockError(0, 1);
   * assert.equal(error.name, "DeadlockError");
   * assert.equal(error.holderCore, 0);
   * ```
   */
  constructor(
    holderCore: number,
    core: number,
    options?: ErrorOptions & { holderUnknown?: boolean },
  ) {
    super(
      options?.holderUnknown
        ? `Cannot lock SpinMutex on core ${core} as the lock records core ${holderCore} as its holder and a core runs in one agent at a time: either this agent holds it through another view of the lock (unlock that guard first), or an agent that ran core ${holderCore} before died holding it (recover with forceUnlock())`
        : `Cannot lock SpinMutex on core ${core} as core ${holderCore} of this agent holds it and cannot release it while this call waits: unlock that guard first, or use tryLock()`,
      options,
    );
    this.name = "DeadlockError";
    this.holderCore = holderCore;
    this.core = core;
    this.holderUnknown = options?.holderUnknown ?? false;
  }
}

/** What a {@linkcode LockTimeoutError} reports. */
export interface LockTimeout {
  /** The core that held the lock when the wait ended, or `undefined` if none was recorded. */
  ownerCore: number | undefined;
  /** The core that waited. */
  core: number;
  /** How long it waited, in milliseconds. */
  timeoutMs: number;
}

/**
 * Thrown by {@linkcode SpinMutex.lock} when the lock stayed taken for the
 * whole `timeoutMs`; nothing was taken. If its owner died, a survivor can
 * recover the lock with {@linkcode SpinMutex.forceUnlock}.
 *
 * @example Usage
 * ```ts
 * import { LockTimeoutError } from "@percpu/percpu";
 * import assert from "node:assert/strict";
 *
 * const error = new LockTimeoutError({ ownerCore: 3, core: 0, timeoutMs: 100 });
 * assert.equal(error.name, "LockTimeoutError");
 * assert.equal(error.ownerCore, 3);
 * assert.match(error.message, /core 3 held it/);
 * ```
 */
export class LockTimeoutError extends Error implements LockTimeout {
  /** The core that held the lock when the wait ended, if one was recorded. */
  readonly ownerCore: number | undefined;
  /** The core that waited. */
  readonly core: number;
  /** How long it waited, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   *
   * @param timeout Who held the lock, who waited, and for how long.
   * @param options The standard `ErrorOptions` (`cause`), and `holderUnknown`.
   *
   * @example Usage
   * ```ts
   * import { LockTimeoutError } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const error = new LockTimeoutError({ ownerCore: undefined, core: 1, timeoutMs: 50 });
   * assert.match(error.message, /other cores kept it busy/);
   * ```
   */
  constructor(timeout: LockTimeout, options?: ErrorOptions) {
    const { ownerCore, core, timeoutMs } = timeout;
    const holder = ownerCore === undefined
      ? "other cores kept it busy"
      : `core ${ownerCore} held it`;
    super(
      `Cannot lock SpinMutex on core ${core} as ${holder} for the whole timeout of ${timeoutMs} ms: if its owner died, recover it with forceUnlock()`,
      options,
    );
    this.name = "LockTimeoutError";
    this.ownerCore = ownerCore;
    this.core = core;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A mutual-exclusion lock whose lock word lives in a `SharedArrayBuffer`, so
 * that Workers share it, and that only a core with exceptions masked can
 * take: `lock` asks for the `ExceptionFree` token of the caller's section.
 *
 * Because `lock` needs a token, an exception handler can never find its own
 * core holding the lock: the core was masked all the while it held it. The
 * lock records its owner core; waiting spins with `Atomics.pause()` and then
 * parks in `Atomics.wait`, so more Workers than CPUs still make progress.
 *
 * **Shared memory.** The lock takes {@linkcode SpinMutex.BYTE_LENGTH} bytes
 * (a fair one {@linkcode SpinMutex.FAIR_BYTE_LENGTH}), aligned to 4, which
 * must be zero before first use, as a new `SharedArrayBuffer` is. The
 * constructor writes nothing, so it never disturbs a lock in use. The object
 * is only a view: send {@linkcode SpinMutex.handle} to a Worker with
 * `postMessage`, and the Worker calls {@linkcode SpinMutex.attach}. The
 * guarded value is whatever each agent passes; across agents, a view on the
 * same shared memory.
 *
 * **Waiting.** `lock` may block the agent in `Atomics.wait`, which a browser's
 * main thread forbids: use `spin: Infinity` there. An async caller waits
 * outside its section with {@linkcode SpinMutex.waitUnlocked}, then locks.
 *
 * **Limits.** Not re-entrant: locking again on the same core throws
 * {@linkcode DeadlockError}, through any view. Not fair unless `fair: true`,
 * and every view must agree on `fair`. A view recognises the other views of
 * this agent by their `SharedArrayBuffer` object; across views of separate
 * buffer objects over the same memory, only the holder's core is known, so
 * two cores simulated in one agent (a mock platform) that hold and lock
 * through such views wait for the timeout instead of throwing
 * `DeadlockError`: attach a lock once per agent, or send its handles in one
 * message (a structured clone keeps one buffer object per message).
 *
 * @typeParam T The guarded value.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, SpinMutex } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const counter = new Int32Array(new SharedArrayBuffer(4));
 * const mutex = new SpinMutex(counter);
 * function increment(): void {
 *   exceptionFree(platform, (token) => mutex.withLock(token, (c) => c[0]!++));
 * }
 * increment();
 * platform.runOn(1, increment);
 * assert.equal(counter[0], 2);
 * ```
 */
export class SpinMutex<T> {
  /**
   * Bytes a plain lock takes in its buffer.
   *
   * @example Usage
   * ```ts
   * import { SpinMutex } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const buffer = new SharedArrayBuffer(SpinMutex.BYTE_LENGTH + 4);
   * const mutex = new SpinMutex(new Int32Array(buffer, 4, 1), { buffer, byteOffset: 0 });
   * assert.equal(mutex.handle.buffer, buffer);
   * ```
   */
  static readonly BYTE_LENGTH: number = byteLengthOf(false);
  /**
   * Bytes a fair lock (`fair: true`) takes in its buffer.
   *
   * @example Usage
   * ```ts
   * import { SpinMutex } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const buffer = new SharedArrayBuffer(SpinMutex.FAIR_BYTE_LENGTH);
   * assert.equal(new SpinMutex(0, { buffer, fair: true }).handle.fair, true);
   * ```
   */
  static readonly FAIR_BYTE_LENGTH: number = byteLengthOf(true);
  /**
   * How many `Atomics.pause()` checks a waiter of a plain lock makes before
   * it parks, unless `options.spin` says otherwise. Small on purpose: with
   * more Workers than CPUs, parking at once frees a CPU for the holder, and
   * bench/contention.ts measured 0 to 4 as the fastest.
   *
   * @example Usage
   * ```ts
   * import { SpinMutex } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * assert.ok(SpinMutex.DEFAULT_SPIN < SpinMutex.DEFAULT_FAIR_SPIN);
   * ```
   */
  static readonly DEFAULT_SPIN: number = 4;
  /**
   * How many `Atomics.pause()` checks the next waiter in line of a fair lock
   * makes before it parks, unless `options.spin` says otherwise (the waiters
   * behind it park at once). Large on purpose: a fair lock hands over to one
   * particular waiter, and waking a parked one for every hand-over made the
   * lock about 20 times slower in bench/contention.ts (0.01× of the futex
   * peer at 4 Workers, against 0.23× now).
   *
   * @example Usage
   * ```ts
   * import { SpinMutex } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * assert.equal(SpinMutex.DEFAULT_FAIR_SPIN, 1024);
   * ```
   */
  static readonly DEFAULT_FAIR_SPIN: number = 1024;

  #lock: AgentLock;
  #value: T;
  #spin: number;
  #timeoutMs: number;
  #handle: SpinMutexHandle;

  /**
   * Creates a view on a lock guarding `value`, in a new `SharedArrayBuffer`
   * or at `options.byteOffset` of `options.buffer`.
   *
   * @param value What the lock guards; across Workers, usually a view on shared memory.
   * @param options Where the lock word lives, whether it is fair, how to wait.
   * @throws {TypeError} If `options` is not an object, `buffer` is not a
   * `SharedArrayBuffer`, `byteOffset` is given without `buffer`, or an option
   * has the wrong type (`byteOffset`, `spin` and `timeoutMs` must be
   * numbers, `fair` a boolean).
   * @throws {RangeError} If `byteOffset` is not a multiple of 4 or leaves no
   * room for the lock, `spin` or `timeoutMs` is negative or not a whole
   * number, or this agent already has a lock of the other kind (plain or
   * fair) overlapping these bytes.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * // The lock word and the counter it guards, in one shared buffer.
   * const buffer = new SharedArrayBuffer(8);
   * const counter = new Int32Array(buffer, 4, 1);
   * const mutex = new SpinMutex(counter, { buffer, byteOffset: 0, timeoutMs: 1000 });
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   using guard = mutex.lock(token);
   *   guard.value[0]! += 1;
   * });
   * assert.equal(counter[0], 1);
   * ```
   */
  constructor(value: T, options: SpinMutexOptions = {}) {
    const action = "create SpinMutex";
    checkOptions(options, action);
    const fair = options.fair ?? false;
    checkType(fair, "fair", "boolean", action);
    const length = byteLengthOf(fair);
    const { buffer: shared, byteOffset: offset } = placement(options.buffer, options.byteOffset, {
      action,
      align: 4,
      byteLength: length,
      tooLong: (bufferLength, byteOffset) =>
        `Cannot ${action} as 'byteOffset' must leave ${length} bytes for the lock before the end of the ${bufferLength}-byte buffer: current value is ${byteOffset}`,
    });
    const spin = fair ? SpinMutex.DEFAULT_FAIR_SPIN : SpinMutex.DEFAULT_SPIN;
    this.#spin = checkWaitOption(options.spin, "spin", spin, true);
    this.#timeoutMs = checkWaitOption(options.timeoutMs, "timeoutMs", Infinity, false);
    this.#lock = agentLockAt(shared, offset, fair);
    this.#value = value;
    this.#handle = Object.freeze({ buffer: shared, byteOffset: offset, fair });
  }

  /**
   * Creates a view on the lock that `handle` describes, typically in a Worker
   * that received the handle by `postMessage`. It is the same lock: holding
   * it through one view excludes every other view, in every agent.
   *
   * @typeParam T The guarded value.
   * @param handle {@linkcode SpinMutex.handle} of a view in any agent.
   * @param value What the lock guards in this agent.
   * @param options How this view waits: `spin` and `timeoutMs` only, as the
   * handle says where the lock is and whether it is fair.
   * @returns The new view.
   * @throws {TypeError} If `handle` is not a handle, or `options` has `buffer`, `byteOffset` or `fair`.
   * @throws {RangeError} As the constructor, for the handle's `byteOffset` and the options.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const counter = new Int32Array(new SharedArrayBuffer(4));
   * const mutex = new SpinMutex(counter);
   * // A Worker would receive the handle from postMessage; structuredClone does the same.
   * const handle = structuredClone(mutex.handle);
   * const view = SpinMutex.attach(handle, new Int32Array(counter.buffer));
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   using _guard = view.lock(token);
   *   assert.equal(view.isLocked(), true);
   * });
   * ```
   */
  static attach<T>(
    handle: SpinMutexHandle,
    value: T,
    options: SpinMutexOptions = {},
  ): SpinMutex<T> {
    checkHandle(
      handle,
      { byteOffset: "number", fair: "boolean" },
      "attach SpinMutex",
      "SpinMutex handle { buffer, byteOffset, fair }",
    );
    checkOptions(options, "attach SpinMutex");
    for (const key of ["buffer", "byteOffset", "fair"] as const) {
      if (options[key] !== undefined) {
        throw new TypeError(
          `Cannot attach SpinMutex as '${key}' comes from the handle: current value is ${
            describe(options[key])
          }`,
        );
      }
    }
    return new SpinMutex(value, {
      ...options,
      buffer: handle.buffer,
      byteOffset: handle.byteOffset,
      fair: handle.fair,
    });
  }

  /**
   * What another agent needs to attach to this lock: send it with
   * `postMessage` and call {@linkcode SpinMutex.attach} there.
   *
   * @example Usage
   * ```ts
   * import { SpinMutex } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const { buffer, byteOffset, fair } = new SpinMutex(0).handle;
   * assert.equal(buffer.byteLength, SpinMutex.BYTE_LENGTH);
   * assert.equal(byteOffset, 0);
   * assert.equal(fair, false);
   * ```
   */
  get handle(): SpinMutexHandle {
    return this.#handle;
  }

  /**
   * Takes the lock for the token's core, waiting while another agent holds
   * it, and returns a guard that gives the value and releases the lock.
   *
   * Waiting spins with `Atomics.pause()` (`options.spin` times), then parks
   * in `Atomics.wait` until an unlock wakes this agent. A guard still held
   * when the token's section ends is released by the section, which then
   * throws {@linkcode LeakedGuardError}.
   *
   * @param token A live token of the current core.
   * @returns The guard; release it with `unlock()` or `using`.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged; nothing is taken.
   * @throws {DeadlockError} If this agent holds the lock (this core or
   * another core simulated in the same agent).
   * @throws {LockTimeoutError} If `options.timeoutMs` passed with the lock
   * still held by another agent; nothing is taken.
   * @throws {RangeError} If the core index is above 536870910 (a plain lock;
   * 2147483646 for a fair one), or a view of the other kind (plain or fair)
   * holds the same bytes.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const mutex = new SpinMutex({ items: [] as string[] });
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   using guard = mutex.lock(token);
   *   guard.value.items.push("a");
   * });
   * assert.equal(mutex.isLocked(), false);
   * ```
   */
  lock(token: ExceptionFree): SpinMutexGuard<T> {
    return holdGuard(this.#acquire(token, true)!, token, this.#value);
  }

  /**
   * Takes the lock if it is free now; never waits.
   *
   * @param token A live token of the current core.
   * @returns A guard, or `undefined` if any agent (this one included) holds the lock.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged.
   * @throws {RangeError} If the core index is above 536870910 (a plain lock;
   * 2147483646 for a fair one), or if a fair view meets a plain holder of
   * the same bytes (or the reverse).
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const mutex = new SpinMutex(0);
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   using first = mutex.tryLock(token);
   *   assert.notEqual(first, undefined);
   *   assert.equal(mutex.tryLock(token), undefined);
   * });
   * ```
   */
  tryLock(token: ExceptionFree): SpinMutexGuard<T> | undefined {
    const lock = this.#acquire(token, false);
    return lock === undefined ? undefined : holdGuard(lock, token, this.#value);
  }

  /**
   * Takes the lock, calls `fn` with the value, and releases the lock, also
   * when `fn` throws.
   *
   * @typeParam R What `fn` returns.
   * @param token A live token of the current core.
   * @param fn The critical section; it must be synchronous.
   * @returns What `fn` returned.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged.
   * @throws {DeadlockError} If this agent holds the lock.
   * @throws {LockTimeoutError} If `options.timeoutMs` passed first.
   * @throws {TypeError} If `fn` is not a function, or returned a promise
   * (the lock is released first: the code after an `await` would run unlocked).
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const totals = new SpinMutex(new Map<string, number>());
   * const platform = new MockPlatform({ cores: 1 });
   * const n = exceptionFree(platform, (token) =>
   *   totals.withLock(token, (map) => {
   *     map.set("hits", (map.get("hits") ?? 0) + 1);
   *     return map.get("hits");
   *   })
   * );
   * assert.equal(n, 1);
   * ```
   */
  withLock<R>(token: ExceptionFree, fn: (value: T) => Synchronous<R>): R {
    if (typeof fn !== "function") {
      // A bad token is reported first, as by every other call.
      ExceptionFree.assertValid(token, "lock SpinMutex");
      throw new TypeError(
        `Cannot lock SpinMutex as 'fn' must be a function: current value is ${describe(fn)}`,
      );
    }
    const lock = this.#acquire(token, true)!;
    // No guard object: the hold cannot outlive this call, which ends before
    // the section does.
    const generation = lock.hold(token.core, NO_WATCH);
    let result: R;
    try {
      result = fn(this.#value);
    } finally {
      lock.drop(generation);
    }
    rejectThenable(
      result,
      "Cannot run an asynchronous callback in SpinMutex.withLock() as the lock is held only while it runs synchronously: await before locking, not inside",
    );
    return result;
  }

  /**
   * Whether any agent holds the lock now (for a fair lock: holds it or is
   * queued for it). The answer may be stale as soon as it returns; use it for
   * reports and tests, not to decide whether to lock.
   *
   * @returns `true` while the lock is taken.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const mutex = new SpinMutex(0);
   * assert.equal(mutex.isLocked(), false);
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   using _guard = mutex.lock(token);
   *   assert.equal(mutex.isLocked(), true);
   * });
   * ```
   */
  isLocked(): boolean {
    return this.#lock.word.isLocked();
  }

  /**
   * Opens the lock whoever holds it, and wakes its waiters: recovery after
   * the owner died (a Worker terminated inside its critical section), found
   * out by a {@linkcode LockTimeoutError}.
   *
   * **Safety:** this is dangerous. If the owner is alive, it and the next
   * core both believe they hold the lock, and the guarded data can be torn;
   * the owner's `unlock()` then throws. Call it only when the owner is known
   * to be gone, and check the guarded data, which the owner may have left
   * half-changed. A guard of this agent that held the lock is released by it.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const mutex = new SpinMutex(0);
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   const guard = mutex.lock(token);
   *   mutex.forceUnlock(); // as if the holder had died
   *   assert.equal(mutex.isLocked(), false);
   *   guard.unlock(); // released already: nothing happens
   * });
   * ```
   */
  forceUnlock(): void {
    this.#lock.forceRelease();
  }

  /**
   * Waits without blocking the event loop (`Atomics.waitAsync`) until the
   * lock is free, or until it has been released once since the call. It
   * takes nothing: an async caller waits here, then locks in a section, where
   * `lock` usually finds the lock free.
   *
   * @param options A `signal` to stop waiting.
   * @returns A promise that resolves when the lock was seen free or released.
   * @throws {TypeError} If `options.signal` is not an `AbortSignal`.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const mutex = new SpinMutex(new Int32Array(new SharedArrayBuffer(4)));
   * await mutex.waitUnlocked({ signal: AbortSignal.timeout(1000) });
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => mutex.withLock(token, (c) => c[0]!++));
   * assert.equal(mutex.isLocked(), false);
   * ```
   */
  waitUnlocked(options: WaitUnlockedOptions = {}): Promise<void> {
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(
        new TypeError(
          `Cannot wait for SpinMutex as 'signal' must be an AbortSignal: current value is ${
            describe(signal)
          }`,
        ),
      );
    }
    return this.#lock.word.waitUnlocked(signal);
  }

  /**
   * Checks the token and takes the lock for its core; waits for it if
   * `wait`, else returns `undefined` when it is taken.
   */
  #acquire(token: ExceptionFree, wait: boolean): AgentLock | undefined {
    ExceptionFree.assertValid(token, "lock SpinMutex");
    const lock = this.#lock;
    const word = lock.word;
    const core = token.core;
    if (core > word.maxCore) throwCoreTooLarge(core, word.maxCore);
    if (word.tryAcquire(core)) return lock;
    if (!wait) return undefined;
    this.#acquireSlow(lock, core);
    return lock;
  }

  /** Waits for the lock, unless the holder can never release it while we wait. */
  #acquireSlow(lock: AgentLock, core: number): void {
    if (lock.held !== NOT_HELD) throw new DeadlockError(lock.core, core);
    const word = lock.word;
    // A core is run by one agent at a time (the Platform contract), so a
    // holder on our own core is this agent, even through a view this agent
    // cannot recognise (another SharedArrayBuffer object over the memory).
    if (word.ownerCore() === core) {
      throw new DeadlockError(core, core, { holderUnknown: true });
    }
    const timeoutMs = this.#timeoutMs;
    const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
    if (!word.acquire(core, this.#spin, deadline)) {
      throw new LockTimeoutError({ ownerCore: word.ownerCore(), core, timeoutMs });
    }
  }
}

function checkWaitOption(
  value: unknown,
  key: string,
  fallback: number,
  integer: boolean,
): number {
  if (value === undefined) return fallback;
  checkType(value, key, "number", "create SpinMutex");
  const number = value as number;
  if (!(number >= 0) || integer && number !== Infinity && !Number.isInteger(number)) {
    throw new RangeError(
      `Cannot create SpinMutex as '${key}' must be ${
        integer ? "a whole number" : "a number"
      } from 0 to Infinity: current value is ${describe(number)}`,
    );
  }
  return number;
}

function throwCoreTooLarge(core: number, maxCore: number): never {
  throw new RangeError(
    `Cannot lock SpinMutex as the core index must be at most ${maxCore} to fit in the lock word: current value is ${core}`,
  );
}
