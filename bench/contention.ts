// Copyright 2026 the percpu authors. MIT license.

// Contended locks across Workers: 1, 2 and 4 Workers each do lock -> plain
// (non-atomic) increment -> unlock on one shared counter, for each SpinMutex
// waiting mode and for a textbook three-state futex mutex (Drepper, "Futexes
// Are Tricky") written here as the reference peer. Prints operations per
// second, the ratio to the futex peer in the same round, and fairness (fewest
// ÷ most operations per Worker), as medians over the rounds; checks that every
// counter ends exact.
//
//   deno run -A bench/contention.ts [--rounds 5] [--ms 150] [--spins 0,16,256]
//
// The machine switches between cost levels for seconds (bench/README.md),
// so candidates are interleaved within each round, in a rotating order, and
// each figure is a median over rounds. --spins adds plain SpinMutex entries
// with those spin counts before parking, to choose the default.

import { parseArgs } from "node:util";
import { SpinMutex } from "../mod.ts";
import { CONTROL, counterSlot, type Setup, slot } from "./_contention_layout.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    ms: { type: "string", default: "150" },
    spins: { type: "string", default: "" },
    workers: { type: "string", default: "1,2,4" },
  },
});
const rounds = Number(values.rounds);
const ms = Number(values.ms);
const workerCounts = values.workers.split(",").map(Number);
const maxWorkers = Math.max(...workerCounts);
if (
  !Number.isInteger(rounds) || rounds < 1 || !(ms > 0) ||
  workerCounts.some((n) => !Number.isInteger(n) || n < 1 || n > CONTROL.MAX_WORKERS)
) {
  console.error(
    `Cannot run the contention bench as '--rounds' must be a positive integer, '--ms' positive and '--workers' from 1 to ${CONTROL.MAX_WORKERS}: current values are ${values.rounds}, ${values.ms}, ${values.workers}`,
  );
  Deno.exit(2);
}

const kinds = ["futex", "plain", "plain-guard", "plain", "fair"];
const spins = [0, SpinMutex.DEFAULT_SPIN, SpinMutex.DEFAULT_SPIN, Infinity, SpinMutex.DEFAULT_SPIN];
const labels = [
  "futex (Drepper, reference)",
  `SpinMutex park (default: spin ${SpinMutex.DEFAULT_SPIN}, then wait), withLock()`,
  "SpinMutex park, lock() + guard.unlock()",
  "SpinMutex spin (spin: Infinity), withLock()",
  `SpinMutex fair (ticket), withLock()`,
];
for (const extra of values.spins.split(",").filter((s) => s !== "").map(Number)) {
  kinds.push("plain");
  spins.push(extra);
  labels.push(`SpinMutex park, spin ${extra}, withLock()`);
}

const control = new SharedArrayBuffer(CONTROL.LENGTH * 4);
const ctl = new Int32Array(control);
const words = new SharedArrayBuffer(slot(kinds.length) * 4);
const i32 = new Int32Array(words);

const workers: Worker[] = [];
try {
  for (let id = 0; id < maxWorkers; id++) {
    const worker = new Worker(new URL("./_contention_worker.ts", import.meta.url), {
      type: "module",
    });
    workers.push(worker);
    const ready = nextMessage(worker);
    worker.postMessage({ control, words, id, kinds, spins } satisfies Setup);
    await ready;
  }

  // results[workers][candidate] = one entry per round
  const throughput = new Map<number, number[][]>();
  const ratio = new Map<number, number[][]>();
  const fairness = new Map<number, number[][]>();
  for (const n of workerCounts) {
    throughput.set(n, kinds.map(() => []));
    ratio.set(n, kinds.map(() => []));
    fairness.set(n, kinds.map(() => []));
  }
  let command = 0;
  for (let round = 0; round < rounds; round++) {
    for (const n of workerCounts) {
      const opsPerSecond: number[] = [];
      for (let k = 0; k < kinds.length; k++) {
        const candidate = (k + round) % kinds.length;
        const { total, perWorker, seconds } = await runOnce(++command, candidate, n);
        opsPerSecond[candidate] = total / seconds;
        throughput.get(n)![candidate]!.push(total / seconds);
        fairness.get(n)![candidate]!.push(Math.min(...perWorker) / Math.max(...perWorker));
      }
      for (let k = 0; k < kinds.length; k++) {
        ratio.get(n)![k]!.push(opsPerSecond[k]! / opsPerSecond[0]!);
      }
    }
    console.error(`round ${round + 1} of ${rounds} done`);
  }

  console.log(
    `${
      new Date().toISOString().slice(0, 10)
    }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds of ${ms} ms, medians`,
  );
  console.log("| Workers | lock | Mops/s | vs futex (same round) | fairness (fewest ÷ most) |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const n of workerCounts) {
    for (let k = 0; k < kinds.length; k++) {
      console.log(
        `| ${n} | ${labels[k]} | ${(median(throughput.get(n)![k]!) / 1e6).toFixed(2)} | ${
          median(ratio.get(n)![k]!).toFixed(2)
        }× | ${n === 1 ? "–" : median(fairness.get(n)![k]!).toFixed(2)} |`,
      );
    }
  }
  console.log("check: every counter ended exact");
} finally {
  Atomics.store(ctl, CONTROL.COMMAND, -1);
  Atomics.notify(ctl, CONTROL.COMMAND);
  for (const worker of workers) worker.terminate();
}

async function runOnce(
  command: number,
  candidate: number,
  n: number,
): Promise<{ total: number; perWorker: number[]; seconds: number }> {
  const counterAt = counterSlot(candidate);
  const before = Atomics.load(i32, counterAt);
  Atomics.store(ctl, CONTROL.CANDIDATE, candidate);
  Atomics.store(ctl, CONTROL.WORKERS, n);
  Atomics.store(ctl, CONTROL.STARTED, 0);
  Atomics.store(ctl, CONTROL.DONE, 0);
  Atomics.store(ctl, CONTROL.STOP, 0);
  Atomics.store(ctl, CONTROL.COMMAND, command);
  Atomics.notify(ctl, CONTROL.COMMAND);
  while (Atomics.load(ctl, CONTROL.STARTED) < n) await delay(1);
  const start = performance.now();
  Atomics.store(ctl, CONTROL.GO, command);
  await delay(ms);
  Atomics.store(ctl, CONTROL.STOP, 1);
  const seconds = (performance.now() - start) / 1000;
  for (
    let done = Atomics.load(ctl, CONTROL.DONE);
    done < n;
    done = Atomics.load(ctl, CONTROL.DONE)
  ) {
    const wait = Atomics.waitAsync(ctl, CONTROL.DONE, done, 10_000);
    if (wait.async && await wait.value === "timed-out") {
      throw new Error(`Cannot finish the run as a Worker did not stop within 10 s`);
    }
  }
  const perWorker = Array.from({ length: n }, (_, id) => Atomics.load(ctl, CONTROL.OPS + id));
  const total = perWorker.reduce((a, b) => a + b, 0);
  const counted = Atomics.load(i32, counterAt) - before;
  if (counted !== total) {
    console.error(
      `check FAILED: ${
        labels[candidate]
      } with ${n} Workers counted ${counted} for ${total} operations`,
    );
    Deno.exit(1);
  }
  return { total, perWorker, seconds };
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`Cannot start a Worker: ${event.message}`));
    };
  });
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
