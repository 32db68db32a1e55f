// Copyright 2026 the percpu authors. MIT license.

/**
 * The lock protocols behind `SpinMutex`, on `Int32` words of a
 * `SharedArrayBuffer`, and what this agent knows about the locks it holds.
 *
 * Plain lock (the default): one word, after Ulrich Drepper, "Futexes Are
 * Tricky" (2011), mutex 2, with the owner recorded in the word:
 *
 * - `0`: unlocked;
 * - `owner << 2`: locked, nobody parked (Drepper's 1);
 * - `owner << 2 | WAITERS`: locked, someone may be parked in `Atomics.wait`
 *   (Drepper's 2), so `unlock` wakes one;
 * - `| ASYNC_WAITERS`: someone may wait in `Atomics.waitAsync`, so `unlock`
 *   wakes everyone (an async waiter does not pass a single wake-up on).
 *
 * `owner` is the holder's core index + 1. Waiters only ever add the two low
 * bits to a held word; only the holder (or `forceUnlock`) clears it.
 *
 * Fair lock: a ticket lock of five words, `FAIR_*` below. `next` is the next
 * ticket to hand out, `serving` the ticket that may hold the lock; tickets
 * count modulo 2^30. A waiter that times out cannot leave the queue, so it
 * marks its ticket in `abandoned` (bit `ticket % 32`) and the unlocker skips
 * it. At most `QUEUE_LIMIT` tickets are out at once, so those bits never
 * collide. `parked` counts agents in `Atomics.wait`/`waitAsync` on `serving`.
 *
 * @module
 */

import type { ExceptionFree } from "../percpu/exception_free.ts";

/** Plain word: someone may be parked in `Atomics.wait`. */
export const WAITERS = 1;
/** Plain word: someone may wait in `Atomics.waitAsync`. */
export const ASYNC_WAITERS = 2;
/** Plain word: the owner (core + 1) sits above the two flag bits. */
export const OWNER_SHIFT = 2;
/** The largest core index whose owner value fits beside the flag bits. */
export const MAX_CORE = 2 ** 29 - 2;

/** Fair layout, in `Int32` words from the lock's offset: the holder's core + 1. */
export const FAIR_OWNER = 0;
/** Fair layout: the next ticket to hand out. */
export const FAIR_NEXT = 1;
/** Fair layout: the ticket whose turn it is. */
export const FAIR_SERVING = 2;
/** Fair layout: how many agents are parked on `serving`. */
export const FAIR_PARKED = 3;
/** Fair layout: bit `ticket % 32` set when that ticket's waiter gave up. */
export const FAIR_ABANDONED = 4;
/** Fair layout: number of words. */
export const FAIR_WORDS = 5;
/** Tickets count modulo 2^30, so that differences stay positive `Int32`s. */
export const TICKET_MASK = 0x3fffffff;
/** Most tickets out at once: one bit each in `abandoned`. */
export const QUEUE_LIMIT = 32;

/** How many `Atomics.pause()` spins a pure spinner does between clock reads. */
const SPINS_PER_CLOCK_READ = 1024;

/** What `acquire` reports when it did not get the lock. */
export const TIMED_OUT = false;
/** `LockWord.held` when no guard of this agent holds the lock. */
export const NOT_HELD = -1;
/** `LockWord.heldWatch` of a hold that no section watches. */
export const NO_WATCH = -1;
/** Guard generations and watch ids count modulo 2^30, to stay small integers. */
export const GENERATION_MASK = 0x3fffffff;

/**
 * One lock in shared memory, as seen by this agent; every `SpinMutex` view of
 * the same lock in this agent shares this object (see {@linkcode lockWordAt}).
 *
 * Besides the protocol, it keeps what only this agent can know: which guard
 * of this agent holds the lock, if any. JavaScript runs one call at a time
 * per agent, so a lock held by this agent cannot be released while this agent
 * waits for it; `held !== NOT_HELD` is exactly "this agent holds it".
 */
export class LockWord {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly fair: boolean;
  readonly i32: Int32Array;
  /** Index of the plain word, or of the first fair word, in `i32`. */
  readonly index: number;

  // Numbers, not objects, on the lock/unlock path: storing a young object
  // into this long-lived one costs a write barrier on every lock.
  /** The generation of this agent's guard that holds the lock, or `NOT_HELD`. */
  held = NOT_HELD;
  /** The generation of the latest guard. */
  generation = 0;
  /** The core the holding guard was taken on. */
  core = -1;
  /** The watch (see `holdGuard`) of the section the holding guard was taken in. */
  heldWatch = 0;
  /** The token whose section end is watched for a leaked guard, and its watch's id. */
  watching: ExceptionFree | undefined = undefined;
  watchId = 0;

