// Copyright 2026 the percpu authors. MIT license.

// A first demo on the mock platform: per-core counters in exception-free
// sections, with interrupts that count too, checked exactly at the end.

import { exceptionFree, ExceptionLock, PerCpu } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";

const cores = 4;
const opsPerCore = 10_000;
const platform = new MockPlatform({ cores });
const counts = PerCpu.from(platform, () => new ExceptionLock({ ops: 0, interrupts: 0 }));

function count(kind: "ops" | "interrupts"): void {
  exceptionFree(platform, (token) => counts.get().borrow(token)[kind]++);
}

for (let i = 0; i < opsPerCore; i++) {
  for (let core = 0; core < cores; core++) {
    platform.runOn(core, () => {
      exceptionFree(platform, (token) => {
        counts.get().borrow(token).ops++;
        // Every 100th operation raises an interrupt on the next core.
        if (i % 100 === 0) {
          platform.interrupt(() => count("interrupts"), { core: (core + 1) % cores });
        }
      });
    });
  }
}

const rows = counts.unsynchronizedValues().map((lock, core) =>
  exceptionFree(platform, (token) => ({ core, ...lock.borrow(token) }))
);
console.table(rows);
const expectedInterrupts = opsPerCore / 100;
const ok = rows.every((row) => row.ops === opsPerCore && row.interrupts === expectedInterrupts);
console.log(ok ? "check: every per-core total is exact" : "check FAILED: a count was lost");
if (!ok) Deno.exit(1);
