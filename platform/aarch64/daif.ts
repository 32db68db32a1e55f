// Copyright 2026 the percpu authors. MIT license.

/**
 * The bits of DAIF as `mrs x0, daif` reads them: each one, when set, masks
 * one kind of exception on the PE.
 *
 * - `D` (bit 9): debug exceptions (watchpoints, breakpoints, software step).
 *   The model keeps the bit, but has no debug exceptions to mask with it.
 * - `A` (bit 8): SError, the asynchronous abort.
 * - `I` (bit 7): IRQ.
 * - `F` (bit 6): FIQ.
 * - `ALL` (`0x3c0`): the four together, the value a PE comes out of reset
 *   with and the value exception entry writes.
 *
 * `msr daifset, #imm` and `msr daifclr, #imm` take the same four bits as a
 * 4-bit immediate, shifted down by 6: imm bit 3 is D, 2 is A, 1 is I, 0 is F.
 *
 * @example Usage
 * ```ts
 * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
 * assert.equal(machine.readDaif(), DAIF.ALL); // masked out of reset
 * machine.writeDaif(DAIF.D | DAIF.A);          // unmask IRQ and FIQ
 * assert.equal(machine.readDaif(), 0x300);
 * ```
 */
export const DAIF: {
  /** Debug exceptions: bit 9, `0x200`. */
  readonly D: 0x200;
  /** SError: bit 8, `0x100`. */
  readonly A: 0x100;
  /** IRQ: bit 7, `0x80`. */
  readonly I: 0x80;
  /** FIQ: bit 6, `0x40`. */
  readonly F: 0x40;
  /** All four: `0x3c0`. */
  readonly ALL: 0x3c0;
} = Object.freeze({ D: 0x200, A: 0x100, I: 0x80, F: 0x40, ALL: 0x3c0 });
