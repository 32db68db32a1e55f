// Copyright 2026 the percpu authors. MIT license.

// SpinMutex across real Workers on this 2-CPU machine: exact counts in every
// waiting mode (also with more Workers than CPUs), FIFO order of the fair
// lock, timeouts and recovery from a dead owner, and async waiting. Every
// wait is bounded, so a bug fails the test instead of hanging it.

import assert from "node:assert/strict";
import {
  exceptionFree,
  LockTimeoutError,
  SpinMutex,
  type SpinMutexHandle,
  type SpinMutexOptions,
} from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";
import { FAIR_NEXT, FAIR_PARKED, FAIR_SERVING, TICKET_MASK } from "../../spin/_fair_lock_word.ts";
import { WAITERS } from "../../spin/_plain_lock_word.ts";
import type { Job, Reply } from "./_spin_worker.ts";

/** Longest any single test may wait for its Workers. */
const LIMIT_MS = 30_000;

/** A job as the test writes it: the Worker adds its own core. */
type WithoutCore<J> = J extends unknown ? Omit<J, "core"> : never;

/** One Worker, which is one core of a mock platform (the main thread is core 0). */
class WorkerCore {
  readonly core: number;
  #worker = new Worker(new URL("./_spin_worker.ts", import.meta.url), { type: "module" });

  constructor(core: number) {
    this.core = core;
  }

  run(job: WithoutCore<Job>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#worker.onmessage = (event: MessageEvent<Reply>) => resolve(event.data);
      this.#worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`Worker of core ${this.core} failed: ${event.message}`));
      };
      this.#worker.postMessage({ ...job, core: this.core });
    });
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/** Runs `fn` with Workers for cores 1..count, bounded in time; terminates them all. */
async function withWorkers<R>(
  count: number,
  fn: (workers: WorkerCore[]) => Promise<R>,
): Promise<R> {
  const workers = Array.from({ length: count }, (_, i) => new WorkerCore(i + 1));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      fn(workers),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`The Workers did not finish within ${LIMIT_MS} ms`)),
          LIMIT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const worker of workers) worker.terminate();
  }
}

/** Waits, without blocking the event loop, until `condition()` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + LIMIT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function flags(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** A Worker's hold of the lock, taken by {@linkcode holdIn}. */
interface Hold {
  /** Tells the Worker to unlock (after its `lingerMs`). */
  release(): void;
  /** Settles when the Worker's job is done. */
  done: Promise<Reply>;
}

/** Makes `worker` lock `handle` and keep it until released; resolves once it holds it. */
async function holdIn(
  worker: WorkerCore,
  handle: SpinMutexHandle,
  lingerMs?: number,
): Promise<Hold> {
  const hold = flags();
  const done = worker.run({
    job: "hold",
    handle,
    flags: hold.buffer as SharedArrayBuffer,
    ...(lingerMs === undefined ? {} : { lingerMs }),
  });
  await until(() => Atomics.load(hold, 0) === 1, `core ${worker.core} holds the lock`);
  return {
    release: () => {
      Atomics.store(hold, 1, 1);
      Atomics.notify(hold, 1);
    },
    done,
  };
}

const MODES: [string, SpinMutexOptions][] = [
  ["park (default)", {}],
  ["spin", { spin: Infinity }],
  ["fair", { fair: true }],
];

Deno.test("SpinMutex keeps a plain counter exact with 4 Workers x 50 000 increments on 2 CPUs", async (t) => {
  for (const [name, options] of MODES) {
    await t.step(name, async () => {
      const counter = new Int32Array(new SharedArrayBuffer(4));
      const mutex = new SpinMutex(counter, { ...options });
      const handle = mutex.handle;
      const replies = await withWorkers(
        4,
        (workers) =>
          Promise.all(workers.map((worker, i) =>
            worker.run({
              job: "count",
              handle,
              counter: counter.buffer as SharedArrayBuffer,
              ops: 50_000,
              guards: i % 2 === 0,
              flags: flags().buffer as SharedArrayBuffer,
              ...(options.spin === undefined ? {} : { spin: options.spin }),
            })
          )),
      );
      assert.equal(counter[0], 200_000);
      assert.equal(mutex.isLocked(), false);
      assert.deepEqual(replies.map((reply) => reply.timeoutOwners), [[], [], [], []]);
    });
  }
});

