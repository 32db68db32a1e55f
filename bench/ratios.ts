// Copyright 2026 the percpu authors. MIT license.

// Runs `deno bench --json` on the given bench files several times, each in a
// fresh process, and prints each entry's time as a ratio to its group's
// baseline: the median over the runs and the lowest and highest ratio seen.
// Ratios, not times, because this machine's speed drifts (bench/README.md).
//
//   deno run --allow-run --allow-read bench/ratios.ts [--runs N] [--v8-flags F] [bench files...]
//
// --v8-flags is passed on to deno bench: `--v8-flags=--harmony-struct` adds
// V8's native Atomics.Mutex to bench/spin_mutex_bench.ts.

import { parseArgs } from "node:util";
import { median } from "./_workers.ts";

interface BenchResult {
  group?: string;
  name: string;
  baseline: boolean;
  results: { ok?: { avg: number } }[];
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    "v8-flags": { type: "string" },
  },
  allowPositionals: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(
    `Cannot run the benches as '--runs' must be a positive integer: current value is ${values.runs}`,
  );
  Deno.exit(2);
}
const files = positionals.length > 0 ? positionals : ["bench/"];
const v8Flags = values["v8-flags"] === undefined ? [] : [`--v8-flags=${values["v8-flags"]}`];

// ratios.get(group).get(name) = one ratio per run
const ratios = new Map<string, Map<string, number[]>>();
const baselines = new Map<string, string>();
let header = "";

for (let run = 1; run <= runs; run++) {
  console.error(`run ${run} of ${runs}: deno bench ${files.join(" ")}`);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", "--allow-read", "--allow-run", ...v8Flags, ...files],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) {
    console.error(`Cannot summarise as 'deno bench' failed in run ${run} with code ${output.code}`);
    Deno.exit(1);
  }
  const report = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    runtime: string;
    cpu: string;
    benches: BenchResult[];
  };
  header = `${report.runtime}, CPU ${report.cpu}`;
  const byGroup = Map.groupBy(report.benches, (bench) => bench.group ?? bench.name);
  for (const [group, benches] of byGroup) {
    const baseline = benches.find((bench) => bench.baseline);
    const base = baseline?.results[0]?.ok?.avg;
    if (baseline === undefined || base === undefined) continue;
    baselines.set(group, baseline.name);
    const entries = ratios.get(group) ?? new Map<string, number[]>();
    ratios.set(group, entries);
    for (const bench of benches) {
      const avg = bench.results[0]?.ok?.avg;
      if (bench === baseline || avg === undefined) continue;
      entries.set(bench.name, [...(entries.get(bench.name) ?? []), avg / base]);
    }
  }
}

console.log(`${new Date().toISOString().slice(0, 10)}, ${header}, ${runs} runs`);
console.log("| group | entry | vs baseline (median) | lowest … highest |");
console.log("| --- | --- | --- | --- |");
for (const [group, entries] of ratios) {
  for (const [name, values] of entries) {
    const low = Math.min(...values).toFixed(2);
    const high = Math.max(...values).toFixed(2);
    console.log(
      `| ${group} | ${name} vs ${baselines.get(group)} | ${
        median(values).toFixed(2)
      }× | ${low} … ${high} |`,
    );
  }
}
