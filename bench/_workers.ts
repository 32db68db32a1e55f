// Copyright 2026 the percpu authors. MIT license.

// The harness of the multi-Worker benches (contention.ts, per_cpu_counters.ts):
// a pool of Workers that run one candidate at a time for a fixed time, all
// started at once, and report how many operations each made. The main thread
// interleaves candidates within each round and takes medians over rounds,
// because this machine switches cost levels for seconds (bench/README.md).

/** Indices of the control words, each on a cache line of its own. */
const CONTROL = {
  /** Round number of the current command; negative: exit. */
  COMMAND: 0,
  /** Which candidate to run, and how many Workers take part (ids below it). */
  CANDIDATE: 1,
  WORKERS: 2,
  /** Workers that saw the command. */
  STARTED: 3,
  /** Set to the command number to start everyone at once. */
  GO: 4,
  /** Non-zero: stop. */
  STOP: 32,
  /** Workers that finished. */
  DONE: 64,
  /** Operations per Worker, from here. */
  OPS: 96,
  LENGTH: 128,
} as const;

/** The most Workers a pool can have. */
export const MAX_WORKERS = 16;

/** What every Worker receives first: its id, the control words, and the bench's own setup. */
export interface WorkerSetup<S> {
  id: number;
  control: SharedArrayBuffer;
  setup: S;
}

/** One candidate as a Worker runs it: operations until `stopped()` says so. */
export type Candidate = (stopped: () => boolean) => number;

/** A finished run of one candidate. */
export interface Run {
  /** Operations per Worker. */
  perWorker: number[];
  /** Total operations per second. */
  opsPerSecond: number;
  /** Fewest ÷ most operations per Worker (1 with one Worker). */
  fairness: number;
}

/** Main side: Workers of one bench script. */
export class WorkerPool {
  #workers: Worker[] = [];
  #ctl = new Int32Array(new SharedArrayBuffer(CONTROL.LENGTH * 4));
  #command = 0;

  /** Starts `count` Workers of `module` and sends each `setup`; resolves when all are ready. */
  static async start<S>(module: URL, count: number, setup: S): Promise<WorkerPool> {
    const pool = new WorkerPool();
    try {
      for (let id = 0; id < count; id++) {
        const worker = new Worker(module, { type: "module" });
        pool.#workers.push(worker);
        await new Promise((resolve, reject) => {
          worker.onmessage = resolve;
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`Cannot start Worker ${id}: ${event.message}`));
          };
          const message: WorkerSetup<S> = {
            id,
            control: pool.#ctl.buffer as SharedArrayBuffer,
            setup,
          };
          worker.postMessage(message);
        });
      }
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  /** Runs `candidate` on the first `workers` Workers for about `ms` milliseconds. */
  async run(candidate: number, workers: number, ms: number): Promise<Run> {
    const ctl = this.#ctl;
    const command = ++this.#command;
    Atomics.store(ctl, CONTROL.CANDIDATE, candidate);
    Atomics.store(ctl, CONTROL.WORKERS, workers);
    Atomics.store(ctl, CONTROL.STARTED, 0);
    Atomics.store(ctl, CONTROL.DONE, 0);
    Atomics.store(ctl, CONTROL.STOP, 0);
    Atomics.store(ctl, CONTROL.COMMAND, command);
    Atomics.notify(ctl, CONTROL.COMMAND);
    const deadline = performance.now() + 10_000;
    while (Atomics.load(ctl, CONTROL.STARTED) < workers) {
      if (performance.now() > deadline) throw new Error("Cannot run as a Worker did not start");
      await delay(1);
    }
    const start = performance.now();
    Atomics.store(ctl, CONTROL.GO, command);
    await delay(ms);
    Atomics.store(ctl, CONTROL.STOP, 1);
    const seconds = (performance.now() - start) / 1000;
    for (let done = Atomics.load(ctl, CONTROL.DONE); done < workers;) {
      const wait = Atomics.waitAsync(ctl, CONTROL.DONE, done, 10_000);
      if (wait.async && await wait.value === "timed-out") {
        throw new Error("Cannot finish the run as a Worker did not stop within 10 s");
      }
      done = Atomics.load(ctl, CONTROL.DONE);
    }
    const perWorker = Array.from(
      { length: workers },
      (_, id) => Atomics.load(ctl, CONTROL.OPS + id),
    );
    const total = perWorker.reduce((a, b) => a + b, 0);
    return {
      perWorker,
      opsPerSecond: total / seconds,
      fairness: Math.min(...perWorker) / Math.max(...perWorker),
    };
  }

  /** Stops and terminates every Worker. */
  close(): void {
    Atomics.store(this.#ctl, CONTROL.COMMAND, -1);
    Atomics.notify(this.#ctl, CONTROL.COMMAND);
    for (const worker of this.#workers) worker.terminate();
  }
}

/**
 * Worker side: receives the setup, builds the candidates with `prepare`,
 * then runs commands until the pool closes.
 */
export async function serve<S>(
  prepare: (setup: S, id: number) => Candidate[],
): Promise<void> {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
    close(): void;
  };
  const { id, control, setup } = await new Promise<WorkerSetup<S>>((resolve) => {
    scope.onmessage = (event) => resolve(event.data);
  });
  const ctl = new Int32Array(control);
  const candidates = prepare(setup, id);
  const stopped = (): boolean => Atomics.load(ctl, CONTROL.STOP) !== 0;
  scope.postMessage("ready");
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, CONTROL.COMMAND, seen);
    seen = Atomics.load(ctl, CONTROL.COMMAND);
    if (seen < 0) break;
    if (id >= Atomics.load(ctl, CONTROL.WORKERS)) continue;
    const candidate = candidates[Atomics.load(ctl, CONTROL.CANDIDATE)] as Candidate;
    Atomics.add(ctl, CONTROL.STARTED, 1);
    while (Atomics.load(ctl, CONTROL.GO) !== seen) Atomics.pause();
    Atomics.store(ctl, CONTROL.OPS + id, candidate(stopped));
    Atomics.add(ctl, CONTROL.DONE, 1);
    Atomics.notify(ctl, CONTROL.DONE);
  }
  scope.close();
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Parses `--rounds`, `--ms` and `--workers` the same way in every script. */
/** The command-line options every multi-Worker bench takes, for `parseArgs`. */
export const ROUND_OPTIONS = {
  rounds: { type: "string", default: "5" },
  ms: { type: "string", default: "150" },
  workers: { type: "string", default: "1,2,4" },
} as const;

