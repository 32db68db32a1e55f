// Copyright 2026 the percpu authors. MIT license.

// The layout of the test's own shared counters: Int32 words.
//   0: ERRORS, handlers that ran with the wrong PE, DAIF, SPSR or source
//   1: STOP, set by the test to end the Workers' wfi() loops
//   2: REPORTED, errors the Worker's "error" event listener saw
//   per PE p: ackIndex(p) (IRQs taken), then 16 counts, one per SGI INTID

export const ERRORS = 0;
export const STOP = 1;
/** Errors that reached the Worker's "error" event (idle delivery reports them there). */
export const REPORTED = 2;
const PER_PE = 32;

export function ackIndex(pe: number): number {
  return PER_PE * (pe + 1);
}

export function countIndex(pe: number, intid: number): number {
  return ackIndex(pe) + 1 + intid;
}

export function sharedCounters(pes: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(PER_PE * (pes + 1) * 4));
}
