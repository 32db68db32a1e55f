// Copyright 2026 the percpu authors. MIT license.

// Counting events from several Workers: one shared Atomics.add counter (the
// baseline), per-core slots side by side (false sharing), and SharedPerCpu's
// per-core slots padded to 128 bytes, at 1, 2 and 4 Workers. Prints counts
// per second and the ratio to the shared counter in the same round (medians
// over rounds), and checks that every total is exact (exit code 1 if not).
//
//   deno run -A bench/per_cpu_counters.ts [--rounds 5] [--ms 150] [--workers 1,2,4]

import { parseArgs } from "node:util";
import { SharedPerCpu } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";
import type { CountersSetup } from "./_per_cpu_counters_worker.ts";
import {
  MAX_WORKERS,
  parseRoundOptions,
  printResults,
  ROUND_OPTIONS,
  runRounds,
  WorkerPool,
} from "./_workers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: ROUND_OPTIONS,
});
const { rounds, ms, workerCounts } = parseRoundOptions(values);

const labels = [
  "one shared counter, Atomics.add",
  "adjacent Int32 slots, Atomics.add",
  "adjacent Int32 slots, plain owner write",
  "SharedPerCpu.add() (padded, plain owner write)",
  "SharedPerCpu slot, Atomics.add (padded)",
  "SharedPerCpu.get() once, then plain slot[0]++ (padded)",
];
const words = new Int32Array(new SharedArrayBuffer((MAX_WORKERS + 1) * 4));
const counters = new SharedPerCpu(new MockPlatform({ cores: MAX_WORKERS + 1 }));
const setup: CountersSetup = {
  words: words.buffer as SharedArrayBuffer,
  perCpu: counters.handle,
};

/** The counters candidate `k` writes, one per slot. */
function snapshot(k: number): number[] {
  if (k === 0) return [Atomics.load(words, 0)];
  if (k <= 2) return Array.from(words.subarray(1), (_, i) => Atomics.load(words, i + 1));
  return counters.values();
}

const pool = await WorkerPool.start(
  new URL("./_per_cpu_counters_worker.ts", import.meta.url),
  Math.max(...workerCounts),
  setup,
);
try {
  const results = await runRounds(pool, { labels, rounds, ms, workerCounts, snapshot });
  printResults(results, {
    rounds,
    ms,
    labels,
    candidate: "counter",
    versus: "vs one shared counter, same round",
    fairness: false,
  });
  console.log("check: every total was exact");
} finally {
  pool.close();
}
