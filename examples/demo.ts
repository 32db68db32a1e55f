// Copyright 2026 the percpu authors. MIT license.

// The main job: `deno task demo`. Boots a model AArch64 machine shaped like a
// real SoC with one Worker thread per PE, runs per-core counters and a shared
// SpinMutex-guarded histogram in exception-free sections while PE 0 sends
// SGIs whose handlers take the same lock, shows progress, prints a per-PE
// table, and checks that every total is exact. Exit status: 0 when every
// check passes, 1 when something was lost, duplicated or stuck, 2 for a bad
// command line. `--help` lists the options.

import { SharedPerCpu, SpinMutex } from "../mod.ts";
import { AARCH64_PRESETS, Aarch64Machine } from "../platform/aarch64/mod.ts";
import { type DemoOptions, parseDemoOptions, USAGE, UsageError } from "./_demo_options.ts";
import {
  CONTROL,
  CONTROL_COUNT,
  histogramLength,
  type PeReport,
  type PeSetup,
  STAT,
  STAT_COUNT,
} from "./_demo_layout.ts";
import { formatTable, Progress } from "./_demo_output.ts";

const SOCS = [...Object.keys(AARCH64_PRESETS), "qemu-virt"];

function listSocs(): void {
  console.log("SoC presets (--soc NAME):");
  for (const [name, preset] of Object.entries(AARCH64_PRESETS)) {
    console.log(`  ${name.padEnd(10)} ${preset.soc}: ${preset.cores}, ${preset.mpidrs.length} PEs`);
  }
  console.log("  qemu-virt  QEMU 'virt' board with --cpus N PEs (Aff0 = n mod 16, Aff1 = n / 16)");
}

function boot(options: DemoOptions): Aarch64Machine {
  return options.soc === "qemu-virt"
    ? new Aarch64Machine({ preset: "qemu-virt", cpus: options.cpus })
    : new Aarch64Machine({ preset: options.soc as keyof typeof AARCH64_PRESETS });
}

interface Finished {
  mpidr: bigint;
}

async function main(args: string[]): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoOptions(args, SOCS);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.list) {
    listSocs();
    return 0;
  }

  const machine = boot(options);
  if (options.fault !== "none" && machine.coreCount < 2) {
    console.error(
      `Cannot run the demo as '--fault ${options.fault}' needs a PE 1 to inject it on: this machine has 1 PE`,
    );
    return 2;
  }
  // This thread only watches: every PE runs in a Worker of its own.
  machine.close();
  const peCount = machine.coreCount;
  const name = options.soc === "qemu-virt"
    ? `QEMU virt, ${plural(peCount, "CPU")}`
    : AARCH64_PRESETS[options.soc as keyof typeof AARCH64_PRESETS].soc;
  console.log(
    `Booting ${name}: ${plural(peCount, "PE")}, one Worker each, ${
      plural(options.ops, "operation")
    } per PE, PE 0 sends ${plural(options.ipiRate, "SGI")} per 1000 operations`,
  );
  if (options.fault === "lost-update") {
    console.log("Injected fault: PE 1 skips one histogram update; the checks must catch it");
  } else if (options.fault === "stuck-lock") {
    console.log(
      `Injected fault: PE 1 takes the lock and never releases it; the PEs waiting for it give up after ${
        options.timeoutSeconds / 2
      } s (half of --timeout)`,
    );
  }

  const stats = new SharedPerCpu(machine, { length: STAT_COUNT });
  const histogram = new Int32Array(new SharedArrayBuffer(4 * histogramLength(peCount)));
  const mutex = new SpinMutex(histogram);
  const sentTo = new Int32Array(new SharedArrayBuffer(4 * peCount));
  const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_COUNT));
  // --timeout bounds the boot (until every PE is ready), then again the run:
  // a loaded machine may take seconds to start six Workers.
  const timeoutMs = options.timeoutSeconds * 1000;
  let deadline = performance.now() + timeoutMs;
  let running = false;

  const workers: Worker[] = [];
  const finished: Promise<Finished>[] = [];
  for (let pe = 0; pe < peCount; pe++) {
    const worker = new Worker(new URL("./_demo_worker.ts", import.meta.url), { type: "module" });
    workers.push(worker);
    finished.push(
      new Promise((resolve, reject) => {
        worker.onmessage = ({ data }: MessageEvent<PeReport>) => {
          if ("error" in data) reject(new Error(`PE ${data.pe} failed: ${data.error}`));
          else resolve({ mpidr: data.mpidr });
        };
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`PE ${pe} failed: ${event.message}`));
        };
      }),
    );
    const setup: PeSetup = {
      pe,
      ops: options.ops,
      ipiRate: options.ipiRate,
      machine: machine.handle,
      stats: stats.handle,
      mutex: mutex.handle,
      histogram,
      sentTo,
      control,
      // Half the run's timeout, so that a stuck lock is reported by the PEs
      // waiting for it, with the core that holds it.
      lockTimeoutMs: options.timeoutSeconds * 500,
      bootTimeoutMs: options.timeoutSeconds * 1000,
      fault: options.fault,
    };
    worker.postMessage(setup);
  }

  const progress = new Progress(peCount * options.ops, Deno.stdout.isTerminal());
  let results: Finished[];
  try {
    results = await runToEnd(finished, () => {
      progress.show(stats.sum(STAT.OPS), stats.sum(STAT.IRQS));
      // When every PE has done its operations, PE 0 has sent its last SGI:
      // let the PEs take what is pending and stop.
      if (Atomics.load(control, CONTROL.DONE) === peCount) {
        Atomics.store(control, CONTROL.STOP, 1);
      }
      if (!running && Atomics.load(control, CONTROL.READY) === peCount) {
        running = true;
        deadline = performance.now() + timeoutMs;
      }
      return performance.now() < deadline;
    });
  } catch (error) {
    progress.end();
    for (const worker of workers) worker.terminate();
    const done = stats.values(STAT.OPS).map((ops, pe) => `PE ${pe}: ${ops}`).join(", ");
    console.error(`\nFAILED: ${(error as Error).message}`);
    console.error(`Operations done when it stopped (of ${options.ops} each): ${done}`);
    return 1;
  }
  progress.show(stats.sum(STAT.OPS), stats.sum(STAT.IRQS));
  progress.end();

  printTable(results, stats);
  const failures = printChecks(options, stats, histogram, sentTo, mutex);
  if (failures > 0) {
    console.log(`\nresult: FAILED, ${failures} check(s) did not hold`);
    return 1;
  }
  console.log("\nresult: every check passed");
  return 0;
}

