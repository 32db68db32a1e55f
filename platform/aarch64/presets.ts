// Copyright 2026 the percpu authors. MIT license.

import { checkInteger } from "../../_internal/check_index.ts";
import { MAX_PES } from "./_layout.ts";

/**
 * A real machine's PEs, as its device tree lists them: one entry of
 * {@linkcode AARCH64_PRESETS}.
 */
export interface Aarch64Preset {
  /** The SoC, for example `"Rockchip RK3399"`. */
  readonly soc: string;
  /** Boards or products built on it. */
  readonly boards: string;
  /** The cores, in device-tree order, for example `"4× Cortex-A53, 2× Cortex-A72"`. */
  readonly cores: string;
  /**
   * The `reg` of each `cpu@` node, in device-tree order: the affinity part
   * of MPIDR_EL1 (Aff3 in bits 39..32, Aff2..Aff0 in bits 23..0).
   */
  readonly mpidrs: readonly number[];
  /** Whether MPIDR_EL1.MT reads 1 on these cores (from the core's reference manual). */
  readonly multithreaded: boolean;
  /** Where the values come from: the device-tree file, its repository and commit. */
  readonly source: string;
}

/** Names of the fixed presets; `"qemu-virt"` takes a CPU count as well. */
export type Aarch64PresetName = "rk3399" | "rk3588" | "t8103" | "bcm2711";

/**
 * The PEs of a few real SoCs, taken from their public device trees (Linux,
 * `torvalds/linux`): the `reg` of each `cpu@` node, in the order the nodes
 * appear, which is the order Linux numbers logical CPUs in.
 *
 * | name | SoC | PEs, in order |
 * | --- | --- | --- |
 * | `rk3399` | Rockchip RK3399 | `0x0`–`0x3` (Cortex-A53), `0x100`, `0x101` (Cortex-A72) |
 * | `rk3588` | Rockchip RK3588 | `0x0`, `0x100`, `0x200`, `0x300` (Cortex-A55), `0x400`–`0x700` (Cortex-A76); MT set |
 * | `t8103` | Apple M1 | `0x0`–`0x3` (Icestorm), `0x10100`–`0x10103` (Firestorm) |
 * | `bcm2711` | Broadcom BCM2711 (Raspberry Pi 4) | `0x0`–`0x3` (Cortex-A72) |
 *
 * The Cortex-A55 and Cortex-A76 are DynamIQ cores: their MPIDR_EL1 has MT
 * set and Aff0 = 0, the core number being in Aff1 (Cortex-A76 Technical
 * Reference Manual, MPIDR_EL1). For a QEMU `virt` machine, whose PEs depend
 * on the CPU count, see {@linkcode qemuVirtMpidrs}.
 *
 * @example Usage
 * ```ts
 * import { AARCH64_PRESETS, Aarch64Machine } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(AARCH64_PRESETS.rk3399.mpidrs, [0x0, 0x1, 0x2, 0x3, 0x100, 0x101]);
 * const machine = new Aarch64Machine({ preset: "rk3399" });
 * assert.equal(machine.coreCount, 6);
 * ```
 */
export const AARCH64_PRESETS: Readonly<Record<Aarch64PresetName, Aarch64Preset>> = Object.freeze({
  rk3399: Object.freeze({
    soc: "Rockchip RK3399",
    boards: "RockPro64, Pinebook Pro, ROCK Pi 4, Firefly-RK3399",
    cores: "4× Cortex-A53, 2× Cortex-A72",
    mpidrs: Object.freeze([0x0, 0x1, 0x2, 0x3, 0x100, 0x101]),
    multithreaded: false,
    source:
      "torvalds/linux arch/arm64/boot/dts/rockchip/rk3399.dtsi (commit 00ed905ab8e5622700535cd14258e447ef1e7ba9)",
  }),
  rk3588: Object.freeze({
    soc: "Rockchip RK3588",
    boards: "Rock 5B, Orange Pi 5 Plus, Turing RK1",
    cores: "4× Cortex-A55, 4× Cortex-A76",
    mpidrs: Object.freeze([0x0, 0x100, 0x200, 0x300, 0x400, 0x500, 0x600, 0x700]),
    multithreaded: true,
    source:
      "torvalds/linux arch/arm64/boot/dts/rockchip/rk3588-base.dtsi (commit 05b24f63b49b756a01563c2b792e9b4004271b2e; formerly rk3588s.dtsi)",
  }),
  t8103: Object.freeze({
    soc: "Apple M1 (t8103)",
    boards: "MacBook Air (M1, 2020), Mac mini (M1, 2020), MacBook Pro 13-inch (M1, 2020)",
    cores: "4× Icestorm, 4× Firestorm",
    mpidrs: Object.freeze([0x0, 0x1, 0x2, 0x3, 0x10100, 0x10101, 0x10102, 0x10103]),
    multithreaded: false,
    source:
      "torvalds/linux arch/arm64/boot/dts/apple/t8103.dtsi (commit 0a8282b831196b777bbad5f007d66f698421f71e)",
  }),
  bcm2711: Object.freeze({
    soc: "Broadcom BCM2711",
    boards: "Raspberry Pi 4 Model B, Raspberry Pi 400, Compute Module 4",
    cores: "4× Cortex-A72",
    mpidrs: Object.freeze([0x0, 0x1, 0x2, 0x3]),
    multithreaded: false,
    source:
      "torvalds/linux arch/arm/boot/dts/broadcom/bcm2711.dtsi (commit 0de09025f161f67c07978c4742e221243d070d41), shared by arm and arm64",
  }),
});

/**
 * The affinity values of a QEMU `virt` machine with `cpus` CPUs, in
 * device-tree order.
 *
 * QEMU numbers CPU `n` with Aff1 = ⌊n / 16⌋ and Aff0 = n mod 16: clusters
 * of 16, the length of a GICv3 SGI target list
 * (`virt_cpu_mp_affinity()` in `hw/arm/virt.c`, with
 * `GICV3_TARGETLIST_BITS`; `qemu/qemu` commit
 * 19bd6aafbd184be963d2b7c24874e3252a7088b7). With a GICv2 the clusters are
 * of 8, but a GICv2 `virt` machine has at most 8 CPUs, so the values are
 * the same. Its `cpu@n` nodes are in CPU order.
 *
 * @param cpus Number of CPUs (`-smp cpus`).
 * @returns One affinity value per CPU.
 * @throws {TypeError} If `cpus` is not a number.
 * @throws {RangeError} If `cpus` is not an integer from 1 to 512.
 *
 * @example Usage
 * ```ts
 * import { qemuVirtMpidrs } from "@percpu/percpu/platform/aarch64";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(qemuVirtMpidrs(4), [0x0, 0x1, 0x2, 0x3]);
 * assert.deepEqual(qemuVirtMpidrs(18).slice(15), [0xf, 0x100, 0x101]);
 * ```
 */
export function qemuVirtMpidrs(cpus: number): number[] {
  checkInteger(cpus, 1, MAX_PES, "'cpus'", "build a QEMU virt machine");
  const mpidrs: number[] = [];
  for (let n = 0; n < cpus; n++) mpidrs.push(Math.floor(n / 16) << 8 | n % 16);
  return mpidrs;
}
