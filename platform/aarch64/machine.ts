// Copyright 2026 the percpu authors. MIT license.

import { checkIndex, checkInteger } from "../../_internal/check_index.ts";
import { describe } from "../../_internal/describe.ts";
import type { ExceptionFree, Synchronous } from "../../percpu/exception_free.ts";
import type { Platform } from "../../percpu/platform.ts";
import { deliverPending, type ExceptionModel } from "../_delivery.ts";
import { pesOf } from "./_affinity.ts";
import { Gic, PENDING_BIT, TAKE_ORDER } from "./_gic.ts";
import {
  affinityOf,
  createLayout,
  type Layout,
  newAgentId,
  openLayout,
  PENDING_ANY,
} from "./_layout.ts";
import { Listeners } from "./_listener.ts";
import { claim, forceRelease, owns, releaseAll } from "./_ownership.ts";
import { daifBitsOf, daifBitsOfImmediate } from "./_registers.ts";
import { DAIF } from "./daif.ts";
import { decodeMpidr, encodeMpidr } from "./mpidr.ts";
import type {
  Aarch64AttachOptions,
  Aarch64Interrupt,
  Aarch64InterruptKind,
  Aarch64MachineHandle,
  Aarch64MachineOptions,
  Aarch64Vector,
} from "./types.ts";

/** What exception entry saves and exception return restores. */
interface Frame {
  /** The PE that was current when the exception was taken. */
  pe: number;
  /** SPSR_EL1 of the PE before entry, as a handler's stack frame keeps it. */
  spsr: number;
}

/** What attach() hands the constructor; see ATTACH. */
interface Attachment {
  layout: Layout;
  pe: number;
  agent: number;
}

/**
 * The first argument of the constructor when attach() calls it: only this
 * module holds it, so only attach() can make a machine of one PE.
 */
const ATTACH: unique symbol = Symbol("Aarch64Machine.attach");

/** M[3:0] of SPSR_EL1 after an exception taken to EL1 using SP_EL1: EL1h. */
const EL1H = 0b0101;
const KINDS: readonly Aarch64InterruptKind[] = ["irq", "fiq", "serror"];
const KIND_NAMES = { irq: "an IRQ", fiq: "an FIQ", serror: "an SError" } as const;
const LAST_INTID = 1019;
/**
 * How many restores read the summary with a plain read before one reads it
 * with Atomics.load (see #readSummary()).
 */
const ATOMIC_EVERY = 64;

/**
 * A software model of an AArch64 machine at EL1: per-PE DAIF and
 * MPIDR_EL1, exception entry and return, and interrupts (IRQ, FIQ, SError,
 * SGIs) that any agent can raise: the {@linkcode Platform} of the
 * `@percpu/percpu/platform/aarch64` backend.
 *
 * The Rust crate masks with two instructions, `mrs x0, daif` and
 * `msr daifset, #0xf`. JavaScript cannot run them; this class reproduces
 * what the Arm Architecture Reference Manual says they do, so that code
 * written against it obeys the same rules, on real threads:
 *
 * - **DAIF** ({@linkcode DAIF}): a PE comes out of reset with DAIF =
 *   `0x3c0`, everything masked. {@linkcode Aarch64Machine.mask} is
 *   `mrs; msr daifset, #0xf` and returns the old DAIF;
 *   {@linkcode Aarch64Machine.restore} is `msr daif, x`.
 * - **Interrupts** are pending in shared memory, one bit per INTID (and per
 *   source PE for an SGI), as a GIC keeps them; one raised again while
 *   pending stays one. A pending interrupt is taken only when its DAIF bit
 *   is clear, at a delivery point: an instruction that unmasks
 *   (`restore`, `writeDaif`, `daifClr`), a raise on the PE itself,
 *   {@linkcode Aarch64Machine.wfi}, entering a PE with `runOn`, and
 *   between event-loop tasks of an agent that
 *   {@linkcode Aarch64Machine.listen}s. SError goes first, then FIQ, then
 *   IRQ; within a kind, the lowest INTID (then the lowest source PE).
 * - **Exception entry** saves the interrupted DAIF in SPSR_EL1 (with
 *   M[3:0] = EL1h, so `| 0x5`), sets DAIF to `0x3c0` and runs the vector
 *   handler ({@linkcode Aarch64Machine.setVector}) with a live token;
 *   **return** (`eret`) restores DAIF from SPSR_EL1. A handler that unmasks
 *   can be interrupted in turn; the model keeps each level's SPSR_EL1 as a
 *   handler keeps it on its stack, and restores it when the nested one
 *   returns.
 * - **MPIDR_EL1** ({@linkcode Aarch64Machine.mpidr}) from the affinity
 *   values of a device tree, a topology, or a preset of a real SoC.
 *
 * One agent can run several PEs, switching with
 * {@linkcode Aarch64Machine.runOn} as on the mock; a PE belongs to the
 * first agent that runs it. A Worker becomes one PE of the same machine
 * with {@linkcode Aarch64Machine.attach}, given the
 * {@linkcode Aarch64Machine.handle}. Vector handlers are per agent.
 *
 * Not modelled: EL0, EL2 and EL3 (everything runs at EL1), the GIC's
 * priorities, enables and active state (an interrupt is pending or not),
 * NZCV and the other PSTATE fields (SPSR_EL1 holds DAIF and M only),
 * synchronous exceptions (a `throw` is not an exception here), and debug
 * exceptions (DAIF.D is kept but masks nothing).
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu";
 * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * const machine = new Aarch64Machine({ preset: "rk3399" });
 * const ticks = PerCpu.from(machine, () => new ExceptionLock(0));
 * machine.setVector("irq", (token, event) => {
 *   assert.equal(machine.readDaif(), DAIF.ALL);
 *   assert.equal(machine.readSpsr(), 0x5); // DAIF was 0 when the IRQ came
 *   ticks.get().update(token, (n) => n + event.intid);
 * });
 * machine.daifClr(0b1111); // vectors installed: unmask
 *
 * exceptionFree(machine, () => {
 *   machine.raise(0, "irq", 30); // pending: DAIF.I is set
 *   assert.equal(exceptionFree(machine, (t) => ticks.get().borrow(t)), 0);
 * }); // taken here, when restore() clears DAIF.I
 * assert.equal(exceptionFree(machine, (t) => ticks.get().borrow(t)), 30);
 * ```
 */
