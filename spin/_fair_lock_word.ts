// Copyright 2026 the percpu authors. MIT license.

/**
 * The fair lock: a ticket lock of five `Int32` words, `FAIR_*` below.
 * `next` is the next ticket to hand out, `serving` the ticket that may hold
 * the lock; tickets count modulo 2^30. A waiter that times out cannot leave
 * the queue, so it marks its ticket in `abandoned` (bit `ticket % 32`) and
 * the releaser skips it. At most `QUEUE_LIMIT` tickets are out at once, so
 * those bits never collide. `parked` counts agents in
 * `Atomics.wait`/`waitAsync` on `serving`.
 *
 * `owner` is the holder's core + 1 with the sign bit set (`FAIR_TAG`): the
 * first word of a plain lock is never negative, so a plain view of these
 * bytes sees a fair holder, and the holder claims `owner` with a
 * compare-and-swap from 0, so it sees a plain holder.
 *
 * @module
 */

import { abortable, Backoff, type LockWord, throwKindMismatch } from "./_lock_word.ts";

/** In `Int32` words from the lock's offset: the holder's core + 1, tagged. */
const FAIR_OWNER = 0;
/** The next ticket to hand out. */
export const FAIR_NEXT = 1;
/** The ticket whose turn it is. */
export const FAIR_SERVING = 2;
/** How many agents are parked on `serving`. */
export const FAIR_PARKED = 3;
/** Bit `ticket % 32` set when that ticket's waiter gave up. */
const FAIR_ABANDONED = 4;
/** Tickets count modulo 2^30, so that differences stay positive `Int32`s. */
export const TICKET_MASK = 0x3fffffff;
/** Most tickets out at once: one bit each in `abandoned`. */
const QUEUE_LIMIT = 32;
/** The sign bit, set in `owner` while a fair lock is held. */
const FAIR_TAG = 1 << 31;

