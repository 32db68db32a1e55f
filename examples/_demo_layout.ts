// Copyright 2026 the percpu authors. MIT license.

// What the demo's main thread and its PE Workers share: the counters each PE
// keeps in its own slot, the lock-guarded histogram, and the control words.

import type { SharedPerCpuHandle, SpinMutexHandle } from "../mod.ts";
import type { Aarch64MachineHandle } from "../platform/aarch64/mod.ts";
import type { DemoFault } from "./_demo_options.ts";

/** Counters in each PE's `SharedPerCpu` slot; only that PE writes them. */
export const STAT = {
  /** Operations done in exception-free sections. */
  OPS: 0,
  /** SGIs this PE's IRQ vector took. */
  IRQS: 1,
  /** Times this PE took the histogram lock. */
  LOCKS: 2,
  /** Times the lock was busy and this PE had to wait. */
  WAITS: 3,
  /** Microseconds spent waiting for the lock. */
  WAIT_US: 4,
  /** SGIs this PE sent that became pending. */
  SENT: 5,
  /** SGIs this PE sent that found the same one still pending (coalesced). */
  COALESCED: 6,
  /** Interrupts with an unexpected kind, INTID or source. */
  UNEXPECTED: 7,
} as const;
export const STAT_COUNT: number = Object.keys(STAT).length;

/** The SGI that PE 0 sends to the others. */
export const DEMO_SGI = 1;

/**
 * The histogram, guarded by the SpinMutex and updated with plain
 * (non-atomic) increments: bucket `2 × pe` counts the PE's operations,
 * `2 × pe + 1` its interrupts, and the last cell everything.
 */
export function histogramLength(coreCount: number): number {
  return 2 * coreCount + 1;
}

/**
 * Control words: how many PEs are ready to start (a start barrier, since
 * Workers take a while to boot), how many finished their operations, and
 * the stop flag.
 */
export const CONTROL = { READY: 0, DONE: 1, STOP: 2 } as const;
export const CONTROL_COUNT: number = Object.keys(CONTROL).length;

/** What a PE Worker receives to start. */
export interface PeSetup {
  pe: number;
  ops: number;
  ipiRate: number;
  machine: Aarch64MachineHandle;
  stats: SharedPerCpuHandle;
  mutex: SpinMutexHandle;
  histogram: Int32Array;
  /** SGIs that became pending, per target PE; written by PE 0 only. */
  sentTo: Int32Array;
  control: Int32Array;
  lockTimeoutMs: number;
  /** How long a PE waits at the start barrier for the others to boot. */
  bootTimeoutMs: number;
  fault: DemoFault;
}

/** What a PE Worker posts back. */
export type PeReport = { pe: number; mpidr: bigint } | { pe: number; error: string };
