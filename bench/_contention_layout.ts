// Copyright 2026 the percpu authors. MIT license.

// Shared-memory layout of bench/contention.ts and its Workers.

/** Indices of the control words (an Int32Array of their own). */
export const CONTROL = {
  /** Round number of the current command; negative: exit. */
  COMMAND: 0,
  /** Which candidate to run. */
  CANDIDATE: 1,
  /** How many Workers take part (ids below it). */
  WORKERS: 2,
  /** Workers that saw the command. */
  STARTED: 3,
  /** Set to the command number to start everyone at once. */
  GO: 4,
  /** Non-zero: stop. On a cache line of its own (index 32 = byte 128). */
  STOP: 32,
  /** Workers that finished. */
  DONE: 64,
  /** Operations per Worker, from here. */
  OPS: 96,
  MAX_WORKERS: 8,
  LENGTH: 128,
} as const;

/** Setup message for a Worker. */
export interface Setup {
  control: SharedArrayBuffer;
  words: SharedArrayBuffer;
  id: number;
  /**
   * Per candidate: "futex", or a SpinMutex: "plain" or "fair", with "-guard"
   * to use lock()/unlock() instead of withLock().
   */
  kinds: string[];
  /** Per candidate: the SpinMutex `spin` option. */
  spins: number[];
}

/** Int32 index of candidate `index`'s lock, 256 bytes from the next one's. */
export function slot(index: number): number {
  return index * 64;
}

/** Int32 index of the counter that candidate `index`'s lock guards: 32 bytes in, past a fair lock. */
export function counterSlot(index: number): number {
  return slot(index) + 8;
}