/** The ticket protocol on the five words at `byteOffset` of `buffer`. */
export class FairLockWord implements LockWord {
  readonly fair = true;
  readonly byteLength = 20;
  readonly maxCore = 2 ** 31 - 2;
  #i32: Int32Array;
  #index: number;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.#i32 = new Int32Array(buffer);
    this.#index = byteOffset >> 2;
  }

  tryAcquire(core: number): boolean {
    const i32 = this.#i32;
    const index = this.#index;
    const serving = Atomics.load(i32, index + FAIR_SERVING);
    // SAFETY: the ticket equal to `serving` is the one that may hold the
    // lock, and the exchange hands it out only if no one holds a ticket.
    const next = (serving + 1) & TICKET_MASK;
    if (Atomics.compareExchange(i32, index + FAIR_NEXT, serving, next) !== serving) return false;
    this.#claim(core, serving);
    return true;
  }

  acquire(core: number, spin: number, deadline: number): boolean {
    const backoff = new Backoff(spin, deadline);
    const ticket = this.#takeTicket(backoff);
    if (ticket < 0) return false;
    const at = this.#index + FAIR_SERVING;
    // Only the next in line spins: the others cannot get the lock before it
    // does, so they park at once and leave the CPUs to the holder and to it.
    // A pure spinner (spin: Infinity) never parks, wherever it is in line.
    backoff.spins = spin === Infinity ? Infinity : 0;
    let next = false;
    for (;;) {
      const serving = Atomics.load(this.#i32, at);
      if (serving === ticket) break;
      if (!next && ((ticket - serving) & TICKET_MASK) === 1) {
        next = true;
        backoff.spins = spin;
      }
      const wait = backoff.next();
      if (wait < 0) {
        if (this.#abandon(ticket)) break;
        return false;
      }
      if (wait > 0) this.#park(serving, wait);
    }
    this.#claim(core, ticket);
    return true;
  }

  release(core: number): boolean {
    const i32 = this.#i32;
    const index = this.#index;
    const owner = (core + 1) | FAIR_TAG;
    if (Atomics.compareExchange(i32, index + FAIR_OWNER, owner, 0) !== owner) return false;
    // Only the holder writes `serving`, so this load sees our ticket.
    this.#passTurn(Atomics.load(i32, index + FAIR_SERVING));
    return true;
  }

  forceRelease(): void {
    const i32 = this.#i32;
    const index = this.#index;
    const owner = Atomics.load(i32, index + FAIR_OWNER);
    if (owner !== 0) {
      // Taking the owner word first makes the holder's own release fail, so
      // `serving` is still its ticket and only we pass the turn on.
      if (Atomics.compareExchange(i32, index + FAIR_OWNER, owner, 0) !== owner) return;
      this.#passTurn(Atomics.load(i32, index + FAIR_SERVING));
      return;
    }
    // No owner recorded: free, or a turn given to a waiter that has not
    // claimed it (it died, or is about to): move the turn on, unless it moved.
    const serving = Atomics.load(i32, index + FAIR_SERVING);
    if (Atomics.load(i32, index + FAIR_NEXT) === serving) return;
    const next = (serving + 1) & TICKET_MASK;
    if (Atomics.compareExchange(i32, index + FAIR_SERVING, serving, next) !== serving) return;
    this.#skipAbandoned(next);
  }

  isLocked(): boolean {
    const i32 = this.#i32;
    const index = this.#index;
    return Atomics.load(i32, index + FAIR_NEXT) !== Atomics.load(i32, index + FAIR_SERVING);
  }

  ownerCore(): number | undefined {
    // A fair holder's word is negative (FAIR_TAG); anything else is not ours
    // to read as a core (a plain view's word, or nobody).
    const owner = Atomics.load(this.#i32, this.#index + FAIR_OWNER);
    return owner < 0 ? (owner & ~FAIR_TAG) - 1 : undefined;
  }

  async waitUnlocked(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const i32 = this.#i32;
    const index = this.#index;
    const serving = Atomics.load(i32, index + FAIR_SERVING);
    if (Atomics.load(i32, index + FAIR_NEXT) === serving) return;
    Atomics.add(i32, index + FAIR_PARKED, 1);
    const result = Atomics.waitAsync(i32, index + FAIR_SERVING, serving);
    const done = result.async ? result.value : Promise.resolve(result.value);
    // Count the waiter out when it really leaves the waiter list, which an
    // abort cannot hasten: until then, release keeps waking it.
    done.then(() => Atomics.sub(i32, index + FAIR_PARKED, 1));
    await abortable(done, signal);
  }

  /**
   * Records `core` as the holder of `ticket`, whose turn it is. A plain view
   * of the same bytes that holds them makes the claim fail: the turn is
   * passed on, as if released, and the mismatch thrown.
   */
  #claim(core: number, ticket: number): void {
    // SAFETY: `serving` equals our ticket; only we may hold the lock now.
    const seen = Atomics.compareExchange(
      this.#i32,
      this.#index + FAIR_OWNER,
      0,
      (core + 1) | FAIR_TAG,
    );
    if (seen !== 0) {
      this.#passTurn(ticket);
      throwKindMismatch(true);
    }
  }

  /** Takes a ticket once fewer than QUEUE_LIMIT are out; -1 on timeout. */
  #takeTicket(backoff: Backoff): number {
    const i32 = this.#i32;
    const index = this.#index;
    for (;;) {
      const next = Atomics.load(i32, index + FAIR_NEXT);
      const serving = Atomics.load(i32, index + FAIR_SERVING);
      if (((next - serving) & TICKET_MASK) < QUEUE_LIMIT) {
        const after = (next + 1) & TICKET_MASK;
        if (Atomics.compareExchange(i32, index + FAIR_NEXT, next, after) === next) return next;
        continue;
      }
      // The queue is full (of waiters that gave up, usually): wait for it to move.
      const wait = backoff.next();
      if (wait < 0) return -1;
      if (wait > 0) this.#park(serving, wait);
    }
  }

  /** Sleeps while `serving` still reads `serving`, for at most `timeoutMs`. */
  #park(serving: number, timeoutMs: number): void {
    const i32 = this.#i32;
    const index = this.#index;
    Atomics.add(i32, index + FAIR_PARKED, 1);
    Atomics.wait(i32, index + FAIR_SERVING, serving, timeoutMs);
    Atomics.sub(i32, index + FAIR_PARKED, 1);
  }

  /**
   * Gives up `ticket`. Returns `true` if its turn came meanwhile and nobody
   * skipped it: then the caller holds the lock after all.
   */
  #abandon(ticket: number): boolean {
    const i32 = this.#i32;
    const index = this.#index;
    const bit = 1 << (ticket & 31);
    Atomics.or(i32, index + FAIR_ABANDONED, bit);
    if (Atomics.load(i32, index + FAIR_SERVING) !== ticket) {
      // Our turn has not come: whoever reaches it will see the bit and skip.
      return false;
    }
    // Our turn came. Either the releaser already consumed the bit (it
    // skipped us) or it looked before we set it (we hold the lock): exactly
    // one of us clears the bit.
    return (Atomics.and(i32, index + FAIR_ABANDONED, ~bit) & bit) !== 0;
  }

  /** Moves `serving` past `ticket` and past tickets given up, then wakes the parked. */
  #passTurn(ticket: number): void {
    const serving = (ticket + 1) & TICKET_MASK;
    Atomics.store(this.#i32, this.#index + FAIR_SERVING, serving);
    this.#skipAbandoned(serving);
  }

  /** Moves the turn past tickets whose waiters gave up, then wakes the parked. */
  #skipAbandoned(serving: number): void {
    const i32 = this.#i32;
    const index = this.#index;
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
