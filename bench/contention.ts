// Copyright 2026 the percpu authors. MIT license.

// Contended locks across Workers: 1, 2 and 4 Workers each do lock -> plain
// (non-atomic) increment -> unlock on one shared counter, for each SpinMutex
// waiting mode and for a textbook three-state futex mutex (Drepper, "Futexes
// Are Tricky") written here as the reference peer. Prints operations per
// second, the ratio to the futex peer in the same round, and fairness (fewest
// ÷ most operations per Worker), as medians over the rounds, and checks that
// every counter ends exact (exit code 1 if not).
//
//   deno run -A bench/contention.ts [--rounds 5] [--ms 150] [--workers 1,2,4]
//                                   [--spins 0,16] [--fair-spins 256,4096]
//
// Candidates are interleaved within each round in a rotating order, because
// this machine switches cost levels for seconds (bench/README.md). --spins
// and --fair-spins add entries with other spin counts, to choose the defaults.
// Each SpinMutex Worker runs 64 operations per exceptionFree section.

import { parseArgs } from "node:util";
import { SpinMutex } from "../mod.ts";
import { type ContentionSetup, counterIndex, lockIndex } from "./_contention_layout.ts";
import {
  parseRoundOptions,
  printResults,
  ROUND_OPTIONS,
  runRounds,
  WorkerPool,
} from "./_workers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    ...ROUND_OPTIONS,
    spins: { type: "string", default: "" },
    "fair-spins": { type: "string", default: "" },
  },
});
const { rounds, ms, workerCounts } = parseRoundOptions(values);

const spin = SpinMutex.DEFAULT_SPIN;
const fairSpin = SpinMutex.DEFAULT_FAIR_SPIN;
const candidates: { kind: string; spin: number; label: string }[] = [
  { kind: "futex", spin: 0, label: "futex (Drepper), the reference" },
  { kind: "plain", spin, label: `park (default: spin ${spin}, then wait), withLock()` },
  { kind: "plain-guard", spin, label: "park, lock() + guard.unlock()" },
  { kind: "plain", spin: Infinity, label: "spin (spin: Infinity), withLock()" },
  { kind: "fair", spin: fairSpin, label: `fair (ticket, spin ${fairSpin}), withLock()` },
];
for (const extra of values.spins.split(",").filter((s) => s !== "").map(Number)) {
  candidates.push({ kind: "plain", spin: extra, label: `park, spin ${extra}, withLock()` });
}
for (const extra of values["fair-spins"].split(",").filter((s) => s !== "").map(Number)) {
  candidates.push({ kind: "fair", spin: extra, label: `fair, spin ${extra}, withLock()` });
}

const words = new SharedArrayBuffer(lockIndex(candidates.length) * 4);
const counters = new Int32Array(words);
const setup: ContentionSetup = {
  words,
  kinds: candidates.map((c) => c.kind),
  spins: candidates.map((c) => c.spin),
};
const pool = await WorkerPool.start(
  new URL("./_contention_worker.ts", import.meta.url),
  Math.max(...workerCounts),
  setup,
);
try {
  const labels = candidates.map((c) => c.label);
  const results = await runRounds(pool, {
    labels,
    rounds,
    ms,
    workerCounts,
    snapshot: (k) => [Atomics.load(counters, counterIndex(k))],
  });
  printResults(results, {
    rounds,
    ms,
    labels,
    candidate: "lock",
    versus: "vs futex, same round",
    fairness: true,
  });
  console.log("check: every counter ended exact");
} finally {
  pool.close();
}
