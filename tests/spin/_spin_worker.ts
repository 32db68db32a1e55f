// Copyright 2026 the percpu authors. MIT license.
/// <reference lib="deno.worker" />

// A Worker for spin_mutex_workers_test.ts: it is one core of a mock
// platform and runs the jobs the test sends, one at a time.

import { exceptionFree, LockTimeoutError, SpinMutex, type SpinMutexHandle } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";

/** A job for this Worker; it replies with a {@linkcode Reply} when done. */
export type Job =
  & { handle: SpinMutexHandle; core: number; spin?: number; timeoutMs?: number }
  & (
    | {
      /** `ops` times: lock, plain increment of `counter[0]`, unlock; retry on timeouts. */
      job: "count";
      counter: SharedArrayBuffer;
      ops: number;
      /** lock() + `using` instead of withLock(). */
      guards: boolean;
      /** `Atomics.add(flags, 0, 1)` on every LockTimeoutError. */
      flags: SharedArrayBuffer;
    }
    | {
      /** Lock; set flags[0] = 1; wait until flags[1] != 0, then `lingerMs` more; unlock. */
      job: "hold";
      flags: SharedArrayBuffer;
      lingerMs?: number;
    }
    | {
      /** Set flags[1] = 1; wait until flags[0] != 0; lock; append the core to log; unlock. */
      job: "queue";
      flags: SharedArrayBuffer;
      log: SharedArrayBuffer;
    }
  );

/** What a job reports. */
export interface Reply {
  /** Cores named by the LockTimeoutErrors seen, in order. */
  timeoutOwners: (number | undefined)[];
}

export const MAX_CORES = 8;
const platform = new MockPlatform({ cores: MAX_CORES });

self.onmessage = (event: MessageEvent<Job>) => {
  const job = event.data;
  const reply = platform.runOn(job.core, () => run(job));
  postMessage(reply);
};

function run(job: Job): Reply {
  const options = {
    ...(job.spin === undefined ? {} : { spin: job.spin }),
    ...(job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs }),
  };
  const flags = new Int32Array(job.flags);
  const timeoutOwners: (number | undefined)[] = [];
  switch (job.job) {
    case "count": {
      const counter = new Int32Array(job.counter);
      const mutex = SpinMutex.attach(job.handle, counter, options);
      for (let done = 0; done < job.ops;) {
        try {
          exceptionFree(platform, (token) => {
            if (job.guards) {
              using guard = mutex.lock(token);
              // Plain, non-atomic read-increment-write: only the lock protects it.
              guard.value[0]!++;
            } else {
              mutex.withLock(token, (value) => value[0]!++);
            }
          });
          done++;
        } catch (error) {
          if (!(error instanceof LockTimeoutError)) throw error;
          timeoutOwners.push(error.ownerCore);
          Atomics.add(flags, 0, 1);
          Atomics.notify(flags, 0);
        }
      }
      return { timeoutOwners };
    }
    case "hold": {
      const mutex = SpinMutex.attach(job.handle, null, options);
      exceptionFree(platform, (token) => {
        using _guard = mutex.lock(token);
        Atomics.store(flags, 0, 1);
        Atomics.notify(flags, 0);
        while (Atomics.load(flags, 1) === 0) Atomics.wait(flags, 1, 0);
        if (job.lingerMs !== undefined) Atomics.wait(flags, 0, 1, job.lingerMs);
      });
      return { timeoutOwners };
    }
    case "queue": {
      const log = new Int32Array(job.log);
      const mutex = SpinMutex.attach(job.handle, log, options);
      Atomics.store(flags, 1, 1);
      while (Atomics.load(flags, 0) === 0) Atomics.wait(flags, 0, 0);
      exceptionFree(platform, (token) =>
        mutex.withLock(token, (entries) => {
          entries[1 + entries[0]!] = job.core;
          entries[0]!++;
        }));
      return { timeoutOwners };
    }
  }
}
