// Copyright 2026 the percpu authors. MIT license.
/// <reference lib="deno.worker" />

// One Worker of bench/per_cpu_counters.ts: each candidate counts one event
// per operation somewhere in shared memory.

import { SharedPerCpu, type SharedPerCpuHandle } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";
import { type Candidate, MAX_WORKERS, serve } from "./_workers.ts";

/** The setup that per_cpu_counters.ts sends. */
export interface CountersSetup {
  /** Word 0: the shared counter; words 1..MAX_WORKERS: adjacent per-core slots. */
  words: SharedArrayBuffer;
  /** Padded per-core slots (core = Worker id + 1; core 0 is the main thread). */
  perCpu: SharedPerCpuHandle;
}

const BATCH = 256;

// Each candidate has a loop of its own, so that V8 inlines its one counting
// statement instead of calling a shared, polymorphic callback.
await serve<CountersSetup>(({ words, perCpu }, id) => {
  const i32 = new Int32Array(words);
  const core = id + 1;
  const platform = new MockPlatform({ cores: MAX_WORKERS + 1 });
  const counters = SharedPerCpu.attach(platform, perCpu);
  const slot = platform.runOn(core, () => counters.get());
  const shared: Candidate = (stopped) => {
    let ops = 0;
    for (; !stopped(); ops += BATCH) for (let i = 0; i < BATCH; i++) Atomics.add(i32, 0, 1);
    return ops;
  };
  const adjacentAtomic: Candidate = (stopped) => {
    let ops = 0;
    for (; !stopped(); ops += BATCH) for (let i = 0; i < BATCH; i++) Atomics.add(i32, core, 1);
    return ops;
  };
  const adjacentPlain: Candidate = (stopped) => {
    let ops = 0;
    for (; !stopped(); ops += BATCH) for (let i = 0; i < BATCH; i++) i32[core]!++;
    return ops;
  };
  const perCpuAdd: Candidate = (stopped) =>
    platform.runOn(core, () => {
      let ops = 0;
      for (; !stopped(); ops += BATCH) for (let i = 0; i < BATCH; i++) counters.add(1);
      return ops;
    });
  const perCpuAtomic: Candidate = (stopped) => {
    let ops = 0;
    for (; !stopped(); ops += BATCH) for (let i = 0; i < BATCH; i++) Atomics.add(slot, 0, 1);
    return ops;
  };
  const perCpuPlain: Candidate = (stopped) => {
    let ops = 0;
    for (; !stopped(); ops += BATCH) for (let i = 0; i < BATCH; i++) slot[0]!++;
    return ops;
  };
  return [shared, adjacentAtomic, adjacentPlain, perCpuAdd, perCpuAtomic, perCpuPlain];
});
