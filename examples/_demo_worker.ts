// Copyright 2026 the percpu authors. MIT license.

// One PE of the demo machine. It counts operations in its own SharedPerCpu
// slot and in the shared histogram (under the SpinMutex), inside
// exception-free sections; its IRQ vector does the same for each SGI. PE 0
// also sends SGIs to the others. Taking the lock in the handler is safe only
// because the handler runs masked: the section it interrupted cannot hold the
// lock, since sections mask and lock() demands the token.

/// <reference lib="deno.worker" />

import { type ExceptionFree, exceptionFree, SharedPerCpu, SpinMutex } from "../mod.ts";
import { Aarch64Machine } from "../platform/aarch64/mod.ts";
import { CONTROL, DEMO_SGI, type PeReport, type PeSetup, STAT } from "./_demo_layout.ts";

self.onmessage = (message: MessageEvent<PeSetup>) => {
  const { pe } = message.data;
  let report: PeReport;
  try {
    report = { pe, mpidr: runPe(message.data) };
  } catch (error) {
    report = { pe, error: explain(error) };
  }
  self.postMessage(report);
  self.close();
};

/**
 * The error in one line, with what it wraps: a section whose callback and a
 * handler both failed throws a SuppressedError holding both.
 */
function explain(error: unknown): string {
  if (error instanceof SuppressedError) {
    return `${explain(error.error)}, after ${explain(error.suppressed)}`;
  }
  if (error instanceof AggregateError) return error.errors.map(explain).join("; ");
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Runs the PE's workload; returns its MPIDR_EL1. */
function runPe(setup: PeSetup): bigint {
  const { pe, ops, ipiRate, histogram, sentTo, control } = setup;
  using machine = Aarch64Machine.attach(setup.machine, pe, { listen: false });
  const stats = SharedPerCpu.attach(machine, setup.stats);
  const mutex = SpinMutex.attach(setup.mutex, histogram, { timeoutMs: setup.lockTimeoutMs });
  const slot = stats.get();
  const total = histogram.length - 1;

  function lockHistogram(token: ExceptionFree): Disposable {
    const free = mutex.tryLock(token);
    if (free !== undefined) return free;
    const start = performance.now();
    const guard = mutex.lock(token);
    slot[STAT.WAITS]!++;
    slot[STAT.WAIT_US]! += Math.round((performance.now() - start) * 1000);
    return guard;
  }

  function count(token: ExceptionFree, bucket: number): void {
    using _guard = lockHistogram(token);
    slot[STAT.LOCKS]!++;
    histogram[bucket]!++;
    histogram[total]!++;
  }

  machine.setVector("irq", (token, event) => {
    if (event.intid !== DEMO_SGI || event.source !== 0) slot[STAT.UNEXPECTED]!++;
    slot[STAT.IRQS]!++;
    count(token, 2 * pe + 1);
  });
  // Out of reset everything is masked: unmask IRQs (`msr daifclr, #2`)
  // once the vector is in.
  machine.daifClr(0b0010);

  // Start together: without this, PE 0 could be done before the last Worker boots.
  Atomics.add(control, CONTROL.READY, 1);
  Atomics.notify(control, CONTROL.READY);
  const startBy = performance.now() + setup.bootTimeoutMs;
  for (let ready; (ready = Atomics.load(control, CONTROL.READY)) < machine.coreCount;) {
    if (performance.now() > startBy) throw new Error(`only ${ready} PEs started in time`);
    Atomics.wait(control, CONTROL.READY, ready, 50);
  }

  const faulty = pe === 1 ? setup.fault : "none";
  let credit = 0;
  let target = 0;
  for (let i = 0; i < ops; i++) {
    exceptionFree(machine, (token) => {
      slot[STAT.OPS]!++;
      if (faulty === "lost-update" && i === 0) return; // The injected fault.
      if (faulty === "stuck-lock" && i === 0) return holdLockUntilStopped(token);
      count(token, 2 * pe);
    });
    if (pe !== 0 || machine.coreCount === 1) continue;
    credit += ipiRate;
    while (credit >= 1000) {
      credit -= 1000;
      target = target % (machine.coreCount - 1) + 1;
      if (machine.sendSgi(target, DEMO_SGI)) {
        slot[STAT.SENT]!++;
        sentTo[target]!++;
      } else {
        slot[STAT.COALESCED]!++;
      }
    }
  }

  /** The injected fault: keep the lock, as a PE that hangs inside its section would. */
  function holdLockUntilStopped(token: ExceptionFree): void {
    using _guard = mutex.lock(token);
    const giveUp = performance.now() + 2 * setup.lockTimeoutMs;
    while (Atomics.load(control, CONTROL.STOP) === 0 && performance.now() < giveUp) {
      Atomics.wait(control, CONTROL.STOP, 0, 50);
    }
  }

  Atomics.add(control, CONTROL.DONE, 1);
  // Idle like a PE with nothing to do: wait for interrupts until every PE is
  // done, then take whatever is still pending.
  while (Atomics.load(control, CONTROL.STOP) === 0) machine.wfi(20);
  // Bounded: with IRQs unmasked, wfi(0) takes what is pending and reports it.
  for (let round = 0; round < 1000 && machine.wfi(0); round++);
  return machine.mpidr();
}