export class Aarch64Machine implements Platform {
  /**
   * Number of PEs.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Aarch64Machine({ preset: "rk3588" }).coreCount, 8);
   * ```
   */
  readonly coreCount: number;
  // The current PE and its DAIF: the hot path reads fields only.
  #pe: number;
  #daif: number = DAIF.ALL;
  /** Word index of the current PE's pending summary. */
  #summary: number;
  /** Restores left until one reads the summary atomically (see #readSummary()). */
  #untilAtomic = ATOMIC_EVERY;
  #words: Int32Array;
  #layout: Layout;
  #gic: Gic;
  #agent: number;
  /** The PE this agent was attached as, or -1 for the agent that created the machine. */
  #attached: number;
  /** DAIF of each PE while it is not the current one. */
  #daifs: number[];
  #spsrs: number[];
  #mpidrs: bigint[];
  #vectors: Record<Aarch64InterruptKind, Aarch64Vector | undefined> = {
    irq: undefined,
    fiq: undefined,
    serror: undefined,
  };
  #listeners: Listeners;
  /** Set by close(): from then on, every operation on a PE throws. */
  #closed = false;
  #model: ExceptionModel<Aarch64Interrupt, Frame>;

  /**
   * Creates a machine whose PEs are all out of reset: DAIF = `0x3c0`,
   * nothing pending, no vector set. The caller runs on PE 0.
   *
   * @param options The PEs: `{ mpidrs }` (device-tree affinity values, in
   * order), `{ topology }`, `{ preset }` or `{ preset: "qemu-virt", cpus }`.
   * @throws {TypeError} If `options` is not one of the four shapes, or a
   * value has the wrong type.
   * @throws {RangeError} If an affinity value has bits outside Aff3..Aff0 or
   * appears twice, the list is empty or longer than 512, a topology count
   * is out of range, or the preset is unknown.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const listed = new Aarch64Machine({ mpidrs: [0x0, 0x1, 0x100, 0x101] });
   * assert.equal(listed.runOn(2, () => listed.mpidr()), 0x80000100n);
   *
   * const smt = new Aarch64Machine({
   *   topology: { clusters: 1, coresPerCluster: 2, threadsPerCore: 2 },
   * });
   * assert.equal(smt.runOn(3, () => smt.mpidr()), 0x81000101n); // MT, core 1, thread 1
   *
   * assert.throws(() => new Aarch64Machine({ mpidrs: [0x0, 0x0] }), RangeError);
   * ```
   */
  constructor(options: Aarch64MachineOptions);
  /** @ignore */
  constructor(key: typeof ATTACH, attachment: Attachment);
  constructor(options: Aarch64MachineOptions | typeof ATTACH, attachment?: Attachment) {
    let layout: Layout;
    let pe = 0;
    if (options === ATTACH && attachment !== undefined) {
      layout = attachment.layout;
      pe = attachment.pe;
      this.#agent = attachment.agent;
      this.#attached = pe;
    } else {
      const pes = pesOf(options);
      layout = createLayout(pes.affinities, pes.multithreaded);
      this.#agent = newAgentId(layout);
      this.#attached = -1;
      // The creating agent runs PE 0, the boot PE.
      claim(layout, 0, this.#agent);
    }
    this.#layout = layout;
    this.#words = layout.words;
    this.#gic = new Gic(layout);
    this.#listeners = new Listeners(layout.words);
    this.coreCount = layout.count;
    this.#pe = pe;
    this.#summary = this.#gic.summaryIndex(pe);
    this.#daifs = new Array<number>(layout.count).fill(DAIF.ALL);
    this.#spsrs = new Array<number>(layout.count).fill(0);
    this.#mpidrs = [];
    for (let i = 0; i < layout.count; i++) {
      // U is set on a machine of one PE only; MT as the machine says.
      const fields = decodeMpidr(affinityOf(layout, i));
      this.#mpidrs.push(
        encodeMpidr({ ...fields, mt: layout.multithreaded, u: layout.count === 1 }),
      );
    }
    this.#model = {
      takeDeliverable: (core) => this.#takeDeliverable(core),
      enter: (core) => {
        const frame = { pe: this.#pe, spsr: this.#spsrs[core] as number };
        this.#switchTo(core);
        this.#spsrs[core] = this.#daif | EL1H;
        this.#daif = DAIF.ALL;
        return frame;
      },
      handle: (token, event) => {
        const vector = this.#vectors[event.kind] as Aarch64Vector;
        return vector(token, event);
      },
      exit: (core, frame) => {
        this.#switchTo(core);
        // eret: DAIF comes back from SPSR_EL1; the outer level's SPSR_EL1
        // comes back from its frame.
        this.#daif = (this.#spsrs[core] as number) & DAIF.ALL;
        this.#spsrs[core] = frame.spsr;
        this.#switchTo(frame.pe);
      },
    };
  }

  /**
   * Makes this agent PE `pe` of the machine whose {@linkcode Aarch64Machine.handle}
   * it received: the way a Worker joins a machine.
   *
   * The PE starts as out of reset in this agent (DAIF = `0x3c0`, no
   * vectors); interrupts other agents raised on it before are still
   * pending. Unless `options.listen` is `false`, idle delivery starts at once
   * ({@linkcode Aarch64Machine.listen}), so the Worker takes unmasked
   * interrupts between its event-loop tasks; call
   * {@linkcode Aarch64Machine.close} before the Worker exits.
   *
   * @param handle What `machine.handle` gave, sent with `postMessage`.
   * @param pe The PE this agent becomes.
   * @param options Whether to start idle delivery.
   * @returns The machine as this agent sees it: `coreIndex()` is always `pe`.
   * @throws {TypeError} If `handle` is not the handle of a machine, `pe` is
   * not a number, `options` is not an object or `options.listen` is not a
   * boolean.
   * @throws {RangeError} If `pe` is not a PE of that machine.
   * @throws {Error} If another agent already runs PE `pe`. A call that throws
   * leaves the PE as it was.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ preset: "bcm2711" });
   * // In a Worker, after `postMessage(machine.handle)`:
   * const pe3 = Aarch64Machine.attach(machine.handle, 3, { listen: false });
   * assert.equal(pe3.coreIndex(), 3);
   * assert.equal(pe3.mpidr(), 0x80000003n);
   * pe3.close();
   * ```
   */
  static attach(
    handle: Aarch64MachineHandle,
    pe: number,
    options: Aarch64AttachOptions = {},
  ): Aarch64Machine {
    const layout = openLayout(handle, `attach to PE ${describe(pe)}`);
    checkIndex(pe, layout.count, "PE", "attach to PE");
    // Everything is read and checked before the PE is claimed: a failed
    // attach leaves the PE free.
    const listen = listenOption(options);
    const agent = newAgentId(layout);
    if (!claim(layout, pe, agent)) {
      throw new Error(
        `Cannot attach to PE ${pe} as another agent already runs it: each PE belongs to one agent, until that agent calls close() (if it died, free the PE with Aarch64Machine.forceRelease())`,
      );
    }
    const machine = new Aarch64Machine(ATTACH, { layout, pe, agent });
    if (listen) machine.listen();
    return machine;
  }

  /**
   * Frees PE `pe` whoever runs it, so that another agent can attach to it:
   * the recovery after the Worker that ran it was terminated or died
   * without calling {@linkcode Aarch64Machine.close}. Its pending interrupts
   * stay pending, for the next agent.
   *
   * **Safety:** dangerous, like `SpinMutex.forceUnlock()`: if the agent that
   * runs the PE is alive, two agents then run one PE, and nothing that the
   * model promises holds. Use it only for an agent that is gone.
   *
   * @param handle The machine's {@linkcode Aarch64Machine.handle}.
   * @param pe The PE to free.
   * @returns Whether an agent was running it.
   * @throws {TypeError} If `handle` is not a machine's handle or `pe` is not a number.
   * @throws {RangeError} If `pe` is not a PE of that machine.
   *
   * @example Recover the PE of a terminated Worker
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * Aarch64Machine.attach(machine.handle, 1, { listen: false }); // as if a Worker died here
   * assert.equal(Aarch64Machine.forceRelease(machine.handle, 1), true);
   * const next = Aarch64Machine.attach(machine.handle, 1, { listen: false });
   * assert.equal(next.coreIndex(), 1);
   * next.close();
   * ```
   */
  static forceRelease(handle: Aarch64MachineHandle, pe: number): boolean {
    const layout = openLayout(handle, `force the release of PE ${describe(pe)}`);
    checkIndex(pe, layout.count, "PE", "force the release of a PE");
    return forceRelease(layout, pe);
  }

  /**
   * The machine's shared memory, as a structured-cloneable object: send it
   * to a Worker with `postMessage` and call
   * {@linkcode Aarch64Machine.attach} there.
   *
   * It holds the PEs' affinity values and every pending interrupt; DAIF and
   * SPSR_EL1 stay in the agent that runs each PE.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * const copy = structuredClone(machine.handle); // what a Worker receives
   * const pe1 = Aarch64Machine.attach(copy, 1, { listen: false });
   * pe1.sendSgi(0, 5); // written to the same memory
   * assert.deepEqual(machine.pending(), [{ kind: "irq", intid: 5, source: 1 }]);
   * pe1.close();
   * ```
   */
  get handle(): Aarch64MachineHandle {
    return { buffer: this.#words.buffer as SharedArrayBuffer };
  }

  /**
   * Index of the current PE: its position in device-tree order (as Linux
   * numbers logical CPUs). In a handler, the PE that took the interrupt.
   *
   * @returns The current PE index.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ preset: "t8103" });
   * assert.equal(machine.coreIndex(), 0);
   * assert.equal(machine.runOn(5, () => machine.coreIndex()), 5);
   * ```
   */
  coreIndex(): number {
    if (this.#closed) this.#throwClosed("read the current PE index");
    return this.#pe;
  }

  /**
   * The crate's mask: `mrs x0, daif` then `msr daifset, #0xf`. Returns the
   * previous DAIF and masks everything on the current PE.
   *
   * @returns DAIF before masking, for {@linkcode Aarch64Machine.restore}.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * machine.writeDaif(DAIF.F);
   * assert.equal(machine.mask(), DAIF.F);
   * assert.equal(machine.readDaif(), DAIF.ALL);
   * ```
   */
  mask(): number {
    if (this.#closed) this.#throwClosed("mask");
    const previous = this.#daif;
    this.#daif = DAIF.ALL;
    return previous;
  }

  /**
   * The crate's restore: `msr daif, x` with the value
   * {@linkcode Aarch64Machine.mask} returned, then takes the pending
   * interrupts that it unmasked. It behaves as
   * {@linkcode Aarch64Machine.writeDaif}, with one difference in timing:
   * to stay cheap, it reads the PE's pending summary without `Atomics` most
   * of the time, so an interrupt that another agent raised a moment ago may
   * be taken at a later delivery point (never while masked).
   *
   * @param previous The DAIF value to write; bits other than 9..6 are ignored.
   * @throws {TypeError} If `previous` is not a number or a bigint.
   * @throws {RangeError} If `previous` is not an integer from 0 to 2^64 - 1.
   * @throws {Error} If it would unmask a pending interrupt whose kind has no
   * vector ({@linkcode Aarch64Machine.setVector}); DAIF is left as it was.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * const taken: number[] = [];
   * machine.setVector("irq", (_token, event) => taken.push(event.intid));
   * machine.writeDaif(0);
   * const previous = machine.mask();
   * machine.raise(0, "irq", 40);
   * assert.deepEqual(taken, []);
   * machine.restore(previous);
   * assert.deepEqual(taken, [40]);
   * ```
   */
  restore(previous: number): void {
    if (this.#closed) this.#throwClosed("restore");
    // The fast path: what mask() returned, only DAIF bits, and nothing
    // pending that it unmasks.
    if (
      typeof previous === "number" && (previous & DAIF.ALL) === previous &&
      (this.#readSummary() & ~previous) === 0
    ) {
      this.#daif = previous;
      return;
    }
    // Something may be taken: writeDaif checks the vectors first.
    this.writeDaif(previous);
  }

  /**
   * Runs `fn` on PE `pe`: inside it, every register operation and
   * `coreIndex()` act on that PE. The previous PE is current again
   * afterwards, also when `fn` throws.
   *
   * Entering the PE is a delivery point: interrupts that other agents made
   * pending on it while it was not running, and that its DAIF lets through,
   * are taken first. The first agent to run a PE owns it; in a machine
   * made by {@linkcode Aarch64Machine.attach}, only the attached PE can be run.
   *
   * @typeParam R What `fn` returns.
   * @param pe The PE to run on.
   * @param fn The code to run.
   * @returns What `fn` returned.
   * @throws {RangeError} If `pe` is not a PE of this machine.
   * @throws {TypeError} If `fn` is not a function.
   * @throws {Error} If another agent runs PE `pe`.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ preset: "rk3399" });
   * assert.equal(machine.runOn(4, () => exceptionFree(machine, (token) => token.core)), 4);
   * assert.equal(machine.coreIndex(), 0);
   * ```
   */
  runOn<R>(pe: number, fn: () => R): R {
    this.#checkOpen("run on a PE");
    checkIndex(pe, this.coreCount, "PE", "run on PE");
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot run on PE ${pe} as 'fn' must be a function: current value is ${describe(fn)}`,
      );
    }
    this.#claim(pe);
    const previous = this.#pe;
    this.#switchTo(pe);
    try {
      this.#deliverUnmasked();
      return fn();
    } finally {
      this.#switchTo(previous);
    }
  }

  /**
   * Reads DAIF of the current PE, as `mrs x0, daif`.
   *
   * @returns Bits 9..6 (D, A, I, F); every other bit reads 0.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * assert.equal(machine.readDaif(), DAIF.ALL); // out of reset
   * ```
   */
  readDaif(): number {
    this.#checkOpen("read DAIF");
    return this.#daif;
  }

  /**
   * Writes DAIF of the current PE, as `msr daif, x`: bits 9..6 of `value`
   * are kept, the others ignored. Then takes the pending interrupts that
   * became unmasked.
   *
   * @param value The register operand: a non-negative integer up to
   * 2^53 - 1, or a bigint up to 2^64 - 1.
   * @throws {TypeError} If `value` is not a number or a bigint.
   * @throws {RangeError} If `value` is negative, fractional or too large.
   * @throws {Error} If it would unmask a pending interrupt whose kind has no
   * vector ({@linkcode Aarch64Machine.setVector}); DAIF is left as it was.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * machine.writeDaif(0xffff_f03f); // no DAIF bit set: all unmasked
   * assert.equal(machine.readDaif(), 0);
   * machine.writeDaif(0x1_0000_0280n);
   * assert.equal(machine.readDaif(), 0x280);
   * ```
   */
  writeDaif(value: number | bigint): void {
    this.#checkOpen("write DAIF");
    const daif = daifBitsOf(value, "write DAIF");
    this.#checkVectors(this.#pe, daif);
    this.#daif = daif;
    this.#deliverUnmasked();
  }

  /**
   * Sets DAIF bits of the current PE, as `msr daifset, #imm`: imm bit 3 sets
   * D, 2 sets A, 1 sets I, 0 sets F.
   *
   * @param imm The 4-bit immediate, 0–15.
   * @throws {TypeError} If `imm` is not a number.
   * @throws {RangeError} If `imm` is not an integer from 0 to 15.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * machine.writeDaif(0);
   * machine.daifSet(0b0011); // I and F
   * assert.equal(machine.readDaif(), DAIF.I | DAIF.F);
   * ```
   */
  daifSet(imm: number): void {
    this.#checkOpen("execute msr daifset");
    this.#daif |= daifBitsOfImmediate(imm, "msr daifset");
  }

  /**
   * Clears DAIF bits of the current PE, as `msr daifclr, #imm` (imm bit 3
   * clears D, 2 A, 1 I, 0 F), then takes the pending interrupts that became
   * unmasked.
   *
   * @param imm The 4-bit immediate, 0–15.
   * @throws {TypeError} If `imm` is not a number.
   * @throws {RangeError} If `imm` is not an integer from 0 to 15.
   * @throws {Error} If it would unmask a pending interrupt whose kind has no
   * vector ({@linkcode Aarch64Machine.setVector}); DAIF is left as it was.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * machine.daifClr(0b0010); // unmask IRQ only
   * assert.equal(machine.readDaif(), DAIF.D | DAIF.A | DAIF.F);
   * ```
   */
  daifClr(imm: number): void {
    this.#checkOpen("execute msr daifclr");
    const daif = this.#daif & ~daifBitsOfImmediate(imm, "msr daifclr");
    this.#checkVectors(this.#pe, daif);
    this.#daif = daif;
    this.#deliverUnmasked();
  }

  /**
   * Reads SPSR_EL1 of the current PE, as `mrs x0, spsr_el1`.
   *
   * In a handler it is the interrupted DAIF with M[3:0] = EL1h:
   * `interrupted DAIF | 0x5`. NZCV and the other PSTATE fields are not
   * modelled and read 0. Outside any handler it reads 0 (the model's reset
   * value; architecturally UNKNOWN), or what `writeSpsr` last wrote there.
   *
   * @returns SPSR_EL1 of the current PE.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * let spsr = -1;
   * machine.setVector("fiq", () => spsr = machine.readSpsr());
   * machine.writeDaif(DAIF.D | DAIF.I); // FIQ unmasked
   * machine.raise(0, "fiq", 20);
   * assert.equal(spsr, DAIF.D | DAIF.I | 0x5);
   * ```
   */
  readSpsr(): number {
    this.#checkOpen("read SPSR_EL1");
    return this.#spsrs[this.#pe] as number;
  }

  /**
   * Writes SPSR_EL1 of the current PE, as `msr spsr_el1, x`. In a handler,
   * this changes the DAIF that the return (`eret`) restores.
   *
   * The model keeps bits 9..6 (DAIF) and always reads M[3:0] as EL1h
   * (`0x5`): EL0, EL2 and EL3 are not modelled, so a return can only go
   * back to EL1. Other bits are ignored.
   *
   * @param value The register operand: a non-negative integer up to
   * 2^53 - 1, or a bigint up to 2^64 - 1.
   * @throws {TypeError} If `value` is not a number or a bigint.
   * @throws {RangeError} If `value` is negative, fractional or too large.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * // The handler returns with IRQs masked.
   * machine.setVector("irq", () => machine.writeSpsr(machine.readSpsr() | DAIF.I));
   * machine.writeDaif(0);
   * machine.raise(0, "irq", 33);
   * assert.equal(machine.readDaif(), DAIF.I);
   * ```
   */
  writeSpsr(value: number | bigint): void {
    this.#checkOpen("write SPSR_EL1");
    this.#spsrs[this.#pe] = daifBitsOf(value, "write SPSR_EL1") | EL1H;
  }

  /**
   * Reads ISR_EL1 of the current PE: which kinds of interrupt are pending,
   * masked or not. Bit 8 (A): an SError; bit 7 (I): an IRQ; bit 6 (F): an
   * FIQ.
   *
   * @returns The pending bits, in DAIF's positions.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, DAIF } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * machine.raise(0, "fiq", 17); // DAIF is 0x3c0: stays pending
   * assert.equal(machine.readIsr(), DAIF.F);
   * ```
   */
  readIsr(): number {
    this.#checkOpen("read ISR_EL1");
    return this.#gic.pendingKinds(this.#pe);
  }

  /**
   * Reads MPIDR_EL1 of the current PE, as `mrs x0, mpidr_el1`.
   *
   * Aff0..Aff2 in bits 23..0 and Aff3 in bits 39..32 come from the
   * machine's affinity values; bit 31 reads 1; U (bit 30) is set only on a
   * machine of one PE; MT (bit 24) is set when the topology has threads, the
   * preset's cores say so, or `multithreaded` was given.
   *
   * @returns The 64-bit register value.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine, decodeMpidr } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ preset: "t8103" });
   * const mpidr = machine.runOn(6, () => machine.mpidr());
   * assert.equal(mpidr, 0x80010102n);
   * assert.deepEqual(decodeMpidr(mpidr), { aff0: 2, aff1: 1, aff2: 1, aff3: 0, mt: false, u: false });
   * ```
   */
  mpidr(): bigint {
    this.#checkOpen("read MPIDR_EL1");
    return this.#mpidrs[this.#pe] as bigint;
  }

  /**
   * Installs the vector handler of one kind of exception for every PE this
   * agent runs (the vector table is per agent), or removes it.
   *
   * Install the vectors, then unmask. A pending interrupt whose kind has no
   * handler is never taken, and the mistake is reported where it is made,
   * once, without changing anything: an instruction that would unmask it
   * (`writeDaif`, `daifClr`, `restore`) throws an `Error` and leaves DAIF
   * as it was, so the section whose `restore` threw leaves the PE masked and
   * later sections run normally; a `raise` or `sendSgi` that this agent
   * would take at once throws and makes nothing pending. (On hardware the PE
   * would jump to whatever the vector table holds.) The interrupt stays
   * pending until a vector is set and it is unmasked. Only an interrupt that
   * another agent raises while the PE is already unmasked reaches a
   * delivery point unannounced: `wfi`, `runOn` and the next unmasking
   * instruction throw then, and idle delivery reports it
   * ({@linkcode Aarch64Machine.listen}).
   *
   * @typeParam R What the handler returns (ignored); a promise is a compile
   * error, and a `TypeError` at run time.
   * @param kind `"irq"`, `"fiq"` or `"serror"`.
   * @param handler Runs on exception entry; `undefined` removes the handler.
   * @throws {TypeError} If `kind` is not a string or `handler` is not a function.
   * @throws {RangeError} If `kind` is not one of the three kinds.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * const seen: string[] = [];
   * machine.setVector("serror", (_token, event) => seen.push(event.kind));
   * machine.daifClr(0b0100); // unmask SError
   * machine.raise(0, "serror");
   * assert.deepEqual(seen, ["serror"]);
   * ```
   */
  setVector<R = void>(
    kind: Aarch64InterruptKind,
    handler: ((token: ExceptionFree, event: Aarch64Interrupt) => Synchronous<R>) | undefined,
  ): void {
    checkKind(kind, "set a vector");
    if (handler !== undefined && typeof handler !== "function") {
      throw new TypeError(
        `Cannot set the "${kind}" vector as 'handler' must be a function or undefined: current value is ${
          describe(handler)
        }`,
      );
    }
    this.#vectors[kind] = handler as Aarch64Vector | undefined;
  }

  /**
   * Makes an interrupt pending on PE `pe`, as a device would through the
   * interrupt controller. If this agent runs `pe` and the interrupt's DAIF
   * bit is clear there, it is taken before `raise` returns; otherwise it is
   * taken at that PE's next delivery point where it is unmasked. A PE that
   * waits in {@linkcode Aarch64Machine.wfi} wakes up.
   *
   * An interrupt that is already pending stays one: the call returns
   * `false`, and the handler runs once.
   *
   * @param pe The PE that takes the interrupt.
   * @param kind `"irq"`, `"fiq"` or `"serror"`.
   * @param intid For an IRQ or FIQ, a PPI (16–31) or SPI (32–1019); SGIs
   * (0–15) come from {@linkcode Aarch64Machine.sendSgi}. For an SError,
   * omitted or 0.
   * @returns `true` if the interrupt became pending, `false` if it already was.
   * @throws {TypeError} If `kind` is not a string, or `intid` is given and is
   * not a number (a bigint too: INTIDs are numbers).
   * @throws {RangeError} If `pe` is not a PE, `kind` is unknown, or `intid`
   * is outside its range.
   * @throws {Error} If this agent runs the PE with the interrupt unmasked and
   * has no vector for it: nothing becomes pending.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * assert.equal(machine.raise(1, "irq", 27), true);
   * assert.equal(machine.raise(1, "irq", 27), false); // still pending: coalesced
   * assert.deepEqual(machine.pending(1), [{ kind: "irq", intid: 27, source: undefined }]);
   * ```
   */
  raise(pe: number, kind: Aarch64InterruptKind, intid?: number): boolean {
    this.#checkOpen("raise an interrupt");
    checkIndex(pe, this.coreCount, "PE", "raise an interrupt on PE");
    checkKind(kind, "raise an interrupt");
    if (kind === "serror") {
      if (intid !== undefined && typeof intid !== "number") {
        throw new TypeError(
          `Cannot raise an SError as 'intid' must be a number or omitted: current value is ${
            describe(intid)
          }`,
        );
      }
      if (intid !== undefined && intid !== 0) {
        throw new RangeError(
          `Cannot raise an SError with an INTID as an SError has none: omit 'intid' (or pass 0): current value is ${
            describe(intid)
          }`,
        );
      }
      return this.#post(pe, kind, 0, undefined);
    }
    if (intid !== undefined && typeof intid !== "number") {
      throw new TypeError(
        `Cannot raise ${KIND_NAMES[kind]} as 'intid' must be a number: current value is ${
          describe(intid)
        }`,
      );
    }
    if (intid === undefined || !Number.isInteger(intid) || intid < 16 || intid > LAST_INTID) {
      throw new RangeError(
        `Cannot raise ${
          KIND_NAMES[kind]
        } as 'intid' must be a PPI (16 to 31) or an SPI (32 to ${LAST_INTID}); SGIs (0 to 15) are sent with sendSgi(): current value is ${
          describe(intid)
        }`,
      );
    }
    return this.#post(pe, kind, intid, undefined);
  }

  /**
   * Sends SGI `intid` from the current PE to PE `target`, as a write of
   * ICC_SGI1R_EL1: an IRQ, pending per (INTID, source PE). Sending to the
   * current PE while IRQs are unmasked takes it at once (right after the
   * instruction that sends it).
   *
   * An SGI already pending from this PE stays one: the call returns
   * `false`. A sender that needs every SGI handled waits for an
   * acknowledgement before sending the same one again.
   *
   * @param target The PE that takes the SGI.
   * @param intid The SGI's INTID, 0–15.
   * @returns `true` if the SGI became pending, `false` if it already was.
   * @throws {TypeError} If `intid` is not a number.
   * @throws {RangeError} If `target` is not a PE or `intid` is not 0–15.
   * @throws {Error} If this agent runs the PE with the interrupt unmasked and
   * has no vector for it: nothing becomes pending.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * const log: string[] = [];
   * machine.setVector("irq", (token, event) =>
   *   log.push(`SGI ${event.intid} from PE ${event.source} on PE ${token.core}`));
   * machine.runOn(1, () => machine.daifClr(0b1111));
   * machine.sendSgi(1, 3); // PE 1 is unmasked and run by this agent: taken now
   * assert.deepEqual(log, ["SGI 3 from PE 0 on PE 1"]);
   * ```
   */
  sendSgi(target: number, intid: number): boolean {
    this.#checkOpen("send an SGI");
    checkIndex(target, this.coreCount, "PE", "send an SGI to PE");
    checkInteger(intid, 0, 15, "'intid'", "send an SGI");
    return this.#post(target, "irq", intid, this.#pe);
  }

  /**
   * Wait for interrupt: blocks the current PE (with `Atomics.wait`) until an
   * interrupt is pending on it, masked or not, as WFI wakes on a pending
   * interrupt even when PSTATE masks it. If the interrupt is unmasked, it is
   * taken before `wfi` returns.
   *
   * It blocks the agent: in a Worker that is the point; on the main thread,
   * pass a timeout.
   *
   * @param timeoutMs Most milliseconds to wait (default: no limit).
   * @returns `true` if something was pending, `false` on timeout.
   * @throws {TypeError} If `timeoutMs` is given and is not a number.
   * @throws {RangeError} If `timeoutMs` is negative or NaN.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * assert.equal(machine.wfi(1), false); // nothing came within 1 ms
   * machine.raise(0, "irq", 16);          // masked (DAIF out of reset), but pending
   * assert.equal(machine.wfi(1), true);
   * ```
   */
  wfi(timeoutMs?: number): boolean {
    this.#checkOpen("wait for an interrupt");
    if (timeoutMs !== undefined && typeof timeoutMs !== "number") {
      throw new TypeError(
        `Cannot wait for an interrupt as 'timeoutMs' must be a number: current value is ${
          describe(timeoutMs)
        }`,
      );
    }
    if (timeoutMs !== undefined && (Number.isNaN(timeoutMs) || timeoutMs < 0)) {
      throw new RangeError(
        `Cannot wait for an interrupt as 'timeoutMs' must be a number of milliseconds, 0 or more: current value is ${
          describe(timeoutMs)
        }`,
      );
    }
    const pe = this.#pe;
    const wake = this.#gic.wakeIndex(pe);
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      const sequence = Atomics.load(this.#words, wake);
      if (this.#gic.pendingKinds(pe) !== 0) {
        this.#deliverUnmasked();
        return true;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      Atomics.wait(this.#words, wake, sequence, remaining);
    }
  }

  /**
   * The interrupts pending on a PE, in the order the model would take them
   * if all were unmasked: SErrors, then FIQs, then IRQs, each by INTID then
   * source PE. For inspection; it changes nothing.
   *
   * @param pe The PE to look at (default: the current PE).
   * @returns A fresh array of pending interrupts.
   * @throws {RangeError} If `pe` is not a PE of this machine.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * machine.runOn(1, () => machine.sendSgi(0, 2));
   * machine.raise(0, "serror");
   * assert.deepEqual(machine.pending(), [
   *   { kind: "serror", intid: 0, source: undefined },
   *   { kind: "irq", intid: 2, source: 1 },
   * ]);
   * ```
   */
  pending(pe?: number): Aarch64Interrupt[] {
    this.#checkOpen("inspect pending interrupts");
    pe ??= this.#pe;
    checkIndex(pe, this.coreCount, "PE", "inspect PE");
    return this.#gic.list(pe);
  }

  /**
   * Starts idle delivery on the current PE: whenever an interrupt is raised
   * on it, the agent takes what DAIF lets through between two event-loop
   * tasks, as a PE takes an interrupt while it idles. This is how a Worker
   * that has nothing to run still serves its interrupts (without blocking
   * in {@linkcode Aarch64Machine.wfi}).
   *
   * It waits with `Atomics.waitAsync` and never runs inside the caller's
   * synchronous code. Calling it again for the same PE does nothing;
   * {@linkcode Aarch64Machine.stopListening} or
   * {@linkcode Aarch64Machine.close} stops it.
   *
   * If a handler throws during idle delivery, the other pending interrupts
   * are still taken (as at every delivery point), and then the error (an
   * `AggregateError` if several handlers threw) is reported with
   * `reportError`: it is an `"error"` event on `globalThis`, as an uncaught
   * exception is. Unless a listener calls `preventDefault()` on it, the
   * agent dies of it as of any uncaught exception (a Worker's parent gets an
   * `"error"` event). If the event is prevented, idle delivery goes on and
   * takes later interrupts.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * const taken: number[] = [];
   * machine.setVector("irq", (_token, event) => taken.push(event.intid));
   * machine.daifClr(0b0010);
   * machine.listen();
   * // Another Worker raising on PE 0 writes the same shared memory:
   * const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
   * other.raise(0, "irq", 99);
   * assert.deepEqual(taken, []); // not inside synchronous code...
   * await new Promise((resolve) => setTimeout(resolve, 20));
   * assert.deepEqual(taken, [99]); // ...but between tasks
   * machine.stopListening();
   * ```
   */
  listen(): void {
    this.#checkOpen("listen");
    const pe = this.#pe;
    this.#listeners.start(pe, this.#gic.wakeIndex(pe), () => {
      if ((this.#gic.summary(pe) & ~this.#daifOf(pe) & PENDING_ANY) !== 0) {
        deliverPending(this, this.#model, pe);
      }
    });
  }

  /**
   * Stops idle delivery ({@linkcode Aarch64Machine.listen}) on every PE of
   * this agent, so that nothing of the machine keeps the agent's event loop
   * busy. Interrupts raised later stay pending.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0] });
   * machine.listen();
   * machine.stopListening();
   * ```
   */
  stopListening(): void {
    this.#listeners.stopAll();
  }

  /**
   * Stops idle delivery and gives back the PEs this agent runs, so that
   * another agent can attach to them. Call it before a Worker exits.
   *
   * Afterwards the object is dead: every operation on a PE (`coreIndex`,
   * `mask`, `restore`, `runOn`, the register reads and writes, `raise`,
   * `sendSgi`, `wfi`, `pending`, `listen`) throws an `Error`, so that it can
   * never run as a PE that another agent may own now. To run a PE again,
   * attach to it with {@linkcode Aarch64Machine.attach}. `handle`,
   * `coreCount`, `setVector` and `stopListening` still work; closing again
   * does nothing. Do not close inside a section or a handler of this object:
   * the restore that ends it throws.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   * import assert from "node:assert/strict";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * const worker = Aarch64Machine.attach(machine.handle, 1);
   * worker.close();
   * const next = Aarch64Machine.attach(machine.handle, 1, { listen: false }); // free again
   * assert.equal(next.coreIndex(), 1);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.stopListening();
    this.#closed = true;
    releaseAll(this.#layout, this.#agent);
  }

  /**
   * The same as {@linkcode Aarch64Machine.close}, for `using`.
   *
   * @example Usage
   * ```ts
   * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
   *
   * const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
   * {
   *   using _pe1 = Aarch64Machine.attach(machine.handle, 1);
   * } // closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The current PE's pending summary, for restore()'s fast path.
   *
   * Most calls use a plain read, not Atomics.load: a bare call of a
   * section's callback costs about 3.5 ns here, and an Atomics.load on
   * every restore made a section about 3.1–3.4× a bare call instead of 2.2×
   * (about one bare call more). A plain read sees every raise by this agent,
   * since it is earlier in program order. One by another agent may be read
   * late; that delays it to a later delivery point, as the interrupt
   * controller's signalling delay would, and never delivers while masked.
   * Every ATOMIC_EVERY-th call reads atomically, so remote raises are seen
   * even if the compiler kept the plain read out of a loop.
   */
  #readSummary(): number {
    if (--this.#untilAtomic !== 0) return this.#words[this.#summary] as number;
    this.#untilAtomic = ATOMIC_EVERY;
    return Atomics.load(this.#words, this.#summary);
  }

  /** DAIF of `pe`, current or not. */
  #daifOf(pe: number): number {
    return pe === this.#pe ? this.#daif : this.#daifs[pe] as number;
  }

  #checkOpen(action: string): void {
    if (this.#closed) this.#throwClosed(action);
  }

  #throwClosed(action: string): never {
    throw new Error(
      `Cannot ${action} as this Aarch64Machine was closed: its PEs may belong to another agent now; attach again with Aarch64Machine.attach(handle, pe)`,
    );
  }

  #switchTo(pe: number): void {
    if (pe === this.#pe) return;
    this.#daifs[this.#pe] = this.#daif;
    this.#pe = pe;
    this.#daif = this.#daifs[pe] as number;
    this.#summary = this.#gic.summaryIndex(pe);
  }

  /** A delivery point: takes what is pending and unmasked on the current PE. */
  #deliverUnmasked(): void {
    if ((this.#gic.summary(this.#pe) & ~this.#daif & PENDING_ANY) !== 0) {
      deliverPending(this, this.#model, this.#pe);
    }
  }

  #claim(pe: number): void {
    if (this.#attached >= 0) {
      if (pe === this.#attached) return;
      throw new Error(
        `Cannot run on PE ${pe} as this agent is attached as PE ${this.#attached}: an attached agent is one PE`,
      );
    }
    if (claim(this.#layout, pe, this.#agent)) return;
    throw new Error(
      `Cannot run on PE ${pe} as another agent runs it: each PE belongs to one agent, until that agent calls close()`,
    );
  }

  /**
   * Makes an interrupt pending on `pe`; if this agent runs `pe` with it
   * unmasked, takes it at once (after checking its vector, before posting).
   */
  #post(
    pe: number,
    kind: Aarch64InterruptKind,
    intid: number,
    source: number | undefined,
  ): boolean {
    const takenAtOnce = (PENDING_BIT[kind] & ~this.#daifOf(pe)) !== 0 &&
      owns(this.#layout, pe, this.#agent);
    if (takenAtOnce) this.#checkVector(pe, kind);
    if (!this.#gic.post(pe, kind, intid, source)) return false;
    if (takenAtOnce) deliverPending(this, this.#model, pe);
    return true;
  }

  /**
   * Throws, before anything changes, if DAIF = `daif` on `pe` would let
   * through a pending interrupt whose kind has no vector.
   */
  #checkVectors(pe: number, daif: number): void {
    const open = this.#gic.summary(pe) & ~daif & PENDING_ANY;
    if (open === 0) return;
    for (const kind of TAKE_ORDER) {
      const unvectored = (open & PENDING_BIT[kind]) !== 0 && this.#vectors[kind] === undefined;
      // The summary bit may be stale: look for one really pending.
      if (unvectored && this.#gic.has(pe, kind)) this.#checkVector(pe, kind);
    }
  }

  #checkVector(pe: number, kind: Aarch64InterruptKind): void {
    if (this.#vectors[kind] !== undefined) return;
    throw new Error(
      `Cannot take ${
        KIND_NAMES[kind]
      } on PE ${pe} as no "${kind}" vector is set: call setVector("${kind}", handler) before unmasking`,
    );
  }

  #takeDeliverable(pe: number): Aarch64Interrupt | undefined {
    const daif = this.#daifOf(pe);
    const open = this.#gic.summary(pe) & ~daif & PENDING_ANY;
    if (open === 0) return undefined;
    // An unmasking instruction checked the vectors already; this catches an
    // interrupt that another agent raised while the PE was unmasked.
    this.#checkVectors(pe, daif);
    return this.#gic.take(pe, open);
  }
}

function checkKind(kind: unknown, action: string): asserts kind is Aarch64InterruptKind {
  if (typeof kind !== "string") {
    throw new TypeError(
      `Cannot ${action} as 'kind' must be "irq", "fiq" or "serror": current value is ${
        describe(kind)
      }`,
    );
  }
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new RangeError(
      `Cannot ${action} as 'kind' must be "irq", "fiq" or "serror": current value is ${
        describe(kind)
      }`,
    );
  }
}

/** Reads and checks `options.listen` of attach(): whether to start idle delivery. */
function listenOption(options: unknown): boolean {
  if (options === undefined) return true;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot attach to PE as 'options' must be an object: current value is ${describe(options)}`,
    );
  }
  const listen: unknown = (options as { listen?: unknown }).listen;
  if (listen !== undefined && typeof listen !== "boolean") {
    throw new TypeError(
      `Cannot attach to PE as 'options.listen' must be a boolean: current value is ${
        describe(listen)
      }`,
    );
  }
  return listen !== false;
}