Deno.test("SpinMutex with fair: true and spin: Infinity keeps a counter exact with a Worker per CPU", async () => {
  // A ticket lock that never parks hands each turn to one particular waiter;
  // with more Workers than CPUs that waiter is often descheduled, so this
  // mode is for a CPU per Worker, as here.
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const mutex = new SpinMutex(counter, { fair: true, spin: Infinity });
  await withWorkers(2, (workers) =>
    Promise.all(workers.map((worker, i) =>
      worker.run({
        job: "count",
        handle: mutex.handle,
        counter: counter.buffer as SharedArrayBuffer,
        ops: 20_000,
        guards: i === 0,
        flags: flags().buffer as SharedArrayBuffer,
        spin: Infinity,
      })
    )));
  assert.equal(counter[0], 40_000);
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex with fair: true serves waiters in the order they queued", async () => {
  const log = new Int32Array(new SharedArrayBuffer(4 * 8)); // [count, cores...]
  const mutex = new SpinMutex(log, { fair: true });
  const words = new Int32Array(mutex.handle.buffer);
  const platform = new MockPlatform();
  await withWorkers(3, async (workers) => {
    const go = workers.map(() => flags());
    const done = workers.map((worker, i) =>
      worker.run({
        job: "queue",
        handle: mutex.handle,
        flags: go[i]!.buffer as SharedArrayBuffer,
        log: log.buffer as SharedArrayBuffer,
      })
    );
    await until(() => go.every((f) => Atomics.load(f, 1) === 1), "every Worker is ready");
    exceptionFree(platform, (token) => {
      using _guard = mutex.lock(token);
      // Let the Workers queue one after the other: each takes its ticket
      // before the next is told to go.
      for (let i = 0; i < workers.length; i++) {
        Atomics.store(go[i]!, 0, 1);
        Atomics.notify(go[i]!, 0);
        const deadline = performance.now() + LIMIT_MS;
        for (;;) {
          const next = Atomics.load(words, FAIR_NEXT);
          const queued = (next - Atomics.load(words, FAIR_SERVING)) & TICKET_MASK;
          if (queued === i + 2) break; // the holder and i + 1 waiters
          if (performance.now() > deadline) throw new Error(`Worker ${i + 1} did not queue`);
          Atomics.wait(words, FAIR_NEXT, next, 1);
        }
      }
    });
    await Promise.all(done);
  });
  assert.deepEqual([...log.subarray(0, 4)], [3, 1, 2, 3]);
  assert.equal(mutex.isLocked(), false);
});

