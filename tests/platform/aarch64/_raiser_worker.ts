// Copyright 2026 the percpu authors. MIT license.

// A PE that only raises. The test posts { handle, pe, shared }: the Worker
// attaches as PE `pe` (masked, not listening), says "ready", waits for GO,
// then raises the plan of _raiser_plan.ts on PE 0, counting in `shared`
// which raises returned true and which were coalesced. After each batch of
// rounds it publishes BATCH and waits until the test has checked it
// (CHECKED), so that the test sees every batch at rest; within a batch,
// raising and taking overlap. Then it closes its PE and says "done" (or
// "stuck" if the test did not check a batch within 5 s).

import { Aarch64Machine, type Aarch64MachineHandle } from "../../../platform/aarch64/mod.ts";
import {
  BATCH,
  BATCHES,
  CHECKED,
  GO,
  planOf,
  ROUNDS_PER_BATCH,
  slotOfRaise,
  SLOTS,
} from "./_raiser_plan.ts";

interface Start {
  handle: Aarch64MachineHandle;
  pe: number;
  shared: SharedArrayBuffer;
}

/** The Worker's global scope (the checker sees the main thread's `Window`). */
const scope = self as unknown as {
  onmessage: ((message: MessageEvent<Start>) => void) | null;
  postMessage(message: unknown): void;
};

/** Busy-waits for `ms` milliseconds. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* wait */ }
}

/** Blocks until `shared[index]` reaches `value`; returns false after `ms`. */
function waitFor(shared: Int32Array, index: number, value: number, ms: number): boolean {
  const deadline = performance.now() + ms;
  for (;;) {
    const seen = Atomics.load(shared, index);
    if (seen >= value) return true;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    Atomics.wait(shared, index, seen, remaining);
  }
}

scope.onmessage = (message: MessageEvent<Start>): void => {
  const { handle, pe } = message.data;
  const shared = new Int32Array(message.data.shared);
  const machine = Aarch64Machine.attach(handle, pe, { listen: false });
  scope.postMessage("ready");
  let outcome = "done";
  if (!waitFor(shared, GO, 1, 10_000)) outcome = "no go";
  for (let batch = 1; batch <= BATCHES && outcome === "done"; batch++) {
    for (let round = (batch - 1) * ROUNDS_PER_BATCH; round < batch * ROUNDS_PER_BATCH; round++) {
      spin(0.005 * (round % 4)); // 0–15 µs: let the test take between raises
      for (const raise of planOf(round)) {
        const pending = raise.kind === "sgi"
          ? machine.sendSgi(0, raise.intid)
          : machine.raise(0, raise.kind, raise.kind === "serror" ? undefined : raise.intid);
        Atomics.add(shared, slotOfRaise(raise) + (pending ? 0 : SLOTS), 1);
      }
    }
    Atomics.store(shared, BATCH, batch);
    Atomics.notify(shared, BATCH);
    if (!waitFor(shared, CHECKED, batch, 5_000)) outcome = "stuck";
  }
  machine.close();
  scope.postMessage(outcome);
};
