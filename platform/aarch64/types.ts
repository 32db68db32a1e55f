// Copyright 2026 the percpu authors. MIT license.

// The option and event types of the AArch64 model: what a caller passes to
// Aarch64Machine and what its vector handlers receive.

import type { ExceptionFree } from "../../percpu/exception_free.ts";
import type { Aarch64PresetName } from "./presets.ts";

/** The structured-cloneable description of a machine's shared memory. */
export interface Aarch64MachineHandle {
  /** Holds the header, the affinity table and one block per PE. */
  readonly buffer: SharedArrayBuffer;
}

/**
 * The three asynchronous exceptions the model raises and masks: `"irq"`
 * (masked by DAIF.I), `"fiq"` (DAIF.F) and `"serror"` (DAIF.A).
 */
export type Aarch64InterruptKind = "irq" | "fiq" | "serror";

/**
 * What a vector handler is told about the interrupt it took.
 *
 * INTIDs follow a GICv3: SGIs 0–15 (sent by a PE with
 * {@linkcode Aarch64Machine.sendSgi}), PPIs 16–31 and SPIs 32–1019 (raised
 * with {@linkcode Aarch64Machine.raise}). An SError has INTID 0.
 */
export interface Aarch64Interrupt {
  /** Which exception was taken. */
  readonly kind: Aarch64InterruptKind;
  /** The interrupt ID: 0–15 for an SGI, 16–1019 otherwise; 0 for an SError. */
  readonly intid: number;
  /** For an SGI, the index of the PE that sent it; otherwise `undefined`. */
  readonly source: number | undefined;
}

/**
 * A vector handler: runs on exception entry with DAIF = `0x3c0` and a live
 * token of the PE that took the interrupt. It must be synchronous.
 */
export type Aarch64Vector = (token: ExceptionFree, event: Aarch64Interrupt) => void;

/** A machine of identical clusters; see {@linkcode Aarch64TopologyOptions}. */
export interface Aarch64Topology {
  /** Number of clusters, 1–256. */
  clusters: number;
  /** Cores in each cluster, 1–256. */
  coresPerCluster: number;
  /**
   * Hardware threads per core, 1–256. Above 1, Aff0 numbers the thread and
   * MPIDR_EL1.MT is set.
   *
   * @default {1}
   */
  threadsPerCore?: number;
}

/** A machine given by the affinity value of each PE, in device-tree order. */
export interface Aarch64MpidrsOptions {
  /**
   * The `reg` of each `cpu@` node of a device tree, in the order the nodes
   * appear: Aff3 in bits 39..32, Aff2..Aff0 in bits 23..0. PE `i` of the
   * machine is `mpidrs[i]`. 1 to 512 distinct values.
   */
  mpidrs: readonly (number | bigint)[];
  /**
   * Whether MPIDR_EL1.MT reads 1 on every PE.
   *
   * @default {false}
   */
  multithreaded?: boolean;
}

/** A machine given by its topology, numbered cluster by cluster. */
export interface Aarch64TopologyOptions {
  /**
   * Clusters × cores × threads. Without threads, PE `c × coresPerCluster + k`
   * has Aff1 = `c`, Aff0 = `k`; with threads, Aff2 = cluster, Aff1 = core,
   * Aff0 = thread, and MT is set.
   */
  topology: Aarch64Topology;
}

/** A machine shaped like a real SoC; see {@linkcode AARCH64_PRESETS}. */
export interface Aarch64PresetOptions {
  /** The preset's name. */
  preset: Aarch64PresetName;
}

/** A QEMU `virt` machine; see {@linkcode qemuVirtMpidrs}. */
export interface Aarch64QemuVirtOptions {
  /** The QEMU `virt` board. */
  preset: "qemu-virt";
  /** Number of CPUs, 1–512 (`-smp`). */
  cpus: number;
}

/** How to build an {@linkcode Aarch64Machine}: one of the four shapes. */
export type Aarch64MachineOptions =
  | Aarch64MpidrsOptions
  | Aarch64TopologyOptions
  | Aarch64PresetOptions
  | Aarch64QemuVirtOptions;

/** Options of {@linkcode Aarch64Machine.attach}. */
export interface Aarch64AttachOptions {
  /**
   * Whether to start idle delivery on the PE at once
   * ({@linkcode Aarch64Machine.listen}).
   *
   * @default {true}
   */
  listen?: boolean;
}
