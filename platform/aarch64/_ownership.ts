// Copyright 2026 the percpu authors. MIT license.

// Which agent runs each PE: the OWNER word of its block, 0 while no agent
// does. A PE belongs to the first agent that claims it, until that agent
// releases it (Aarch64Machine.close()).

import { type Layout, OWNER } from "./_layout.ts";

function ownerIndex(layout: Layout, pe: number): number {
  return layout.base + pe * layout.stride + OWNER;
}

/** Whether `agent` runs `pe`. */
export function owns(layout: Layout, pe: number, agent: number): boolean {
  return Atomics.load(layout.words, ownerIndex(layout, pe)) === agent;
}

/** Makes `agent` the owner of `pe` unless another agent is; returns whether `agent` owns it now. */
export function claim(layout: Layout, pe: number, agent: number): boolean {
  const index = ownerIndex(layout, pe);
  const owner = Atomics.compareExchange(layout.words, index, 0, agent);
  return owner === 0 || owner === agent;
}

/** Frees `pe`, whoever owns it; returns whether an agent owned it. */
export function forceRelease(layout: Layout, pe: number): boolean {
  return Atomics.exchange(layout.words, ownerIndex(layout, pe), 0) !== 0;
}

/** Gives back every PE that `agent` owns. */
export function releaseAll(layout: Layout, agent: number): void {
  for (let pe = 0; pe < layout.count; pe++) {
    Atomics.compareExchange(layout.words, ownerIndex(layout, pe), agent, 0);
  }
}
