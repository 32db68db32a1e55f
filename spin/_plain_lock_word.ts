// Copyright 2026 the percpu authors. MIT license.

/**
 * The plain lock (the default): one word, after Ulrich Drepper, "Futexes
 * Are Tricky" (2011), mutex 2, with the owner recorded in the word:
 *
 * - `0`: unlocked;
 * - `owner << 2`: locked, nobody parked (Drepper's 1);
 * - `owner << 2 | WAITERS`: locked, someone may be parked in `Atomics.wait`
 *   (Drepper's 2), so `release` wakes one;
 * - `| ASYNC_WAITERS`: someone may wait in `Atomics.waitAsync`, so `release`
 *   wakes everyone (an async waiter does not pass a single wake-up on).
 *
 * `owner` is the holder's core index + 1, at most `2^29 - 1`, so the word is
 * never negative: a negative word is a fair lock's owner (see
 * `_fair_lock_word.ts`), which a view that disagrees on `fair` reports.
 * Waiters only ever add the two low bits to a held word; only the holder
 * (or `forceRelease`) clears it.
 *
 * @module
 */

import { abortable, Backoff, type LockWord, throwKindMismatch } from "./_lock_word.ts";

/** Someone may be parked in `Atomics.wait`. */
export const WAITERS = 1;
/** Someone may wait in `Atomics.waitAsync`. */
const ASYNC_WAITERS = 2;
/** The owner (core + 1) sits above the two flag bits. */
const OWNER_SHIFT = 2;
/** The largest core index whose owner value fits beside the flag bits, sign bit clear. */
export const MAX_CORE = 2 ** 29 - 2;

/** The plain protocol on the word at `byteOffset` of `buffer`. */
export class PlainLockWord implements LockWord {
  readonly fair = false;
  readonly byteLength = 4;
  readonly maxCore = MAX_CORE;
  #i32: Int32Array;
  #index: number;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.#i32 = new Int32Array(buffer);
    this.#index = byteOffset >> 2;
  }

  tryAcquire(core: number): boolean {
    // SAFETY: moving the word 0 -> owner is the only way in, and it succeeds
    // for one agent at a time; nobody else writes the guarded data until
    // release() moves the word back to 0.
    return Atomics.compareExchange(this.#i32, this.#index, 0, ownerValue(core)) === 0;
  }

  acquire(core: number, spin: number, deadline: number): boolean {
    const i32 = this.#i32;
    const index = this.#index;
    const me = ownerValue(core);
    // After sleeping, take the lock as "maybe waiters" (Drepper's 2): others
    // may still sleep, and our release must wake one of them.
    let take = me;
    const backoff = new Backoff(spin, deadline);
    for (;;) {
      let word = Atomics.load(i32, index);
      if (word === 0) {
        if (Atomics.compareExchange(i32, index, 0, take) === 0) return true;
        continue;
      }
      if (word < 0) throwKindMismatch(false);
      const wait = backoff.next();
      if (wait < 0) return false;
      if (wait === 0) continue;
      word = setFlag(i32, index, WAITERS);
      if (word <= 0) continue;
      Atomics.wait(i32, index, word, wait);
      take = me | WAITERS;
    }
  }

  release(core: number): boolean {
    const i32 = this.#i32;
    const index = this.#index;
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

  forceRelease(): void {
    if (Atomics.exchange(this.#i32, this.#index, 0) !== 0) Atomics.notify(this.#i32, this.#index);
  }

  isLocked(): boolean {
    return Atomics.load(this.#i32, this.#index) !== 0;
  }

  ownerCore(): number | undefined {
    const word = Atomics.load(this.#i32, this.#index);
    return word > 0 ? (word >> OWNER_SHIFT) - 1 : undefined;
  }

  async waitUnlocked(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const i32 = this.#i32;
    const index = this.#index;
    for (;;) {
      // The flag makes the next release wake everyone, this waiter included.
      const word = setFlag(i32, index, ASYNC_WAITERS);
      if (word === 0) return;
      if (word < 0) throwKindMismatch(false);
      const result = Atomics.waitAsync(i32, index, word);
      // "not-equal": the word changed before we slept; the holder may have
      // released it, or waiters only added a flag: look again.
      if (!result.async) continue;
      await abortable(result.value, signal);
      return;
    }
  }
}

function ownerValue(core: number): number {
  return (core + 1) << OWNER_SHIFT;
}

/**
 * Sets `flag` in the held word at `index`, retrying while others change the
 * word; returns the word with the flag set, or the word as found if it is
 * not a held plain word (`0`: free, negative: a fair lock's).
 */
function setFlag(i32: Int32Array, index: number, flag: number): number {
  let word = Atomics.load(i32, index);
  while (word > 0 && (word & flag) === 0) {
    const seen = Atomics.compareExchange(i32, index, word, word | flag);
    if (seen === word) return word | flag;
    word = seen;
  }
  return word;
}
