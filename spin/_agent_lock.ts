// Copyright 2026 the percpu authors. MIT license.

/**
 * What this agent knows about one lock in shared memory: its protocol, and
 * which of this agent's holds has it. Every `SpinMutex` view of the same
 * lock in this agent shares one {@linkcode AgentLock}, found by its
 * `SharedArrayBuffer` object and byte offset.
 *
 * @module
 */

import type { ExceptionFree } from "../percpu/exception_free.ts";
import { FairLockWord } from "./_fair_lock_word.ts";
import { type LockWord, throwForced } from "./_lock_word.ts";
import { PlainLockWord } from "./_plain_lock_word.ts";

/** `AgentLock.held` when no hold of this agent has the lock. */
export const NOT_HELD = -1;
/** `AgentLock.heldWatch` of a hold that no section watches (`withLock`). */
export const NO_WATCH = -1;
/** Hold generations and watch ids count modulo 2^30, to stay small integers. */
export const GENERATION_MASK = 0x3fffffff;

/**
 * One lock as this agent sees it. JavaScript runs one call at a time per
 * agent, so a lock held by this agent cannot be released while this agent
 * waits for it: `held !== NOT_HELD` is exactly "this agent holds it".
 */
export class AgentLock {
  readonly word: LockWord;
  readonly byteOffset: number;

  // Numbers, not objects, on the lock/unlock path: storing a young object
  // (the guard) into this long-lived one would cost a write barrier on every
  // lock and keep V8 from leaving the guard unallocated.
  /** The generation of this agent's hold of the lock, or `NOT_HELD`. */
  held = NOT_HELD;
  /** The generation of the latest hold. */
  generation = 0;
  /** The core the hold was taken on. */
  core = -1;
  /** The watch (see `holdGuard`) of the section the hold was taken in. */
  heldWatch = 0;
  /** The token whose section end is watched for a leaked guard, and its watch's id. */
  watching: ExceptionFree | undefined = undefined;
  watchId = 0;

  constructor(word: LockWord, byteOffset: number) {
    this.word = word;
    this.byteOffset = byteOffset;
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
    if (!this.word.release(this.core)) throwForced(this.core);
  }

  /** Releases the lock whoever holds it, and forgets this agent's hold. */
  forceRelease(): void {
    this.held = NOT_HELD;
    this.word.forceRelease();
  }
}

// The locks this agent has views on: views of the same lock share one
// AgentLock, so that a hold through one view is seen by all.
const known = new WeakMap<SharedArrayBuffer, Map<number, AgentLock>>();

/** Number of bytes a lock of the kind takes. */
export function byteLengthOf(fair: boolean): number {
  return fair ? 20 : 4;
}

/**
 * Returns this agent's {@linkcode AgentLock} for the lock at `byteOffset`
 * of `buffer`, creating it on first use.
 *
 * @throws {RangeError} If this agent uses those bytes for a lock of the
 * other kind, or for a lock at another offset that overlaps them.
 */
export function agentLockAt(
  buffer: SharedArrayBuffer,
  byteOffset: number,
  fair: boolean,
): AgentLock {
  let locks = known.get(buffer);
  if (locks === undefined) {
    locks = new Map();
    known.set(buffer, locks);
  }
  const existing = locks.get(byteOffset);
  if (existing !== undefined) {
    if (existing.word.fair === fair) return existing;
    throwTaken(
      byteOffset,
      `the lock at byteOffset ${byteOffset} is already used as a ${
        existing.word.fair ? "fair" : "plain"
      } lock in this agent`,
    );
  }
  const end = byteOffset + byteLengthOf(fair);
  for (const other of locks.values()) {
    if (byteOffset < other.byteOffset + other.word.byteLength && other.byteOffset < end) {
      throwTaken(byteOffset, `it overlaps the lock at byteOffset ${other.byteOffset}`);
    }
  }
  const word = fair ? new FairLockWord(buffer, byteOffset) : new PlainLockWord(buffer, byteOffset);
  const lock = new AgentLock(word, byteOffset);
  locks.set(byteOffset, lock);
  return lock;
}

function throwTaken(byteOffset: number, reason: string): never {
  throw new RangeError(`Cannot create SpinMutex at byteOffset ${byteOffset} as ${reason}`);
}
