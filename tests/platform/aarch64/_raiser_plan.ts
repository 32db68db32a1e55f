// Copyright 2026 the percpu authors. MIT license.

// What _raiser_worker.ts raises on PE 0, and the shared words in which it
// accounts for each raise. One slot per distinct interrupt (its source is
// always the Worker's PE): IRQ INTID n (an SGI below 16) is slot n, FIQ
// INTID n is slot FIQ_SLOTS + n, the SError is slot SERROR_SLOT.
//
// Shared Int32 words:
//   [0, SLOTS)            raises of each slot that returned true
//   [SLOTS, 2 × SLOTS)    raises of each slot that returned false (coalesced)
//   GO                    set by the test: start raising
//   BATCH                 batches of ROUNDS_PER_BATCH rounds the Worker has raised
//   CHECKED               batches the test has taken and checked; the Worker
//                         waits for it before it raises the next batch

import type { Aarch64Interrupt, Aarch64InterruptKind } from "../../../platform/aarch64/mod.ts";

const FIQ_SLOTS = 1024;
const SERROR_SLOT = 2048;
export const SLOTS = 2049;
export const GO = 2 * SLOTS;
export const BATCH = GO + 1;
export const CHECKED = GO + 2;
/** Rounds of the plan: 4672 raises of 126 distinct interrupts in all. */
export const ROUNDS = 1200;
/**
 * Small on purpose: an interrupt left pending with its summary bit clear is
 * announced again by the next post of its kind, so it shows only at a check
 * at rest, after the batch in which it was lost.
 */
export const ROUNDS_PER_BATCH = 2;
export const BATCHES = ROUNDS / ROUNDS_PER_BATCH;

/** One raise of the plan: an SGI when `kind` is "sgi". */
export interface PlannedRaise {
  kind: Aarch64InterruptKind | "sgi";
  intid: number;
}

/**
 * The raises of round `round`, in order. Some are repeated at once, so that
 * the second usually finds the first still pending and is coalesced.
 */
export function planOf(round: number): PlannedRaise[] {
  const spi = { kind: "irq", intid: 32 + (round * 7) % 96 } as const; // SPIs 32–127
  const sgi = { kind: "sgi", intid: round % 16 } as const;
  const raises: PlannedRaise[] = [spi, spi, sgi];
  if (round % 3 === 0) raises.push(sgi);
  if (round % 4 === 0) {
    const fiq = { kind: "fiq", intid: 16 + round % 48 } as const; // PPIs and SPIs 16–63
    raises.push(fiq, fiq);
  }
  if (round % 25 === 0) raises.push({ kind: "serror", intid: 0 });
  if (round % 100 === 0) raises.push({ kind: "irq", intid: 1019 }, { kind: "irq", intid: 1019 });
  return raises;
}

/** The slot of a planned raise. */
export function slotOfRaise(raise: PlannedRaise): number {
  if (raise.kind === "serror") return SERROR_SLOT;
  return raise.kind === "fiq" ? FIQ_SLOTS + raise.intid : raise.intid;
}

/** The slot of a taken interrupt. */
export function slotOfInterrupt(event: Aarch64Interrupt): number {
  if (event.kind === "serror") return SERROR_SLOT;
  return event.kind === "fiq" ? FIQ_SLOTS + event.intid : event.intid;
}

/** A slot's name, for messages. */
export function nameOfSlot(slot: number): string {
  if (slot === SERROR_SLOT) return "SError";
  return slot >= FIQ_SLOTS ? `FIQ ${slot - FIQ_SLOTS}` : `IRQ ${slot}`;
}