/** Waits for every PE, calling `tick` every 100 ms until it returns false (timeout). */
async function runToEnd<T>(finished: Promise<T>[], tick: () => boolean): Promise<T[]> {
  let timer: ReturnType<typeof setInterval> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (!tick()) {
        reject(new Error("timed out: a PE is stuck (deadlock or lost wake-up); see --timeout"));
      }
    }, 100);
  });
  try {
    return await Promise.race([Promise.all(finished), stuck]);
  } finally {
    clearInterval(timer);
  }
}

function printTable(results: Finished[], stats: SharedPerCpu): void {
  console.log();
  console.log(formatTable(results.map(({ mpidr }, pe) => ({
    PE: pe,
    MPIDR_EL1: `0x${mpidr.toString(16)}`,
    operations: stats.load(pe, STAT.OPS),
    "IRQs taken": stats.load(pe, STAT.IRQS),
    "lock acquisitions": stats.load(pe, STAT.LOCKS),
    "lock waits": stats.load(pe, STAT.WAITS),
    "ms waiting": (stats.load(pe, STAT.WAIT_US) / 1000).toFixed(1),
  }))));
}

/**
 * Compares an actual value per PE with the expected one; returns the PEs
 * that differ, as "PE 1: 199, expected 200".
 */
function mismatches(
  actual: (pe: number) => number,
  expected: (pe: number) => number,
  peCount: number,
): string[] {
  const wrong: string[] = [];
  for (let pe = 0; pe < peCount; pe++) {
    if (actual(pe) !== expected(pe)) {
      wrong.push(`PE ${pe}: ${actual(pe)}, expected ${expected(pe)}`);
    }
  }
  return wrong;
}

/** Prints one line per check; returns how many failed. */
function printChecks(
  options: DemoOptions,
  stats: SharedPerCpu,
  histogram: Int32Array,
  sentTo: Int32Array,
  mutex: SpinMutex<Int32Array>,
): number {
  const peCount = stats.coreCount;
  const ops = (pe: number): number => stats.load(pe, STAT.OPS);
  const irqs = (pe: number): number => stats.load(pe, STAT.IRQS);
  const totalIrqs = stats.sum(STAT.IRQS);
  const expectedTotal = peCount * options.ops + totalIrqs;
  const checks: [string[], string][] = [
    [
      mismatches(ops, () => options.ops, peCount),
      `every PE did ${options.ops} operations, by its per-core counter`,
    ],
    [
      mismatches((pe) => histogram[2 * pe] as number, () => options.ops, peCount),
      "the locked histogram counted every PE's operations exactly",
    ],
    [
      mismatches(irqs, (pe) => sentTo[pe] as number, peCount),
      `every SGI that became pending was taken once, on its PE (${
        stats.sum(STAT.SENT)
      } became pending and ${totalIrqs} were taken; ${
        stats.sum(STAT.COALESCED)
      } more merged with one still pending for the same PE)`,
    ],
    [
      mismatches((pe) => histogram[2 * pe + 1] as number, irqs, peCount),
      "the locked histogram counted every handler's update exactly",
    ],
    [
      histogram[2 * peCount] === expectedTotal
        ? []
        : [`${histogram[2 * peCount]} counted, expected ${expectedTotal}`],
      `the histogram total is every operation plus every interrupt taken (${expectedTotal})`,
    ],
    [
      mismatches((pe) => stats.load(pe, STAT.LOCKS), (pe) => ops(pe) + irqs(pe), peCount),
      "every operation and every handler took the lock once",
    ],
    [
      mismatches((pe) => stats.load(pe, STAT.UNEXPECTED), () => 0, peCount),
      "no unexpected interrupt was taken",
    ],
    [mutex.isLocked() ? ["it is still locked"] : [], "the lock is free at the end"],
  ];
  console.log();
  for (const [wrong, text] of checks) {
    console.log(
      wrong.length === 0 ? `check ok    : ${text}` : `check FAILED: ${text}: ${wrong.join("; ")}`,
    );
  }
  return checks.filter(([wrong]) => wrong.length > 0).length;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
