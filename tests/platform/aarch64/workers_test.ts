// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { type ExceptionFree, exceptionFree } from "../../../mod.ts";
import { Gic } from "../../../platform/aarch64/_gic.ts";
import { openLayout } from "../../../platform/aarch64/_layout.ts";
import { type Aarch64Interrupt, Aarch64Machine, DAIF } from "../../../platform/aarch64/mod.ts";
import {
  BATCH,
  BATCHES,
  CHECKED,
  GO,
  nameOfSlot,
  planOf,
  ROUNDS,
  slotOfInterrupt,
  slotOfRaise,
  SLOTS,
} from "./_raiser_plan.ts";
import { ackIndex, countIndex, ERRORS, REPORTED, sharedCounters, STOP } from "./_shared.ts";

const WORKER = new URL("./_pe_worker.ts", import.meta.url).href;
const RAISER = new URL("./_raiser_worker.ts", import.meta.url).href;

/** Waits for the next message of `worker`, or fails after `ms`. */
function nextMessage(worker: Worker, ms = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`No message from the Worker within ${ms} ms`));
    }, ms);
    const onMessage = (event: MessageEvent): void => {
      cleanup();
      resolve(event.data);
    };
    const onError = (event: ErrorEvent): void => {
      event.preventDefault();
      cleanup();
      reject(new Error(`The Worker failed: ${event.message}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      worker.removeEventListener("message", onMessage);
      worker.removeEventListener("error", onError);
    };
    worker.addEventListener("message", onMessage);
    worker.addEventListener("error", onError);
  });
}

/** Starts a Worker as PE `pe` of `machine` and waits until it has unmasked. */
async function startPe(
  machine: Aarch64Machine,
  pe: number,
  shared: Int32Array,
  mode: "wfi" | "busy" | "listen",
  workers: Worker[],
  throwOn?: number,
): Promise<Worker> {
  const worker = new Worker(WORKER, { type: "module" });
  workers.push(worker);
  const ready = nextMessage(worker);
  worker.postMessage({ handle: machine.handle, pe, shared: shared.buffer, mode, throwOn });
  assert.equal(await ready, "ready");
  return worker;
}

/** Blocks until `shared[index]` exceeds `seen`; returns false after `ms`. */
function waitAbove(shared: Int32Array, index: number, seen: number, ms = 5_000): boolean {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = Atomics.load(shared, index);
    if (value > seen) return true;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    Atomics.wait(shared, index, value, remaining);
  }
}

/** SGI INTID i % 16 for i below `sends`: how many of each. */
function expectedCounts(sends: number): number[] {
  return [...Array(16).keys()].map((intid) =>
    Math.floor(sends / 16) + (intid < sends % 16 ? 1 : 0)
  );
}

function countsOf(shared: Int32Array, pe: number): number[] {
  return [...Array(16).keys()].map((intid) => Atomics.load(shared, countIndex(pe, intid)));
}

Deno.test("Aarch64Machine on Workers: 200 SGIs to each of two PEs idling in wfi() are each taken once, on the right PE", async () => {
  const machine = new Aarch64Machine({ preset: "rk3399" });
  const shared = sharedCounters(machine.coreCount);
  const workers: Worker[] = [];
  try {
    const pes = [4, 5]; // the two Cortex-A72s
    for (const pe of pes) await startPe(machine, pe, shared, "wfi", workers);
    const stopped = workers.map((worker) => nextMessage(worker, 40_000));
    for (let i = 0; i < 200; i++) {
      for (const pe of pes) {
        const before = Atomics.load(shared, ackIndex(pe));
        assert.equal(machine.sendSgi(pe, i % 16), true, `SGI ${i} to PE ${pe} was still pending`);
        assert.ok(waitAbove(shared, ackIndex(pe), before), `SGI ${i} to PE ${pe} not acknowledged`);
      }
    }
    Atomics.store(shared, STOP, 1);
    for (const pe of pes) machine.sendSgi(pe, 15); // wake them; counted below
    assert.deepEqual(await Promise.all(stopped), ["stopped", "stopped"]);
    for (const pe of pes) {
      const counts = countsOf(shared, pe);
      counts[15]! -= 1; // the wake-up SGI
      assert.deepEqual(counts, expectedCounts(200), `PE ${pe}`);
      assert.equal(Atomics.load(shared, ackIndex(pe)), 201);
    }
    assert.equal(Atomics.load(shared, ERRORS), 0);
    for (const pe of [0, 1, 2, 3]) assert.equal(Atomics.load(shared, ackIndex(pe)), 0);
  } finally {
    for (const worker of workers) worker.terminate();
  }
});

Deno.test("Aarch64Machine on Workers: a PE that never idles takes SGIs at the restores of its sections", async () => {
  const machine = new Aarch64Machine({ preset: "bcm2711" });
  const shared = sharedCounters(machine.coreCount);
  const workers: Worker[] = [];
  try {
    const worker = await startPe(machine, 3, shared, "busy", workers);
    const stopped = nextMessage(worker, 40_000);
    for (let i = 0; i < 100; i++) {
      const before = Atomics.load(shared, ackIndex(3));
      assert.equal(machine.sendSgi(3, i % 16), true);
      assert.ok(waitAbove(shared, ackIndex(3), before), `SGI ${i} not acknowledged`);
    }
    Atomics.store(shared, STOP, 1);
    assert.equal(await stopped, "stopped");
    assert.deepEqual(countsOf(shared, 3), expectedCounts(100));
    assert.equal(Atomics.load(shared, ERRORS), 0);
  } finally {
    for (const worker of workers) worker.terminate();
  }
});

Deno.test("Aarch64Machine on Workers: an attached PE takes SGIs between event-loop tasks while idle", async () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const shared = sharedCounters(machine.coreCount);
  const workers: Worker[] = [];
  try {
    const worker = await startPe(machine, 1, shared, "listen", workers);
    for (let i = 0; i < 50; i++) {
      const before = Atomics.load(shared, ackIndex(1));
      assert.equal(machine.sendSgi(1, i % 16), true);
      assert.ok(waitAbove(shared, ackIndex(1), before), `SGI ${i} not acknowledged`);
    }
    assert.deepEqual(countsOf(shared, 1), expectedCounts(50));
    assert.equal(Atomics.load(shared, ERRORS), 0);

    // Once closed, the Worker no longer takes interrupts: they stay pending.
    const stopped = nextMessage(worker);
    worker.postMessage({ command: "stop" });
    assert.equal(await stopped, "stopped");
    machine.sendSgi(1, 4);
    assert.equal(waitAbove(shared, ackIndex(1), 50, 50), false);
    assert.deepEqual(machine.pending(1), [{ kind: "irq", intid: 4, source: 0 }]);
  } finally {
    for (const worker of workers) worker.terminate();
  }
});

Deno.test("Aarch64Machine on Workers: an idle PE reports a throwing handler as an error event and keeps taking interrupts", async () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const shared = sharedCounters(machine.coreCount);
  const workers: Worker[] = [];
  try {
    const worker = await startPe(machine, 1, shared, "listen", workers, 7);
    let died = false;
    worker.addEventListener("error", (event) => {
      event.preventDefault();
      died = true;
    });
    for (let i = 0; i < 48; i++) {
      const before = Atomics.load(shared, ackIndex(1));
      assert.equal(machine.sendSgi(1, i % 16), true);
      assert.ok(waitAbove(shared, ackIndex(1), before), `SGI ${i} not acknowledged`);
    }
    // SGI 7 threw three times; each error reached the Worker's "error" event
    // (two that threw in one delivery as one AggregateError).
    const deadline = Date.now() + 5_000;
    while (Atomics.load(shared, REPORTED) < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(Atomics.load(shared, REPORTED), 3);
    assert.deepEqual(countsOf(shared, 1), expectedCounts(48));
    assert.equal(Atomics.load(shared, ERRORS), 0);
    assert.deepEqual(machine.pending(1), []);
    const stopped = nextMessage(worker);
    worker.postMessage({ command: "stop" });
    assert.equal(await stopped, "stopped");
    assert.equal(died, false);
  } finally {
    for (const worker of workers) worker.terminate();
  }
});

Deno.test("Aarch64Machine on Workers: an SGI from a Worker wakes the main PE in wfi()", async () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const shared = sharedCounters(machine.coreCount);
  const workers: Worker[] = [];
  const taken: string[] = [];
  machine.setVector("irq", (token, event) => {
    taken.push(`SGI ${event.intid} from PE ${event.source} on PE ${token.core}`);
  });
  machine.writeDaif(0);
  try {
    const worker = await startPe(machine, 1, shared, "listen", workers);
    const sent = nextMessage(worker);
    worker.postMessage({ command: "sgi", target: 0, intid: 11 });
    assert.equal(machine.wfi(5_000), true);
    assert.deepEqual(taken, ["SGI 11 from PE 1 on PE 0"]);
    assert.equal(await sent, "sent");
    const stopped = nextMessage(worker);
    worker.postMessage({ command: "stop" });
    assert.equal(await stopped, "stopped");
  } finally {
    for (const worker of workers) worker.terminate();
  }
});

/** Busy-waits for `ms` milliseconds: a section long enough for raises to pile up. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* wait */ }
}

/** The nonzero counts of `count`, by slot name. */
function bySlot(count: (slot: number) => number): Record<string, number> {
  const named: Record<string, number> = {};
  for (let slot = 0; slot < SLOTS; slot++) {
    const n = count(slot);
    if (n !== 0) named[nameOfSlot(slot)] = n;
  }
  return named;
}

function totalOf(count: (slot: number) => number): number {
  let total = 0;
  for (let slot = 0; slot < SLOTS; slot++) total += count(slot);
  return total;
}

Deno.test("Aarch64Machine on Workers: each raise from a Worker that returned true is taken once, the rest were coalesced, and the summary ends clear", async () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const gic = new Gic(openLayout(machine.handle, "read the summary"));
  const shared = new Int32Array(new SharedArrayBuffer((CHECKED + 1) * 4));
  const raised = (slot: number): number => Atomics.load(shared, slot);
  const coalesced = (slot: number): number => Atomics.load(shared, SLOTS + slot);
  const taken = new Array<number>(SLOTS).fill(0);
  let takenCount = 0;
  const wrong: string[] = [];
  const vector = (token: ExceptionFree, event: Aarch64Interrupt): void => {
    const source = event.kind === "irq" && event.intid < 16 ? 1 : undefined; // SGIs: from PE 1
    if (token.core !== 0 || machine.readDaif() !== DAIF.ALL || event.source !== source) {
      wrong.push(JSON.stringify(event));
    }
    taken[slotOfInterrupt(event)]! += 1;
    takenCount++;
  };
  for (const kind of ["irq", "fiq", "serror"] as const) machine.setVector(kind, vector);
  machine.writeDaif(0);
  const worker = new Worker(RAISER, { type: "module" });
  try {
    const ready = nextMessage(worker);
    worker.postMessage({ handle: machine.handle, pe: 1, shared: shared.buffer });
    assert.equal(await ready, "ready");
    Atomics.store(shared, GO, 1);
    Atomics.notify(shared, GO);

    // Take while the Worker raises, at every kind of delivery point (readIsr()
    // and daifClr() settle the summary too). After each batch, at rest, one
    // delivery point must leave nothing pending and the summary clear.
    const deadline = performance.now() + 15_000;
    let iterations = 0;
    let takingIterations = 0;
    let checked = 0;
    while (checked < BATCHES && performance.now() < deadline) {
      const batch = Atomics.load(shared, BATCH);
      if (batch > checked) {
        machine.wfi(0); // a delivery point after the batch's last raise returned
        assert.deepEqual(machine.pending(0), [], `after batch ${batch}`);
        assert.equal(gic.summary(0), 0, `after batch ${batch}`);
        assert.equal(takenCount, totalOf(raised), `after batch ${batch}`);
        checked = batch;
        Atomics.store(shared, CHECKED, checked);
        Atomics.notify(shared, CHECKED);
      }
      const before = takenCount;
      switch (iterations++ % 4) {
        case 0:
          machine.wfi(2);
          break;
        case 1:
          exceptionFree(machine, () => spin(0.02)); // taken at the restore
          break;
        case 2:
          machine.daifSet(0b0111);
          spin(0.02);
          machine.readIsr();
          machine.daifClr(0b0111);
          machine.writeDaif(0);
          break;
        default:
          machine.readIsr();
      }
      if (takenCount !== before) takingIterations++;
    }
    // The Worker's last message waits in the queue until this listens for it.
    const finished = nextMessage(worker);
    assert.equal(checked, BATCHES, "the Worker did not raise every batch in time");
    assert.equal(await finished, "done");

    assert.deepEqual(machine.pending(0), []);
    assert.equal(gic.summary(0), 0);
    assert.deepEqual(wrong, []);
    const planned = new Array<number>(SLOTS).fill(0);
    for (let round = 0; round < ROUNDS; round++) {
      for (const raise of planOf(round)) planned[slotOfRaise(raise)]! += 1;
    }
    assert.equal(Object.keys(bySlot((slot) => planned[slot]!)).length, 126);
    assert.deepEqual(
      bySlot((slot) => raised(slot) + coalesced(slot)),
      bySlot((slot) => planned[slot]!),
    );
    assert.deepEqual(bySlot((slot) => taken[slot]!), bySlot(raised));
    assert.equal(totalOf(raised) + totalOf(coalesced), 4672);
    assert.ok(totalOf(coalesced) > 0, "no raise was coalesced");
    assert.ok(takingIterations > 1, `taken in ${takingIterations} delivery rounds only`);
  } finally {
    worker.terminate();
  }
});