  constructor(buffer: SharedArrayBuffer, byteOffset: number, fair: boolean) {
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.fair = fair;
    this.i32 = new Int32Array(buffer);
    this.index = byteOffset >> 2;
  }

  /**
   * Records that this agent now holds the lock, on `core`, for a hold that
   * the section watch `watch` checks (`NO_WATCH` for `withLock`, which
   * cannot outlive its section); returns the hold's generation.
   */
  hold(core: number, watch: number): number {
    const generation = this.generation = (this.generation + 1) & GENERATION_MASK;
    this.held = generation;
    this.core = core;
    this.heldWatch = watch;
    return generation;
  }

  /**
   * Ends the hold `generation` and releases the lock; does nothing if that
   * hold already ended.
   *
   * @throws {Error} If `forceUnlock()` opened the lock during the hold.
   */
  drop(generation: number): void {
    if (this.held !== generation) return;
    this.held = NOT_HELD;
    if (!this.release(this.core)) throwForced(this.core);
  }

  /** Takes the lock for `core` if it is free now; never waits. */
  tryAcquire(core: number): boolean {
    // SAFETY: moving the word 0 -> owner is the only way in, and it succeeds
    // for one agent at a time; nobody else writes the guarded data until
    // release() moves the word back to 0.
    return this.fair
      ? tryAcquireFair(this, core)
      : Atomics.compareExchange(this.i32, this.index, 0, ownerValue(core)) === 0;
  }

  /**
   * Waits until the lock is taken for `core`: spins `spin` times with
   * `Atomics.pause()`, then parks in `Atomics.wait` (never, if `spin` is
   * `Infinity`). Returns {@linkcode TIMED_OUT} after `timeoutMs`.
   *
   * The caller has checked that this agent does not hold the lock.
   */
  acquire(core: number, spin: number, timeoutMs: number): boolean {
    const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
    return this.fair
      ? this.#acquireFair(core, spin, deadline)
      : this.#acquirePlain(core, spin, deadline);
  }

  /**
   * Releases the lock held by `core` and wakes whoever must be woken.
   *
   * @returns `false` if `core` no longer held it (it was forced open).
   */
  release(core: number): boolean {
    if (this.fair) return this.#releaseFair(core);
    const i32 = this.i32;
    const index = this.index;
    const me = ownerValue(core);
    let word = Atomics.compareExchange(i32, index, me, 0);
    if (word === me) return true;
    // Waiters added flag bits: clear everything, then wake them.
    while (word >>> OWNER_SHIFT === me >>> OWNER_SHIFT) {
      const seen = Atomics.compareExchange(i32, index, word, 0);
      if (seen === word) {
        if (word & ASYNC_WAITERS) Atomics.notify(i32, index);
        else if (word & WAITERS) Atomics.notify(i32, index, 1);
        return true;
      }
      word = seen;
    }
    return false;
  }

  /** Releases the lock whoever holds it, and forgets this agent's guard. */
  forceRelease(): void {
    this.held = NOT_HELD;
    const i32 = this.i32;
    const index = this.index;
    if (!this.fair) {
      if (Atomics.exchange(i32, index, 0) !== 0) Atomics.notify(i32, index);
      return;
    }
    const serving = Atomics.load(i32, index + FAIR_SERVING);
    if (Atomics.load(i32, index + FAIR_NEXT) === serving) return; // Free already.
    Atomics.store(i32, index + FAIR_OWNER, 0);
    this.#passTurn(serving);
  }

  /** Whether some agent holds the lock (or, fair, is queued for it) now. */
  isLocked(): boolean {
    const i32 = this.i32;
    const index = this.index;
    return this.fair
      ? Atomics.load(i32, index + FAIR_NEXT) !== Atomics.load(i32, index + FAIR_SERVING)
      : Atomics.load(i32, index) !== 0;
  }

  /** The core that holds the lock now, or `undefined` if none is recorded. */
  ownerCore(): number | undefined {
    const owner = this.fair
      ? Atomics.load(this.i32, this.index + FAIR_OWNER)
      : Atomics.load(this.i32, this.index) >>> OWNER_SHIFT;
    return owner === 0 ? undefined : owner - 1;
  }

