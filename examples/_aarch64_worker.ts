// Copyright 2026 the percpu authors. MIT license.

/// <reference lib="deno.worker" />

// One PE of the machine in examples/aarch64_workers.ts.

import { Aarch64Machine, type Aarch64MachineHandle } from "@percpu/percpu/platform/aarch64";

let machine: Aarch64Machine | undefined;
let taken = 0;

self.onmessage = (message: MessageEvent<{ handle: Aarch64MachineHandle; pe: number } | "stop">) => {
  if (message.data === "stop") {
    // Take what is still pending (bounded), give the PE back, then exit.
    for (let round = 0; round < 100 && machine?.wfi(0); round++);
    machine?.close();
    self.postMessage(taken);
    self.close();
    return;
  }
  machine = Aarch64Machine.attach(message.data.handle, message.data.pe); // this Worker is PE `pe`
  machine.setVector("irq", () => taken++); // runs on this PE, masked, with a token
  machine.daifClr(0b0010); // unmask IRQs: SGIs are now taken between event-loop tasks
  self.postMessage("ready");
};
