// Copyright 2026 the percpu authors. MIT license.

// The smallest AArch64 machine on Workers: this thread is PE 0 of a
// Raspberry Pi 4 (BCM2711), a Worker is PE 1; PE 0 sends it three SGIs, and
// the Worker's IRQ vector takes them while it idles.
//
//   deno run --allow-read examples/aarch64_workers.ts

import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";

const machine = new Aarch64Machine({ preset: "bcm2711" }); // this thread is PE 0
const worker = new Worker(new URL("./_aarch64_worker.ts", import.meta.url), { type: "module" });
const replies: unknown[] = [];
worker.onmessage = (message) => replies.push(message.data);

async function reply(count: number): Promise<void> {
  // Bounded: a Worker that never answers fails the example instead of hanging it.
  for (let waited = 0; replies.length < count; waited += 10) {
    if (waited > 5000) throw new Error("the Worker did not answer within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

worker.postMessage({ handle: machine.handle, pe: 1 });
await reply(1);
for (const intid of [1, 2, 3]) {
  machine.sendSgi(1, intid); // taken by PE 1 between its event-loop tasks
  await new Promise((resolve) => setTimeout(resolve, 20));
}
worker.postMessage("stop");
await reply(2);
console.log(`PE 1 took ${replies[1]} SGIs`); // PE 1 took 3 SGIs
if (replies[1] !== 3) Deno.exit(1);
