// Copyright 2026 the percpu authors. MIT license.
/// <reference lib="deno.worker" />

// One Worker of bench/contention.ts: each candidate is a lock that guards a
// counter; an operation is lock -> plain increment -> unlock.

import { type ExceptionFree, exceptionFree, SpinMutex } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";
import { type ContentionSetup, counterIndex, lockIndex } from "./_contention_layout.ts";
import { type Candidate, MAX_WORKERS, serve } from "./_workers.ts";

const BATCH = 64;

function increment(counter: Int32Array): void {
  // Plain, non-atomic read-increment-write: only the lock protects it.
  counter[0]!++;
}

function mutexCandidate(mutex: SpinMutex<Int32Array>, guards: boolean, core: number): Candidate {
  const platform = new MockPlatform({ cores: MAX_WORKERS + 1 });
  const batch = guards
    ? (token: ExceptionFree): void => {
      for (let i = 0; i < BATCH; i++) {
        const guard = mutex.lock(token);
        increment(guard.value);
        guard.unlock();
      }
    }
    : (token: ExceptionFree): void => {
      for (let i = 0; i < BATCH; i++) mutex.withLock(token, increment);
    };
  const section = (): void => exceptionFree(platform, batch);
  return (stopped) => {
    let ops = 0;
    while (!stopped()) {
      platform.runOn(core, section);
      ops += BATCH;
    }
    return ops;
  };
}

// The reference peer: Drepper's mutex 2 ("Futexes Are Tricky", 2011), with
// the textbook's three states 0 (free), 1 (locked), 2 (locked, maybe waiters).
function futexCandidate(word: Int32Array, at: number, counter: Int32Array): Candidate {
  function lock(): void {
    let c = Atomics.compareExchange(word, at, 0, 1);
    if (c === 0) return;
    if (c !== 2) c = Atomics.exchange(word, at, 2);
    while (c !== 0) {
      Atomics.wait(word, at, 2);
      c = Atomics.exchange(word, at, 2);
    }
  }
  function unlock(): void {
    if (Atomics.sub(word, at, 1) !== 1) {
      Atomics.store(word, at, 0);
      Atomics.notify(word, at, 1);
    }
  }
  return (stopped) => {
    let ops = 0;
    while (!stopped()) {
      for (let i = 0; i < BATCH; i++) {
        lock();
        increment(counter);
        unlock();
      }
      ops += BATCH;
    }
    return ops;
  };
}

await serve<ContentionSetup>(({ words, kinds, spins }, id) =>
  kinds.map((kind, index) => {
    const counter = new Int32Array(words, counterIndex(index) * 4, 1);
    if (kind === "futex") return futexCandidate(new Int32Array(words), lockIndex(index), counter);
    const mutex = new SpinMutex(counter, {
      buffer: words,
      byteOffset: lockIndex(index) * 4,
      fair: kind.startsWith("fair"),
      spin: spins[index]!,
    });
    return mutexCandidate(mutex, kind.endsWith("-guard"), id + 1); // core 0 is the main thread
  })
);
