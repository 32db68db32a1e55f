// Copyright 2026 the percpu authors. MIT license.
/// <reference lib="deno.worker" />

// One Worker of bench/contention.ts: on each command it runs one candidate
// lock (lock -> plain increment -> unlock) until told to stop, and reports
// how many operations it made.

import { type ExceptionFree, exceptionFree, SpinMutex } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";
import { CONTROL, counterSlot, type Setup, slot } from "./_contention_layout.ts";

const { control, words, id, kinds, spins } = await new Promise<Setup>((resolve) => {
  self.onmessage = (event: MessageEvent<Setup>) => resolve(event.data);
});
const core = id + 1; // core 0 is the main thread
const platform = new MockPlatform({ cores: CONTROL.MAX_WORKERS + 1 });
const i32 = new Int32Array(words);
const ctl = new Int32Array(control);
const BATCH = 64;

interface Candidate {
  /** Runs until told to stop; returns the number of operations. */
  run(): number;
}

function increment(counter: Int32Array): void {
  // Plain, non-atomic read-increment-write: only the lock protects it.
  counter[0]!++;
}

function mutexCandidate(mutex: SpinMutex<Int32Array>, guards: boolean): Candidate {
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
  return {
    run(): number {
      let ops = 0;
      while (Atomics.load(ctl, CONTROL.STOP) === 0) {
        platform.runOn(core, section);
        ops += BATCH;
      }
      return ops;
    },
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
  return {
    run(): number {
      let ops = 0;
      while (Atomics.load(ctl, CONTROL.STOP) === 0) {
        for (let i = 0; i < BATCH; i++) {
          lock();
          counter[0]!++;
          unlock();
        }
        ops += BATCH;
      }
      return ops;
    },
  };
}

const candidates: Candidate[] = [];
kinds.forEach((kind, index) => {
  const at = slot(index);
  const counter = new Int32Array(words, counterSlot(index) * 4, 1);
  if (kind === "futex") {
    candidates.push(futexCandidate(i32, at, counter));
    return;
  }
  const fair = kind.startsWith("fair");
  const spin = spins[index] as number;
  const mutex = new SpinMutex(counter, { buffer: words, byteOffset: at * 4, fair, spin });
  candidates.push(mutexCandidate(mutex, kind.endsWith("guard")));
});
postMessage("ready");

let seen = 0;
for (;;) {
  Atomics.wait(ctl, CONTROL.COMMAND, seen);
  seen = Atomics.load(ctl, CONTROL.COMMAND);
  if (seen < 0) break;
  const candidate = Atomics.load(ctl, CONTROL.CANDIDATE);
  if (id < Atomics.load(ctl, CONTROL.WORKERS)) {
    Atomics.add(ctl, CONTROL.STARTED, 1);
    while (Atomics.load(ctl, CONTROL.GO) !== seen) Atomics.pause();
    const ops = (candidates[candidate] as Candidate).run();
    Atomics.store(ctl, CONTROL.OPS + id, ops);
    Atomics.add(ctl, CONTROL.DONE, 1);
    Atomics.notify(ctl, CONTROL.DONE);
  }
}
close();
