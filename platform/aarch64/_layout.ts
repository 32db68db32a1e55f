// Copyright 2026 the percpu authors. MIT license.

// The machine state that every agent sees: one SharedArrayBuffer of Int32
// words. DAIF and SPSR_EL1 are not here: only the agent that runs a PE
// touches them, so they are plain fields of that agent's Aarch64Machine.
//
// Header (words 0..31; see the HEADER_* names below):
//   0 MAGIC, 1 VERSION, 2 PE count, 3 flags (bit 0: MPIDR_EL1.MT),
//   4 last agent id handed out. The size of a PE block follows from the PE
//   count (shapeOf), so it is not stored.
// Affinity table (from word 32): two words per PE, Aff2..Aff0 then Aff3,
//   padded to a multiple of 32 words.
// One block per PE, each starting on its own 128-byte line:
//   +0 SUMMARY   which kinds may be pending, with the DAIF bit positions:
//                0x100 SError (A), 0x80 IRQ (I), 0x40 FIQ (F). A kind's bit
//                is set after one of its pending bits is, so a clear
//                summary bit means nothing of that kind is pending; a set
//                one may be stale for a moment (see _gic.ts).
//   +1 WAKE      a sequence number, bumped by every raise; wfi() and idle
//                delivery wait on it with Atomics.wait / Atomics.waitAsync.
//   +2 OWNER     id of the agent that runs this PE, 0 while none does.
//   +3 SERROR    bit 0: SError pending.
//   +4  FIQ      32 words: bit n of the bitmap = INTID n pending as FIQ.
//   +36 IRQ      32 words: the same for IRQ (PPIs and SPIs).
//   +68 SGI      16 × PE count bits: bit (intid × count + source) = SGI
//                `intid` from PE `source` pending, one bit per (INTID,
//                source) as a GICv3 keeps them.
//
// Every agent writes pending bits (Atomics.or); only the agent that runs a
// PE clears them (Atomics.and), when the PE takes the interrupt.

import { describe } from "../../_internal/describe.ts";

const MAGIC = 0x41363450; // "A64P"
const VERSION = 2;
const HEADER_WORDS = 32;
const LINE_WORDS = 32; // 128 bytes

// Header words.
const HEADER_MAGIC = 0;
const HEADER_VERSION = 1;
const HEADER_COUNT = 2;
const HEADER_FLAGS = 3;
const HEADER_LAST_AGENT = 4;
/** Bit of HEADER_FLAGS: MPIDR_EL1.MT reads 1 on every PE. */
const FLAG_MULTITHREADED = 1;

/** Most PEs a machine may have (Linux's default NR_CPUS on arm64). */
export const MAX_PES = 512;

export const SUMMARY = 0;
export const WAKE = 1;
export const OWNER = 2;
export const SERROR = 3;
export const FIQ = 4;
export const IRQ = 36;
export const SGI = 68;
/** Words of the FIQ and IRQ bitmaps: INTIDs 0..1023. */
export const INTID_WORDS = 32;

/** Summary bits, equal to the DAIF bits that mask each kind. */
export const PENDING_SERROR = 0x100;
export const PENDING_IRQ = 0x80;
export const PENDING_FIQ = 0x40;
export const PENDING_ANY = 0x1c0;

/** Where things are in the shared words. */
export interface Layout {
  words: Int32Array;
  count: number;
  multithreaded: boolean;
  /** Word index of the block of PE 0; PE n's block is at `base + n * stride`. */
  base: number;
  stride: number;
  sgiWords: number;
}

function roundUp(words: number): number {
  return Math.ceil(words / LINE_WORDS) * LINE_WORDS;
}

/** Where the blocks are and how long the memory is, for `count` PEs. */
function shapeOf(
  count: number,
): { base: number; stride: number; sgiWords: number; length: number } {
  const sgiWords = Math.ceil(16 * count / 32);
  const stride = roundUp(SGI + sgiWords);
  const base = HEADER_WORDS + roundUp(2 * count);
  return { base, stride, sgiWords, length: base + count * stride };
}

/** Allocates and fills the shared memory of a new machine. */
export function createLayout(affinities: readonly number[], multithreaded: boolean): Layout {
  const count = affinities.length;
  const { base, stride, sgiWords, length } = shapeOf(count);
  const words = new Int32Array(new SharedArrayBuffer(length * 4));
  words[HEADER_MAGIC] = MAGIC;
  words[HEADER_VERSION] = VERSION;
  words[HEADER_COUNT] = count;
  words[HEADER_FLAGS] = multithreaded ? FLAG_MULTITHREADED : 0;
  for (let pe = 0; pe < count; pe++) {
    const affinity = affinities[pe] as number;
    words[HEADER_WORDS + 2 * pe] = affinity % 0x1000000;
    words[HEADER_WORDS + 2 * pe + 1] = Math.floor(affinity / 0x100000000);
  }
  return { words, count, multithreaded, base, stride, sgiWords };
}

/** Rebuilds the layout of an existing machine from its handle. */
export function openLayout(handle: unknown, action: string): Layout {
  const buffer = (handle as { buffer?: unknown } | null | undefined)?.buffer;
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(
      `Cannot ${action} as the handle must be an object with a SharedArrayBuffer 'buffer', as Aarch64Machine.handle gives: current value is ${
        describe(handle)
      }`,
    );
  }
  const bad = (): never => {
    throw new TypeError(
      `Cannot ${action} as the handle's buffer does not hold an Aarch64Machine: pass the handle of a machine, unchanged`,
    );
  };
  if (buffer.byteLength < HEADER_WORDS * 4) bad();
  const words = new Int32Array(buffer);
  const count = Atomics.load(words, HEADER_COUNT);
  if (
    Atomics.load(words, HEADER_MAGIC) !== MAGIC ||
    Atomics.load(words, HEADER_VERSION) !== VERSION || count < 1 || count > MAX_PES
  ) {
    bad();
  }
  const { base, stride, sgiWords, length } = shapeOf(count);
  if (words.length !== length) bad();
  const multithreaded = (Atomics.load(words, HEADER_FLAGS) & FLAG_MULTITHREADED) !== 0;
  return { words, count, multithreaded, base, stride, sgiWords };
}

/** The affinity value of `pe`, as `createLayout` stored it. */
export function affinityOf(layout: Layout, pe: number): number {
  const low = layout.words[HEADER_WORDS + 2 * pe] as number;
  const high = layout.words[HEADER_WORDS + 2 * pe + 1] as number;
  return high * 0x100000000 + low;
}

/** A fresh agent id, never 0, unique for this machine. */
export function newAgentId(layout: Layout): number {
  return Atomics.add(layout.words, HEADER_LAST_AGENT, 1) + 1;
}
