// Copyright 2026 the percpu authors. MIT license.

// What bench/contention.ts and its Workers agree on.

/** The setup that contention.ts sends. */
export interface ContentionSetup {
  /** The locks and counters: candidate `i` at {@linkcode lockIndex}`(i)`. */
  words: SharedArrayBuffer;
  /** Per candidate: "futex", or a SpinMutex: "plain"/"fair", "-guard" for lock()/unlock(). */
  kinds: string[];
  /** Per candidate: the SpinMutex `spin` option. */
  spins: number[];
}

/** Int32 index of candidate `index`'s lock, 256 bytes from the next one's. */
export function lockIndex(index: number): number {
  return index * 64;
}

/** Int32 index of the counter candidate `index`'s lock guards: 32 bytes in, past a fair lock. */
export function counterIndex(index: number): number {
  return lockIndex(index) + 8;
}
