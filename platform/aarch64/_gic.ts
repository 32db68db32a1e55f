// Copyright 2026 the percpu authors. MIT license.

// The pending interrupts of every PE, in the machine's shared memory: what a
// GIC's pending bits are. It knows nothing of DAIF or of which PE an agent
// runs; the machine decides what to take and when.
//
// Every agent posts (Atomics.or); only the agent that runs a PE takes its
// interrupts (Atomics.and). Per PE (see _layout.ts) a summary word says
// which kinds may be pending: a kind's bit is set after one of its pending
// bits is, so a clear bit means none of that kind is pending, and a set one
// may be stale for a moment, until the owner settles it.

import type { Layout } from "./_layout.ts";
import {
  FIQ,
  INTID_WORDS,
  IRQ,
  PENDING_FIQ,
  PENDING_IRQ,
  PENDING_SERROR,
  SERROR,
  SGI,
  SUMMARY,
  WAKE,
} from "./_layout.ts";
import type { Aarch64Interrupt, Aarch64InterruptKind } from "./types.ts";

/** The summary bit of each kind: the DAIF bit that masks it. */
export const PENDING_BIT = {
  irq: PENDING_IRQ,
  fiq: PENDING_FIQ,
  serror: PENDING_SERROR,
} as const;

/** The order in which pending exceptions are taken: SError, then FIQ, then IRQ. */
export const TAKE_ORDER: readonly Aarch64InterruptKind[] = ["serror", "fiq", "irq"];

/** One pending interrupt and where its bit is. */
interface Found {
  interrupt: Aarch64Interrupt;
  index: number;
  bit: number;
}

/** The pending-interrupt store of one machine, over its shared layout. */
export class Gic {
  readonly words: Int32Array;
  #layout: Layout;

  constructor(layout: Layout) {
    this.#layout = layout;
    this.words = layout.words;
  }

  /** Word index of the summary of `pe`. */
  summaryIndex(pe: number): number {
    return this.#blockOf(pe) + SUMMARY;
  }

  /** Word index of the wake-up sequence of `pe`, which every post bumps. */
  wakeIndex(pe: number): number {
    return this.#blockOf(pe) + WAKE;
  }

  /** The kinds that may be pending on `pe` (the summary; a bit may be stale). */
  summary(pe: number): number {
    return Atomics.load(this.words, this.summaryIndex(pe));
  }

  /**
   * Makes an interrupt pending on `pe` and wakes the PE. `source` is the
   * sending PE of an SGI (then `intid` is 0–15), `undefined` otherwise.
   * Returns `false` if it already was pending (coalesced).
   */
  post(
    pe: number,
    kind: Aarch64InterruptKind,
    intid: number,
    source: number | undefined,
  ): boolean {
    const words = this.words;
    const block = this.#blockOf(pe);
    let index: number;
    let bit: number;
    if (kind === "serror") {
      index = block + SERROR;
      bit = 1;
    } else if (source !== undefined) {
      // One bit per (INTID, source), as a GICv3 keeps SGIs.
      const n = intid * this.#layout.count + source;
      index = block + SGI + (n >> 5);
      bit = 1 << (n & 31);
    } else {
      index = block + (kind === "irq" ? IRQ : FIQ) + (intid >> 5);
      bit = 1 << (intid & 31);
    }
    if ((Atomics.or(words, index, bit) & bit) !== 0) return false;
    Atomics.or(words, block + SUMMARY, PENDING_BIT[kind]);
    Atomics.add(words, block + WAKE, 1);
    Atomics.notify(words, block + WAKE);
    return true;
  }

  /**
   * Removes and returns the first pending interrupt of the kinds in
   * `kinds` (summary bits), in taking order. Only the agent that runs `pe`
   * calls it.
   */
  take(pe: number, kinds: number): Aarch64Interrupt | undefined {
    const summary = this.summary(pe) & kinds;
    if (summary === 0) return undefined;
    for (const kind of TAKE_ORDER) {
      if ((summary & PENDING_BIT[kind]) === 0) continue;
      const taken = this.#settle(pe, kind, true);
      if (taken !== undefined) return taken;
    }
    return undefined;
  }

