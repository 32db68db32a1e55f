// Copyright 2026 the percpu authors. MIT license.

import type { ExceptionFree, SectionCleanup } from "../percpu/exception_free.ts";
import { type AgentLock, GENERATION_MASK, NOT_HELD } from "./_agent_lock.ts";

/**
 * Thrown when an `exceptionFree` section ends while a {@linkcode SpinMutexGuard}
 * taken with its token is still held: a leaked lock.
 *
 * By the time it is thrown the section has released the lock, so other cores
 * can go on. If the section's callback threw, that error is the `cause`.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, LeakedGuardError, SpinMutex } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 1 });
 * const mutex = new SpinMutex({ n: 0 });
 * assert.throws(() => exceptionFree(platform, (token) => mutex.lock(token)), LeakedGuardError);
 * assert.equal(mutex.isLocked(), false);
 * ```
 */
export class LeakedGuardError extends Error {
  /** The core whose section leaked the guard. */
  readonly core: number;

  /**
   * Creates the error.
   *
   * @param core The core whose section leaked the guard.
   * @param options The standard `ErrorOptions`; `cause` is the section's own error.
   *
   * @example Usage
   * ```ts
   * import { LeakedGuardError } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const error = new LeakedGuardError(2);
   * assert.equal(error.name, "LeakedGuardError");
   * assert.equal(error.core, 2);
   * ```
   */
  constructor(core: number, options?: ErrorOptions) {
    super(
      `Cannot end the exceptionFree() section on core ${core} as a SpinMutex guard taken in it is still held: the lock was released; unlock every guard before the section ends, for example with 'using'`,
      options,
    );
    this.name = "LeakedGuardError";
    this.core = core;
  }
}

// Only this module has the key, so `new SpinMutexGuard(...)` elsewhere fails
// at run time, whatever the caller's types say.
const KEY = Symbol("SpinMutexGuard");

/**
 * Records that `token` took `lock` on `token.core` and returns the guard;
 * makes sure the section of `token` checks for it at its end.
 *
 * Internal to spin/: `SpinMutex` calls it right after acquiring. Set in
 * SpinMutexGuard's static block, which can reach the private constructor.
 */
export let holdGuard: <T>(lock: AgentLock, token: ExceptionFree, value: T) => SpinMutexGuard<T>;

/**
 * Proof that the caller holds a `SpinMutex`, and access to its value; only
 * `SpinMutex.lock` and `tryLock` create guards (`withLock` needs none).
 *
 * Release it with {@linkcode SpinMutexGuard.unlock}, or declare it with
 * `using` so that it is released when the block ends, also by an exception.
 * A guard lives at most as long as the `exceptionFree` section whose token
 * took it: a section that ends with the guard still held releases the lock
 * and throws {@linkcode LeakedGuardError}.
 *
 * @typeParam T The guarded value.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, SpinMutex } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 1 });
 * const mutex = new SpinMutex<string[]>([]);
 * exceptionFree(platform, (token) => {
 *   using guard = mutex.lock(token);
 *   guard.value.push("inside");
 *   assert.equal(mutex.isLocked(), true);
 * });
 * assert.equal(mutex.isLocked(), false);
 * ```
 */
export class SpinMutexGuard<T> {
  static {
    holdGuard = <T>(lock: AgentLock, token: ExceptionFree, value: T) => {
      // One watch per section and lock, not one per lock() call: lock and
      // unlock stay free of allocations beyond the guard (bench/README.md
      // measured a defer() and cancel() per guard at twice the cost).
      if (lock.watching !== token) watchSection(lock, token);
      return new SpinMutexGuard(KEY, lock, value, lock.hold(token.core, lock.watchId));
    };
  }

  #lock: AgentLock;
  #value: T;
  #generation: number;

  private constructor(key: symbol, lock: AgentLock, value: T, generation: number) {
    if (key !== KEY) throwForgedGuard();
    this.#lock = lock;
    this.#value = value;
    this.#generation = generation;
  }

  /**
   * The guarded value, while the guard holds the lock.
   *
   * **Safety:** do not keep the value after unlocking; across Workers it is
   * shared memory that another core may be changing by then.
   *
   * @throws {TypeError} If the guard was already released.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const counter = new Int32Array(new SharedArrayBuffer(4));
   * const mutex = new SpinMutex(counter);
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   using guard = mutex.lock(token);
   *   guard.value[0]! += 1;
   * });
   * assert.equal(counter[0], 1);
   * ```
   */
  get value(): T {
    if (this.#lock.held !== this.#generation) throwReleased();
    return this.#value;
  }

  /**
   * Releases the lock and wakes a waiting core, if any. Releasing a guard
   * that was already released does nothing, so `unlock()` followed by the
   * end of a `using` block is fine.
   *
   * @throws {Error} If `forceUnlock()` opened the lock while this guard held
   * it and another core holds it now: mutual exclusion was broken; this
   * call leaves that core's hold alone.
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
   *   guard.unlock();
   *   guard.unlock(); // already released: nothing happens
   *   assert.equal(mutex.isLocked(), false);
   * });
   * ```
   */
  unlock(): void {
    this.#lock.drop(this.#generation);
  }

  /**
   * Releases the lock, as {@linkcode SpinMutexGuard.unlock}: what `using`
   * calls at the end of the block.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, SpinMutex } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const mutex = new SpinMutex(0);
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   {
   *     using _guard = mutex.lock(token);
   *     assert.equal(mutex.isLocked(), true);
   *   }
   *   assert.equal(mutex.isLocked(), false);
   * });
   * ```
   */
  [Symbol.dispose](): void {
    this.unlock();
  }
}

// Out of line, as everything cold on the lock() path: V8 inlines lock() into
// its caller only while lock() stays small, and only then can it avoid
// allocating the guard at all.
function watchSection(lock: AgentLock, token: ExceptionFree): void {
  const id = lock.watchId = (lock.watchId + 1) & GENERATION_MASK;
  token.defer(new SectionWatch(lock, token, id));
  lock.watching = token;
}

// Throwing out of line also lets V8 keep a guard that does not escape in
// registers: an inline `throw` here made it allocate every guard.
function throwReleased(): never {
  throw new TypeError(
    "Cannot read SpinMutexGuard.value as the guard was released: lock the SpinMutex again",
  );
}

function throwForgedGuard(): never {
  throw new TypeError(
    "Cannot construct SpinMutexGuard: guards come only from SpinMutex.lock() and tryLock()",
  );
}

/** At the end of a section, releases a guard its token still holds on one lock. */
class SectionWatch implements SectionCleanup {
  #lock: AgentLock;
  #token: ExceptionFree;
  #id: number;

  constructor(lock: AgentLock, token: ExceptionFree, id: number) {
    this.#lock = lock;
    this.#token = token;
    this.#id = id;
  }

  onSectionEnd(error: unknown): void {
    const lock = this.#lock;
    if (lock.watching === this.#token) lock.watching = undefined;
    if (lock.held === NOT_HELD || lock.heldWatch !== this.#id) return;
    lock.held = NOT_HELD;
    lock.word.release(lock.core);
    throw new LeakedGuardError(lock.core, error === undefined ? undefined : { cause: error });
  }
}