  /**
   * Resolves when the lock is free, or once it has been released since the
   * call; never takes it. Rejects with `signal.reason` when aborted.
   */
  async waitUnlocked(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const i32 = this.i32;
    if (this.fair) {
      const at = this.index + FAIR_SERVING;
      const serving = Atomics.load(i32, at);
      if (Atomics.load(i32, this.index + FAIR_NEXT) === serving) return;
      Atomics.add(i32, this.index + FAIR_PARKED, 1);
      const result = Atomics.waitAsync(i32, at, serving);
      const done = result.async ? result.value : Promise.resolve(result.value);
      // Count the waiter out when it really leaves the waiter list, which
      // an abort cannot hasten: until then, unlock keeps waking it.
      done.then(() => Atomics.sub(i32, this.index + FAIR_PARKED, 1));
      await abortable(done, signal);
      return;
    }
    const index = this.index;
    let word = Atomics.load(i32, index);
    while (word !== 0) {
      if ((word & ASYNC_WAITERS) === 0) {
        // The flag makes the next unlock wake everyone, this waiter included.
        const seen = Atomics.compareExchange(i32, index, word, word | ASYNC_WAITERS);
        if (seen !== word) {
          word = seen;
          continue;
        }
        word |= ASYNC_WAITERS;
      }
      const result = Atomics.waitAsync(i32, index, word);
      // "not-equal": the word changed before we slept; the holder may have
      // released it, or waiters only added a flag: look again.
      if (!result.async) {
        word = Atomics.load(i32, index);
        continue;
      }
      await abortable(result.value, signal);
      return;
    }
  }

  #acquirePlain(core: number, spin: number, deadline: number): boolean {
    const i32 = this.i32;
    const index = this.index;
    const me = ownerValue(core);
    // After sleeping, take the lock as "maybe waiters" (Drepper's 2): others
    // may still sleep, and our unlock must wake one of them.
    let take = me;
    let spins = spin;
    let word = Atomics.load(i32, index);
    for (let round = 1;; round++) {
      if (word === 0) {
        word = Atomics.compareExchange(i32, index, 0, take);
        if (word === 0) return true;
        continue;
      }
      if (spins > 0) {
        spins--;
        Atomics.pause();
        if (round % SPINS_PER_CLOCK_READ === 0 && performance.now() >= deadline) {
          return TIMED_OUT;
        }
        word = Atomics.load(i32, index);
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return TIMED_OUT;
      if ((word & WAITERS) === 0) {
        const seen = Atomics.compareExchange(i32, index, word, word | WAITERS);
        if (seen !== word) {
          word = seen;
          continue;
        }
        word |= WAITERS;
      }
      Atomics.wait(i32, index, word, remaining);
      take = me | WAITERS;
      word = Atomics.load(i32, index);
    }
  }

  #acquireFair(core: number, spin: number, deadline: number): boolean {
    const ticket = this.#takeTicket(spin, deadline);
    if (ticket < 0) return TIMED_OUT;
    const i32 = this.i32;
    const at = this.index + FAIR_SERVING;
    // Only the next in line spins: the others cannot get the lock before it
    // does, so they park at once and leave the CPUs to the holder and to it.
    // A pure spinner (spin: Infinity) never parks, wherever it is in line.
    let spins = spin === Infinity ? Infinity : 0;
    let next = false;
    for (let round = 1;; round++) {
      const serving = Atomics.load(i32, at);
      if (serving === ticket) break;
      if (!next && ((ticket - serving) & TICKET_MASK) === 1) {
        next = true;
        spins = spin;
      }
      if (spins > 0) {
        spins--;
        Atomics.pause();
        if (round % SPINS_PER_CLOCK_READ === 0 && performance.now() >= deadline) {
          if (this.#abandon(ticket)) break;
          return TIMED_OUT;
        }
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        if (this.#abandon(ticket)) break;
        return TIMED_OUT;
      }
      this.#park(serving, remaining);
    }
    // SAFETY: `serving` equals our ticket; only we may hold the lock now.
    Atomics.store(i32, this.index + FAIR_OWNER, core + 1);
    return true;
  }

  /** Takes a ticket once fewer than QUEUE_LIMIT are out; -1 on timeout. */
  #takeTicket(spin: number, deadline: number): number {
    const i32 = this.i32;
    const index = this.index;
    let spins = spin;
    for (let round = 1;; round++) {
      const next = Atomics.load(i32, index + FAIR_NEXT);
      const serving = Atomics.load(i32, index + FAIR_SERVING);
      if (((next - serving) & TICKET_MASK) < QUEUE_LIMIT) {
        const after = (next + 1) & TICKET_MASK;
        if (Atomics.compareExchange(i32, index + FAIR_NEXT, next, after) === next) return next;
        continue;
      }
      // The queue is full (of waiters that gave up, usually): wait for it to move.
      if (spins > 0) {
        spins--;
        Atomics.pause();
        if (round % SPINS_PER_CLOCK_READ === 0 && performance.now() >= deadline) return -1;
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return -1;
      this.#park(serving, remaining);
    }
  }

  /** Sleeps while `serving` still reads `serving`, for at most `timeoutMs`. */
  #park(serving: number, timeoutMs: number): void {
    const i32 = this.i32;
    const index = this.index;
    Atomics.add(i32, index + FAIR_PARKED, 1);
    Atomics.wait(i32, index + FAIR_SERVING, serving, timeoutMs);
    Atomics.sub(i32, index + FAIR_PARKED, 1);
  }