  /** Whether an interrupt of `kind` is pending on `pe`; settles its summary bit. */
  has(pe: number, kind: Aarch64InterruptKind): boolean {
    return (this.summary(pe) & PENDING_BIT[kind]) !== 0 &&
      this.#settle(pe, kind, false) !== undefined;
  }

  /** The kinds pending on `pe` (ISR_EL1), with stale summary bits cleared. */
  pendingKinds(pe: number): number {
    let kinds = 0;
    for (const kind of TAKE_ORDER) {
      if (this.has(pe, kind)) kinds |= PENDING_BIT[kind];
    }
    return kinds;
  }

  /** Every interrupt pending on `pe`, in taking order. Changes nothing. */
  list(pe: number): Aarch64Interrupt[] {
    const found: Aarch64Interrupt[] = [];
    for (const kind of TAKE_ORDER) {
      for (const { interrupt } of this.#scan(pe, kind)) found.push(interrupt);
    }
    return found;
  }

  /**
   * Makes the summary bit of `kind` true again: clears it, looks for a
   * pending interrupt of that kind, and sets the bit again if one stays
   * pending. With `take`, removes the first one found. Returns it.
   */
  #settle(pe: number, kind: Aarch64InterruptKind, take: boolean): Aarch64Interrupt | undefined {
    const words = this.words;
    const summary = this.summaryIndex(pe);
    const kindBit = PENDING_BIT[kind];
    // Clear the summary bit first: a post that lands after the scan below
    // sets it again, so no pending interrupt is left unannounced.
    Atomics.and(words, summary, ~kindBit);
    const found = this.#scan(pe, kind);
    const first = found.next();
    if (first.done) return undefined;
    if (take) {
      // SAFETY: only the agent that runs `pe` clears its pending bits, so
      // the bit the scan saw is still set.
      Atomics.and(words, first.value.index, ~first.value.bit);
    }
    if (!take || !found.next().done) Atomics.or(words, summary, kindBit);
    return first.value.interrupt;
  }

  /** The pending interrupts of `kind` on `pe`, in taking order. */
  *#scan(pe: number, kind: Aarch64InterruptKind): Generator<Found, void, undefined> {
    const words = this.words;
    const block = this.#blockOf(pe);
    if (kind === "serror") {
      if ((Atomics.load(words, block + SERROR) & 1) !== 0) {
        yield { interrupt: { kind, intid: 0, source: undefined }, index: block + SERROR, bit: 1 };
      }
      return;
    }
    if (kind === "irq") {
      // SGIs first: their INTIDs (0–15) are below every PPI and SPI.
      const count = this.#layout.count;
      for (let w = 0; w < this.#layout.sgiWords; w++) {
        for (const [n, bit] of bitsOf(Atomics.load(words, block + SGI + w), w)) {
          const interrupt = { kind, intid: Math.floor(n / count), source: n % count };
          yield { interrupt, index: block + SGI + w, bit };
        }
      }
    }
    const bitmap = block + (kind === "irq" ? IRQ : FIQ);
    for (let w = 0; w < INTID_WORDS; w++) {
      for (const [intid, bit] of bitsOf(Atomics.load(words, bitmap + w), w)) {
        yield { interrupt: { kind, intid, source: undefined }, index: bitmap + w, bit };
      }
    }
  }

  #blockOf(pe: number): number {
    return this.#layout.base + pe * this.#layout.stride;
  }
}

/** The set bits of word `w` of a bitmap, lowest first: [bit number, mask]. */
function* bitsOf(value: number, w: number): Generator<[number, number], void, undefined> {
  while (value !== 0) {
    const bit = value & -value;
    value &= ~bit;
    yield [w * 32 + 31 - Math.clz32(bit), bit];
  }
}
