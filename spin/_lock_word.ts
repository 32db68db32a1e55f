// Copyright 2026 the percpu authors. MIT license.

/**
 * What `SpinMutex` needs of a lock protocol on `Int32` words of a
 * `SharedArrayBuffer`, and the waiting loop both protocols share. The
 * protocols are in `_plain_lock_word.ts` (the default, one word) and
 * `_fair_lock_word.ts` (a ticket lock); what one agent knows about the locks
 * it holds is in `_agent_lock.ts`.
 *
 * @module
 */

/** One lock in shared memory: a protocol, with no per-agent state. */
export interface LockWord {
  /** Whether it is the fair (ticket) protocol. */
  readonly fair: boolean;
  /** Bytes the lock takes. */
  readonly byteLength: number;
  /** The largest core index the protocol can record as owner. */
  readonly maxCore: number;
  /** Takes the lock for `core` if it is free now; never waits. */
  tryAcquire(core: number): boolean;
  /**
   * Waits until the lock is taken for `core`: spins `spin` times with
   * `Atomics.pause()`, then parks in `Atomics.wait` (never, if `spin` is
   * `Infinity`). Returns `false` if `deadline` (a `performance.now()` time)
   * passed first.
   */
  acquire(core: number, spin: number, deadline: number): boolean;
  /** Releases the lock held by `core`; `false` if `core` no longer held it (forced open). */
  release(core: number): boolean;
  /** Releases the lock whoever holds it, and wakes its waiters. */
  forceRelease(): void;
  /** Whether some agent holds the lock (or, fair, is queued for it) now. */
  isLocked(): boolean;
  /** The core that holds the lock now, or `undefined` if none is recorded. */
  ownerCore(): number | undefined;
  /** Resolves once the lock is free or was released; rejects with `signal.reason` on abort. */
  waitUnlocked(signal: AbortSignal | undefined): Promise<void>;
}

/** How many `Atomics.pause()` spins a waiter does between clock reads. */
const SPINS_PER_CLOCK_READ = 1024;

/**
 * The waiting loop of both protocols, between two looks at the lock: one
 * `Atomics.pause()` while the spin budget lasts (reading the clock every
 * `SPINS_PER_CLOCK_READ` pauses), then parking until the deadline.
 */
export class Backoff {
  /** Pauses left before the caller parks; the fair lock refills it for the next in line. */
  spins: number;
  #round = 0;
  #deadline: number;

  constructor(spins: number, deadline: number) {
    this.spins = spins;
    this.#deadline = deadline;
  }

  /**
   * Waits a little: one pause if the budget lasts.
   *
   * @returns `0` after a pause; otherwise the milliseconds left, for the
   * caller to park that long; `-1` once the deadline passed.
   */
  next(): number {
    if (this.spins > 0) {
      this.spins--;
      Atomics.pause();
      if (++this.#round % SPINS_PER_CLOCK_READ === 0 && performance.now() >= this.#deadline) {
        return -1;
      }
      return 0;
    }
    const remaining = this.#deadline - performance.now();
    return remaining > 0 ? remaining : -1;
  }
}

/**
 * Thrown where a view of one kind (plain or fair) finds the other kind's
 * state in the lock's bytes: the views disagree on `fair`.
 */
export function throwKindMismatch(fair: boolean): never {
  throw new RangeError(
    `Cannot lock SpinMutex as a ${
      fair ? "plain" : "fair"
    } view of the same bytes holds it, and this view is ${
      fair ? "fair" : "plain"
    }: every view of a lock must agree on 'fair'; attach views from the lock's handle`,
  );
}

/** Thrown when the holder finds its lock no longer held by it. */
export function throwForced(core: number): never {
  throw new Error(
    `Cannot unlock SpinMutex on core ${core} as it no longer holds it: forceUnlock() released it while it was held, so mutual exclusion was broken`,
  );
}

/** Waits for `promise`, or rejects with `signal.reason` when it aborts first. */
export function abortable(
  promise: Promise<unknown>,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return promise.then(() => {});
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
