// Copyright 2026 the percpu authors. MIT license.

// One PE of an Aarch64Machine, in a Worker. The test posts
// { handle, pe, shared, mode }: the Worker attaches as PE `pe`, counts
// every IRQ it takes in `shared` (see _shared.ts) and acknowledges it, then
// either idles in wfi() until told to stop ("wfi"), runs exception-free
// sections back to back without ever idling ("busy"), or returns to its
// event loop and takes interrupts between tasks ("listen"). A message "sgi"
// { target, intid } makes it send an SGI. With `throwOn`, the handler throws
// (after acknowledging) for that SGI INTID; the Worker counts the handler
// errors its "error" event sees in REPORTED (several in one AggregateError
// when they threw in one delivery) and prevents them, so that it keeps going.

import { exceptionFree } from "../../../mod.ts";
import { Aarch64Machine, type Aarch64MachineHandle } from "../../../platform/aarch64/mod.ts";
import { ackIndex, countIndex, ERRORS, REPORTED, STOP } from "./_shared.ts";

interface Start {
  handle: Aarch64MachineHandle;
  pe: number;
  shared: SharedArrayBuffer;
  mode: "wfi" | "busy" | "listen";
  throwOn?: number;
}

interface Command {
  command: "sgi" | "stop";
  target?: number;
  intid?: number;
}

/** The Worker's global scope (the checker sees the main thread's `Window`). */
const scope = self as unknown as {
  onmessage: ((message: MessageEvent<Start | Command>) => void) | null;
  postMessage(message: unknown): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
};

let machine: Aarch64Machine | undefined;

scope.onmessage = (message: MessageEvent<Start | Command>): void => {
  const data = message.data;
  if ("command" in data) {
    if (data.command === "sgi") {
      machine?.sendSgi(data.target as number, data.intid as number);
      scope.postMessage("sent");
    } else {
      machine?.close();
      scope.postMessage("stopped");
    }
    return;
  }
  const { handle, pe, mode, throwOn } = data;
  const shared = new Int32Array(data.shared);
  scope.addEventListener("error", (event) => {
    event.preventDefault();
    // Handlers that threw in one delivery come as one AggregateError.
    const errors: unknown[] = event.error instanceof AggregateError
      ? event.error.errors
      : [event.error];
    for (const error of errors) {
      if (!(error instanceof Error && error.message === `SGI ${throwOn}`)) {
        Atomics.add(shared, ERRORS, 1);
      }
    }
    Atomics.add(shared, REPORTED, errors.length);
    Atomics.notify(shared, REPORTED);
  });
  const m = Aarch64Machine.attach(handle, pe, { listen: mode === "listen" });
  machine = m;
  m.setVector("irq", (token, event) => {
    const right = token.core === pe && m.coreIndex() === pe && m.readDaif() === 0x3c0 &&
      m.readSpsr() === 0x5 && event.kind === "irq" && event.source === 0;
    if (!right) Atomics.add(shared, ERRORS, 1);
    Atomics.add(shared, countIndex(pe, event.intid), 1);
    Atomics.add(shared, ackIndex(pe), 1);
    Atomics.notify(shared, ackIndex(pe));
    if (event.intid === throwOn) throw new Error(`SGI ${throwOn}`);
  });
  m.writeDaif(0); // vectors installed: unmask
  scope.postMessage("ready");
  if (mode === "wfi") {
    // Bounded: the test sets STOP; a lost wake-up shows as a timeout, not a hang.
    const deadline = performance.now() + 30_000;
    while (Atomics.load(shared, STOP) === 0 && performance.now() < deadline) m.wfi(1000);
    m.close();
    scope.postMessage("stopped");
  } else if (mode === "busy") {
    const deadline = performance.now() + 30_000;
    let sections = 0;
    while (Atomics.load(shared, STOP) === 0 && performance.now() < deadline) {
      exceptionFree(m, () => sections++);
    }
    m.close();
    scope.postMessage("stopped");
  }
};
