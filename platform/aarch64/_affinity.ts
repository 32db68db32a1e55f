// Copyright 2026 the percpu authors. MIT license.

// Turns the machine options (an affinity list, a topology or a preset) into
// the PEs of the machine.

import { checkInteger } from "../../_internal/check_index.ts";
import { describe } from "../../_internal/describe.ts";
import { MAX_PES } from "./_layout.ts";
import { MPIDR } from "./mpidr.ts";
import { AARCH64_PRESETS, type Aarch64PresetName, qemuVirtMpidrs } from "./presets.ts";

/** The PEs of a machine, in device-tree order. */
export interface Pes {
  /** Affinity value of each PE (a device-tree `reg`). */
  affinities: number[];
  /** MPIDR_EL1.MT of every PE. */
  multithreaded: boolean;
}

const ACTION = "create Aarch64Machine";

/** Reads and checks the options of `new Aarch64Machine(options)`. */
export function pesOf(options: unknown): Pes {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${ACTION} as 'options' must be an object with 'mpidrs', 'topology' or 'preset': current value is ${
        describe(options)
      }`,
    );
  }
  const given = options as Record<string, unknown>;
  const kinds = ["mpidrs", "topology", "preset"].filter((key) => given[key] !== undefined);
  if (kinds.length !== 1) {
    throw new TypeError(
      `Cannot ${ACTION} as 'options' must have exactly one of 'mpidrs', 'topology' and 'preset': current value has ${
        kinds.length === 0 ? "none" : kinds.map((key) => `'${key}'`).join(" and ")
      }`,
    );
  }
  if (given.cpus !== undefined && given.preset !== "qemu-virt") {
    throw new TypeError(
      `Cannot ${ACTION} as 'cpus' is an option of the "qemu-virt" preset only: current value of 'preset' is ${
        describe(given.preset)
      }`,
    );
  }
  if (given.multithreaded !== undefined && given.mpidrs === undefined) {
    throw new TypeError(
      `Cannot ${ACTION} as 'multithreaded' goes with 'mpidrs' only: a topology or a preset says it`,
    );
  }
  if (given.mpidrs !== undefined) {
    if (given.multithreaded !== undefined && typeof given.multithreaded !== "boolean") {
      throw new TypeError(
        `Cannot ${ACTION} as 'multithreaded' must be a boolean: current value is ${
          describe(given.multithreaded)
        }`,
      );
    }
    return {
      affinities: checkAffinities(given.mpidrs),
      multithreaded: given.multithreaded === true,
    };
  }
  if (given.topology !== undefined) return pesOfTopology(given.topology);
  return pesOfPreset(given.preset, given.cpus);
}

function checkAffinities(list: unknown): number[] {
  if (!Array.isArray(list)) {
    throw new TypeError(
      `Cannot ${ACTION} as 'mpidrs' must be an array of affinity values: current value is ${
        describe(list)
      }`,
    );
  }
  if (list.length === 0 || list.length > MAX_PES) {
    throw new RangeError(
      `Cannot ${ACTION} as 'mpidrs' must list from 1 to ${MAX_PES} PEs: current value is ${
        describe(list)
      }`,
    );
  }
  const seen = new Map<number, number>();
  const affinities: number[] = [];
  for (let pe = 0; pe < list.length; pe++) {
    const value: unknown = list[pe];
    let affinity: bigint;
    if (typeof value === "number" && Number.isSafeInteger(value)) {
      affinity = BigInt(value);
    } else if (typeof value === "bigint") {
      affinity = value;
    } else {
      throw new TypeError(
        `Cannot ${ACTION} as 'mpidrs[${pe}]' must be an integer or a bigint: current value is ${
          describe(value)
        }`,
      );
    }
    if (affinity < 0n || (affinity & ~MPIDR.AFFINITY) !== 0n) {
      throw new RangeError(
        `Cannot ${ACTION} as 'mpidrs[${pe}]' must have only affinity bits (Aff3 in 39..32, Aff2..Aff0 in 23..0, as in a device-tree reg): current value is ${
          hex(affinity)
        }`,
      );
    }
    const number = Number(affinity);
    const first = seen.get(number);
    if (first !== undefined) {
      throw new RangeError(
        `Cannot ${ACTION} as affinity ${
          hex(affinity)
        } is listed twice, at 'mpidrs[${first}]' and 'mpidrs[${pe}]': each PE needs its own`,
      );
    }
    seen.set(number, pe);
    affinities.push(number);
  }
  return affinities;
}

function pesOfTopology(topology: unknown): Pes {
  if (typeof topology !== "object" || topology === null) {
    throw new TypeError(
      `Cannot ${ACTION} as 'topology' must be an object: current value is ${describe(topology)}`,
    );
  }
  const { clusters, coresPerCluster, threadsPerCore = 1 } = topology as Record<string, unknown>;
  const counts = { clusters, coresPerCluster, threadsPerCore };
  for (const [name, count] of Object.entries(counts)) {
    checkInteger(count, 1, 256, `'topology.${name}'`, ACTION);
  }
  const c = clusters as number;
  const k = coresPerCluster as number;
  const t = threadsPerCore as number;
  if (c * k * t > MAX_PES) {
    throw new RangeError(
      `Cannot ${ACTION} as the topology must have at most ${MAX_PES} PEs: current value has ${c} × ${k} × ${t} = ${
        c * k * t
      }`,
    );
  }
  const affinities: number[] = [];
  for (let cluster = 0; cluster < c; cluster++) {
    for (let core = 0; core < k; core++) {
      for (let thread = 0; thread < t; thread++) {
        // Threads: Aff0 = thread, Aff1 = core, Aff2 = cluster (MT set).
        // Otherwise: Aff0 = core, Aff1 = cluster.
        affinities.push(t > 1 ? cluster << 16 | core << 8 | thread : cluster << 8 | core);
      }
    }
  }
  return { affinities, multithreaded: t > 1 };
}

function pesOfPreset(name: unknown, cpus: unknown): Pes {
  if (name === "qemu-virt") {
    if (cpus === undefined) {
      throw new TypeError(
        `Cannot ${ACTION} as the "qemu-virt" preset needs 'cpus', the number of CPUs: current value is undefined`,
      );
    }
    return { affinities: qemuVirtMpidrs(cpus as number), multithreaded: false };
  }
  if (typeof name !== "string" || !Object.hasOwn(AARCH64_PRESETS, name)) {
    throw new RangeError(
      `Cannot ${ACTION} as 'preset' must be one of ${
        [...Object.keys(AARCH64_PRESETS), "qemu-virt"].map((key) => `"${key}"`).join(", ")
      }: current value is ${describe(name)}`,
    );
  }
  const preset = AARCH64_PRESETS[name as Aarch64PresetName];
  return { affinities: [...preset.mpidrs], multithreaded: preset.multithreaded };
}

function hex(value: bigint): string {
  return value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}