for (const [name, options] of [MODES[0]!, MODES[2]!]) {
  Deno.test(`SpinMutex.lock() waits for a Worker's hold instead of reporting a deadlock (${name})`, async () => {
    const mutex = new SpinMutex(0, { ...options, timeoutMs: LIMIT_MS });
    const platform = new MockPlatform();
    await withWorkers(1, async ([worker]) => {
      const hold = await holdIn(worker!, mutex.handle, 50);
      const waited = exceptionFree(platform, (token) => {
        // Held by another agent: tryLock says no, and nothing is a deadlock.
        assert.equal(mutex.tryLock(token), undefined);
        // The Worker releases 50 ms after this signal, while lock() waits.
        const start = performance.now();
        hold.release();
        using guard = mutex.lock(token);
        assert.equal(guard.value, 0);
        return performance.now() - start;
      });
      assert.ok(waited >= 49, `lock() waited ${waited} ms for the Worker's release`);
      await hold.done;
    });
    assert.equal(mutex.isLocked(), false);
  });

  Deno.test(`SpinMutex.lock() throws LockTimeoutError naming the Worker's core and takes nothing (${name})`, async () => {
    const mutex = new SpinMutex(0, { ...options, timeoutMs: 30 });
    const platform = new MockPlatform();
    await withWorkers(3, async (workers) => {
      const hold = await holdIn(workers[2]!, mutex.handle); // core 3
      const started = performance.now();
      exceptionFree(platform, (token) => {
        for (let attempt = 0; attempt < 3; attempt++) {
          assert.throws(
            () => mutex.lock(token),
            (error) =>
              error instanceof LockTimeoutError && error.ownerCore === 3 && error.core === 0 &&
              error.timeoutMs === 30 &&
              error.message ===
                "Cannot lock SpinMutex on core 0 as core 3 held it for the whole timeout of 30 ms: if its owner died, recover it with forceUnlock()",
          );
        }
      });
      assert.ok(performance.now() - started >= 3 * 29, "each attempt waited for its timeout");
      assert.equal(mutex.isLocked(), true);
      hold.release();
      await hold.done;
    });
    // The failed attempts left nothing behind: the lock is free and works.
    assert.equal(mutex.isLocked(), false);
    assert.equal(exceptionFree(platform, (token) => mutex.withLock(token, () => "ok")), "ok");
    assert.equal(mutex.isLocked(), false);
  });

  Deno.test(`SpinMutex recovers from a Worker terminated while holding it: timeoutMs names its core, forceUnlock() lets the others finish (${name})`, async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const mutex = new SpinMutex(counter, { ...options, timeoutMs: 30 });
    const platform = new MockPlatform();
    await withWorkers(3, async ([holder, first, second]) => {
      const hold = await holdIn(holder!, mutex.handle);
      hold.done.catch(() => {}); // never settles: the Worker dies holding the lock
      holder!.terminate();
      const timeouts = [flags(), flags()];
      const done = [first!, second!].map((worker, i) =>
        worker.run({
          job: "count",
          handle: mutex.handle,
          counter: counter.buffer as SharedArrayBuffer,
          ops: 5_000,
          guards: i === 0,
          flags: timeouts[i]!.buffer as SharedArrayBuffer,
          timeoutMs: 30,
        })
      );
      await until(
        () => timeouts.every((f) => Atomics.load(f, 0) >= 1),
        "both Workers timed out on the dead owner",
      );
      exceptionFree(platform, (token) => {
        assert.throws(
          () => mutex.lock(token),
          (error) =>
            error instanceof LockTimeoutError && error.ownerCore === 1 &&
            /as core 1 held it for the whole timeout of 30 ms/.test(error.message),
        );
      });
      mutex.forceUnlock();
      const replies = await Promise.all(done);
      for (const reply of replies) assert.equal(reply.timeoutOwners[0], 1);
    });
    assert.equal(counter[0], 10_000);
    assert.equal(mutex.isLocked(), false);
  });

  Deno.test(`SpinMutex.waitUnlocked() resolves when a Worker releases the lock, without blocking the event loop (${name})`, async () => {
    const mutex = new SpinMutex(0, options);
    await withWorkers(1, async ([worker]) => {
      const hold = await holdIn(worker!, mutex.handle);
      let resolved = false;
      const waiting = mutex.waitUnlocked().then(() => resolved = true);
      // Timers still fire while it waits, and it does not resolve early.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      assert.equal(resolved, false);
      hold.release();
      await waiting;
      assert.equal(resolved, true);
      await hold.done;
    });
    assert.equal(mutex.isLocked(), false);
  });

  Deno.test(`SpinMutex.waitUnlocked() rejects on abort, and the abandoned wait takes no wake-up from others (${name})`, async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const mutex = new SpinMutex(counter, options);
    await withWorkers(2, async ([holder, waiter]) => {
      const hold = await holdIn(holder!, mutex.handle);
      const controller = new AbortController();
      const waiting = mutex.waitUnlocked({ signal: controller.signal });
      const reason = new Error("no longer needed");
      controller.abort(reason);
      await assert.rejects(waiting, (error) => error === reason);
      // Core 2 parks in lock() (spin: 0); releasing must wake it even though
      // the abandoned async wait is still registered on the lock word.
      const counted = waiter!.run({
        job: "count",
        handle: mutex.handle,
        counter: counter.buffer as SharedArrayBuffer,
        ops: 1,
        guards: false,
        flags: flags().buffer as SharedArrayBuffer,
        spin: 0,
      });
      const words = new Int32Array(mutex.handle.buffer);
      await until(
        () =>
          options.fair
            // The abandoned async wait still counts as parked until a release wakes it.
            ? Atomics.load(words, FAIR_PARKED) === 2
            : (Atomics.load(words, 0) & WAITERS) !== 0,
        "core 2 is parked in lock()",
      );
      hold.release();
      await hold.done;
      await counted;
    });
    assert.equal(counter[0], 1);
    assert.equal(mutex.isLocked(), false);
  });
}
