// Copyright 2026 the percpu authors. MIT license.

/**
 * A faithful software model of AArch64 exception masking, on one thread or
 * one Worker per PE: DAIF, MPIDR_EL1, exception entry and return, IRQs,
 * FIQs, SErrors and SGIs between PEs.
 *
 * The Rust crate masks with `mrs x0, daif; msr daifset, #0xf` and restores
 * with `msr daif, x0`. JavaScript cannot execute those instructions, so
 * {@linkcode Aarch64Machine} reproduces what the Arm Architecture Reference
 * Manual says they do; it is the {@linkcode Platform} to give
 * `exceptionFree`, `PerCpu` and the spin locks.
 *
 * ```ts
 * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu";
 * import { Aarch64Machine } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * const machine = new Aarch64Machine({ preset: "rk3399" }); // 6 PEs, as its device tree lists them
 * const counts = PerCpu.from(machine, () => new ExceptionLock(0));
 * const bump = () => exceptionFree(machine, (token) => counts.get().update(token, (n) => n + 1));
 *
 * machine.setVector("irq", bump); // the handler counts too, on the PE that takes the IRQ
 * machine.runOn(4, () => machine.daifClr(0b0010)); // PE 4 (Cortex-A72, MPIDR 0x100) unmasks IRQs
 * machine.runOn(4, bump);
 * machine.sendSgi(4, 1); // from PE 0: PE 4 takes it at once
 * assert.equal(machine.runOn(4, bump), 3);
 * ```
 *
 * @module
 */
export * from "./daif.ts";
export * from "./machine.ts";
export * from "./mpidr.ts";
export * from "./presets.ts";
export * from "./types.ts";