export function parseRoundOptions(
  values: { rounds: string; ms: string; workers: string },
): { rounds: number; ms: number; workerCounts: number[] } {
  const rounds = Number(values.rounds);
  const ms = Number(values.ms);
  const workerCounts = values.workers.split(",").map(Number);
  if (
    !Number.isInteger(rounds) || rounds < 1 || !(ms > 0) ||
    workerCounts.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
  ) {
    throw new RangeError(
      `Cannot run the bench as '--rounds' must be a positive integer, '--ms' positive and '--workers' from 1 to ${MAX_WORKERS}: current values are ${values.rounds}, ${values.ms}, ${values.workers}`,
    );
  }
  return { rounds, ms, workerCounts };
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** What one candidate of a multi-Worker bench measured, over the rounds. */
export interface Results {
  /** One run per round. */
  runs: Run[];
  /** Per round: its throughput ÷ candidate 0's in the same round. */
  ratios: number[];
}

/** How {@linkcode runRounds} runs and checks the candidates. */
export interface RoundsOptions {
  /** One name per candidate; candidate 0 is the reference of the ratios. */
  labels: string[];
  rounds: number;
  ms: number;
  workerCounts: number[];
  /** The counters candidate `k` writes, read now. */
  snapshot: (k: number) => number[];
}

/**
 * Runs every candidate on the pool at every Worker count, `rounds` times,
 * in a rotating order within each round (this machine switches cost levels
 * for seconds); checks after each run that the candidate's counters grew by
 * exactly the operations the Workers reported (each counter wraps like an
 * `Int32`), and exits with code 1 if not.
 *
 * @returns Per Worker count, one {@linkcode Results} per candidate.
 */
export async function runRounds(
  pool: WorkerPool,
  options: RoundsOptions,
): Promise<Map<number, Results[]>> {
  const { labels, rounds, ms, workerCounts, snapshot } = options;
  const results = new Map(
    workerCounts.map((n) => [n, labels.map((): Results => ({ runs: [], ratios: [] }))]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const n of workerCounts) {
      const thisRound: Run[] = [];
      for (let i = 0; i < labels.length; i++) {
        const k = (i + round) % labels.length;
        const before = snapshot(k);
        const run = await pool.run(k, n, ms);
        const ops = run.perWorker.reduce((a, b) => a + b, 0);
        const after = snapshot(k);
        const counted = after.reduce((sum, value, j) => sum + ((value - before[j]!) >>> 0), 0);
        if (counted !== ops) {
          console.error(
            `check FAILED: ${labels[k]} with ${n} Workers counted ${counted} for ${ops}`,
          );
          Deno.exit(1);
        }
        thisRound[k] = run;
      }
      thisRound.forEach((run, k) => {
        const own = results.get(n)![k]!;
        own.runs.push(run);
        own.ratios.push(run.opsPerSecond / thisRound[0]!.opsPerSecond);
      });
    }
    console.error(`round ${round + 1} of ${rounds} done`);
  }
  return results;
}

/** What {@linkcode printResults} prints besides the figures. */
export interface TableOptions {
  rounds: number;
  ms: number;
  labels: string[];
  /** The column header of the candidates: `"lock"`. */
  candidate: string;
  /** The column header of the ratios: `"vs futex, same round"`. */
  versus: string;
  /** Whether to print fairness (fewest ÷ most operations per Worker). */
  fairness: boolean;
}

/** Prints the medians of {@linkcode runRounds}' results as a markdown table. */
export function printResults(results: Map<number, Results[]>, options: TableOptions): void {
  const { rounds, ms, labels } = options;
  console.log(
    `${
      new Date().toISOString().slice(0, 10)
    }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds of ${ms} ms, medians (lowest … highest ratio)`,
  );
  const fairness = options.fairness ? " fairness (fewest ÷ most) |" : "";
  console.log(`| Workers | ${options.candidate} | M ops/s | ${options.versus} |${fairness}`);
  console.log(`| --- | --- | --- | --- |${options.fairness ? " --- |" : ""}`);
  for (const [n, perCandidate] of results) {
    perCandidate.forEach(({ runs, ratios }, k) => {
      const rate = median(runs.map((run) => run.opsPerSecond)) / 1e6;
      const ratio = `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)} … ${
        Math.max(...ratios).toFixed(2)
      })`;
      const fair = options.fairness
        ? ` ${n === 1 ? "–" : median(runs.map((run) => run.fairness)).toFixed(2)} |`
        : "";
      console.log(`| ${n} | ${labels[k]} | ${rate.toFixed(2)} | ${ratio} |${fair}`);
    });
  }
}