  /**
   * Gives up `ticket`. Returns `true` if its turn came meanwhile and nobody
   * skipped it: then the caller holds the lock after all.
   */
  #abandon(ticket: number): boolean {
    const i32 = this.i32;
    const index = this.index;
    const bit = 1 << (ticket & 31);
    Atomics.or(i32, index + FAIR_ABANDONED, bit);
    if (Atomics.load(i32, index + FAIR_SERVING) !== ticket) {
      // Our turn has not come: whoever reaches it will see the bit and skip.
      return false;
    }
    // Our turn came. Either the unlocker already consumed the bit (it skipped
    // us) or it looked before we set it (we hold the lock): exactly one of
    // us clears the bit.
    return (Atomics.and(i32, index + FAIR_ABANDONED, ~bit) & bit) !== 0;
  }

  #releaseFair(core: number): boolean {
    const i32 = this.i32;
    const index = this.index;
    if (Atomics.compareExchange(i32, index + FAIR_OWNER, core + 1, 0) !== core + 1) return false;
    // Only the holder writes `serving`, so this load sees our ticket.
    this.#passTurn(Atomics.load(i32, index + FAIR_SERVING));
    return true;
  }

  /** Moves `serving` past `ticket` and past tickets given up, then wakes the parked. */
  #passTurn(ticket: number): void {
    const i32 = this.i32;
    const index = this.index;
    let serving = (ticket + 1) & TICKET_MASK;
    Atomics.store(i32, index + FAIR_SERVING, serving);
    while (Atomics.load(i32, index + FAIR_ABANDONED) !== 0) {
      const bit = 1 << (serving & 31);
      if ((Atomics.and(i32, index + FAIR_ABANDONED, ~bit) & bit) === 0) break;
      // SAFETY: the waiter of `serving` gave up and will not take its turn
      // (#abandon): skip it, as if it had held the lock and released it.
      serving = (serving + 1) & TICKET_MASK;
      Atomics.store(i32, index + FAIR_SERVING, serving);
    }
    if (Atomics.load(i32, index + FAIR_PARKED) !== 0) Atomics.notify(i32, index + FAIR_SERVING);
  }
}

function tryAcquireFair(word: LockWord, core: number): boolean {
  const i32 = word.i32;
  const index = word.index;
  const serving = Atomics.load(i32, index + FAIR_SERVING);
  const next = (serving + 1) & TICKET_MASK;
  // SAFETY: the ticket equal to `serving` is the one that may hold the
  // lock, and the exchange hands it out only if no one holds a ticket.
  if (Atomics.compareExchange(i32, index + FAIR_NEXT, serving, next) !== serving) return false;
  Atomics.store(i32, index + FAIR_OWNER, core + 1);
  return true;
}

function throwForced(core: number): never {
  throw new Error(
    `Cannot unlock SpinMutex on core ${core} as it no longer holds it: forceUnlock() released it while it was held, so mutual exclusion was broken`,
  );
}

function ownerValue(core: number): number {
  return (core + 1) << OWNER_SHIFT;
}

/** Waits for `promise`, or rejects with `signal.reason` when it aborts first. */
function abortable(promise: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
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

// The lock words this agent has views on: views of the same lock share one
// LockWord, so that a guard taken through one view is seen by all.
const known = new WeakMap<SharedArrayBuffer, Map<number, LockWord>>();

/** Number of bytes a lock occupies. */
export function byteLengthOf(fair: boolean): number {
  return fair ? FAIR_WORDS * 4 : 4;
}

/**
 * Returns this agent's {@linkcode LockWord} for the lock at `byteOffset` of
 * `buffer`, creating it on first use.
 *
 * @returns The lock word, or a sentence saying why it cannot exist (an
 * overlap with another lock of this agent), for the caller's error message.
 */
export function lockWordAt(
  buffer: SharedArrayBuffer,
  byteOffset: number,
  fair: boolean,
): LockWord | string {
  let words = known.get(buffer);
  if (words === undefined) {
    words = new Map();
    known.set(buffer, words);
  }
  const existing = words.get(byteOffset);
  if (existing !== undefined) {
    if (existing.fair === fair) return existing;
    return `the lock at byteOffset ${byteOffset} is already used as a ${
      existing.fair ? "fair" : "plain"
    } lock in this agent`;
  }
  const end = byteOffset + byteLengthOf(fair);
  for (const other of words.values()) {
    if (byteOffset < other.byteOffset + byteLengthOf(other.fair) && other.byteOffset < end) {
      return `it overlaps the lock at byteOffset ${other.byteOffset}`;
    }
  }
  const word = new LockWord(buffer, byteOffset, fair);
  words.set(byteOffset, word);
  return word;
}
