// Copyright 2026 the percpu authors. MIT license.
/// <reference lib="deno.worker" />

// A Worker for shared_per_cpu_test.ts: it is core `core` of a mock platform
// and adds 1 to its own slot `adds` times, then replies.

import { SharedPerCpu, type SharedPerCpuHandle } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";

/** The job: which core this Worker is, and how many increments to make. */
export interface CountJob {
  handle: SharedPerCpuHandle;
  core: number;
  adds: number;
}

self.onmessage = (event: MessageEvent<CountJob>) => {
  const { handle, core, adds } = event.data;
  const platform = new MockPlatform({ cores: handle.coreCount });
  const counters = SharedPerCpu.attach(platform, handle);
  platform.runOn(core, () => {
    for (let i = 0; i < adds; i++) counters.add(1);
  });
  postMessage("done");
};
