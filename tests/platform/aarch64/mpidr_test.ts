// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import {
  AARCH64_PRESETS,
  Aarch64Machine,
  type Aarch64MachineOptions,
  decodeMpidr,
  encodeMpidr,
  MPIDR,
  type MpidrFields,
  qemuVirtMpidrs,
} from "../../../platform/aarch64/mod.ts";

function mpidrsOf(machine: Aarch64Machine): bigint[] {
  const values: bigint[] = [];
  for (let pe = 0; pe < machine.coreCount; pe++) {
    values.push(machine.runOn(pe, () => machine.mpidr()));
  }
  return values;
}

Deno.test("MPIDR has the architectural field masks", () => {
  assert.deepEqual({ ...MPIDR }, {
    AFF0: 0xffn,
    AFF1: 0xff00n,
    AFF2: 0xff0000n,
    AFF3: 0xff00000000n,
    MT: 0x1000000n,
    U: 0x40000000n,
    RES1: 0x80000000n,
    AFFINITY: 0xff00ffffffn,
  });
});

Deno.test("Aarch64Machine.mpidr() of the rk3399 preset follows its device tree", () => {
  const machine = new Aarch64Machine({ preset: "rk3399" });
  assert.equal(machine.coreCount, 6);
  assert.deepEqual(mpidrsOf(machine), [
    0x80000000n,
    0x80000001n,
    0x80000002n,
    0x80000003n,
    0x80000100n,
    0x80000101n,
  ]);
});

Deno.test("Aarch64Machine.mpidr() of the rk3588 preset has MT set and the core in Aff1", () => {
  const machine = new Aarch64Machine({ preset: "rk3588" });
  assert.deepEqual(mpidrsOf(machine), [
    0x81000000n,
    0x81000100n,
    0x81000200n,
    0x81000300n,
    0x81000400n,
    0x81000500n,
    0x81000600n,
    0x81000700n,
  ]);
});

Deno.test("Aarch64Machine.mpidr() of the t8103 (Apple M1) preset has two clusters in Aff2", () => {
  const machine = new Aarch64Machine({ preset: "t8103" });
  assert.deepEqual(mpidrsOf(machine), [
    0x80000000n,
    0x80000001n,
    0x80000002n,
    0x80000003n,
    0x80010100n,
    0x80010101n,
    0x80010102n,
    0x80010103n,
  ]);
});

Deno.test("Aarch64Machine.mpidr() of the bcm2711 (Raspberry Pi 4) preset", () => {
  const machine = new Aarch64Machine({ preset: "bcm2711" });
  assert.deepEqual(mpidrsOf(machine), [0x80000000n, 0x80000001n, 0x80000002n, 0x80000003n]);
});

Deno.test("Aarch64Machine.mpidr() of a QEMU virt machine numbers CPUs in clusters of 16", () => {
  const small = new Aarch64Machine({ preset: "qemu-virt", cpus: 4 });
  assert.deepEqual(mpidrsOf(small), [0x80000000n, 0x80000001n, 0x80000002n, 0x80000003n]);
  const large = new Aarch64Machine({ preset: "qemu-virt", cpus: 34 });
  const values = mpidrsOf(large);
  assert.equal(values.length, 34);
  assert.deepEqual(values.slice(14, 18), [0x8000000en, 0x8000000fn, 0x80000100n, 0x80000101n]);
  assert.deepEqual(values.slice(31), [0x8000010fn, 0x80000200n, 0x80000201n]);
});

Deno.test("AARCH64_PRESETS lists the device-tree values and where they come from", () => {
  assert.deepEqual(Object.keys(AARCH64_PRESETS), ["rk3399", "rk3588", "t8103", "bcm2711"]);
  assert.deepEqual(AARCH64_PRESETS.rk3399.mpidrs, [0x0, 0x1, 0x2, 0x3, 0x100, 0x101]);
  assert.deepEqual(AARCH64_PRESETS.rk3588.mpidrs, [
    0x0,
    0x100,
    0x200,
    0x300,
    0x400,
    0x500,
    0x600,
    0x700,
  ]);
  assert.deepEqual(AARCH64_PRESETS.t8103.mpidrs, [
    0x0,
    0x1,
    0x2,
    0x3,
    0x10100,
    0x10101,
    0x10102,
    0x10103,
  ]);
  assert.deepEqual(AARCH64_PRESETS.bcm2711.mpidrs, [0x0, 0x1, 0x2, 0x3]);
  for (const preset of Object.values(AARCH64_PRESETS)) {
    assert.match(
      preset.source,
      /^torvalds\/linux arch\/arm(64)?\/boot\/dts\/.+\.dtsi \(commit [0-9a-f]{40}/,
    );
    assert.ok(Object.isFrozen(preset) && Object.isFrozen(preset.mpidrs));
  }
});

Deno.test("qemuVirtMpidrs() numbers CPU n as Aff1 = n / 16, Aff0 = n % 16", () => {
  assert.deepEqual(qemuVirtMpidrs(1), [0x0]);
  assert.deepEqual(qemuVirtMpidrs(17), [...Array(16).keys(), 0x100]);
  const all = qemuVirtMpidrs(512);
  assert.equal(all.length, 512);
  assert.equal(all[511], 0x1f0f);
});

Deno.test("qemuVirtMpidrs() throws for a bad CPU count", () => {
  for (const [cpus, shown] of [[0, "0"], [513, "513"], [2.5, "2.5"]] as const) {
    assert.throws(() => qemuVirtMpidrs(cpus as number), {
      name: "RangeError",
      message:
        `Cannot build a QEMU virt machine as 'cpus' must be an integer from 1 to 512: current value is ${shown}`,
    });
  }
  for (const [cpus, shown] of [["4", `"4"`], [4n, "4n"], [undefined, "undefined"]] as const) {
    assert.throws(() => qemuVirtMpidrs(cpus as unknown as number), {
      name: "TypeError",
      message:
        `Cannot build a QEMU virt machine as 'cpus' must be a number: current value is ${shown}`,
    });
  }
});

Deno.test("Aarch64Machine.mpidr() of an explicit list keeps device-tree order and all four levels", () => {
  const machine = new Aarch64Machine({
    mpidrs: [0x10100, 0x0, 0x7f_00_00_00_01, 0xab_00_12_34_56n],
  });
  assert.deepEqual(mpidrsOf(machine), [
    0x80010100n,
    0x80000000n,
    0x7f_80_00_00_01n,
    0xab_80_12_34_56n,
  ]);
  assert.deepEqual(decodeMpidr(machine.runOn(3, () => machine.mpidr())), {
    aff0: 0x56,
    aff1: 0x34,
    aff2: 0x12,
    aff3: 0xab,
    mt: false,
    u: false,
  });
});

Deno.test("Aarch64Machine.mpidr() sets U on a machine of one PE only", () => {
  assert.equal(new Aarch64Machine({ mpidrs: [0x0] }).mpidr(), 0xc0000000n);
  assert.equal(new Aarch64Machine({ preset: "qemu-virt", cpus: 1 }).mpidr(), 0xc0000000n);
  assert.equal(new Aarch64Machine({ mpidrs: [0x0, 0x1] }).mpidr(), 0x80000000n);
});

Deno.test("Aarch64Machine.mpidr() sets MT when the list says multithreaded", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1], multithreaded: true });
  assert.deepEqual(mpidrsOf(machine), [0x81000000n, 0x81000001n]);
});

Deno.test("Aarch64Machine.mpidr() of a topology without threads: Aff1 = cluster, Aff0 = core", () => {
  const machine = new Aarch64Machine({ topology: { clusters: 2, coresPerCluster: 3 } });
  assert.deepEqual(mpidrsOf(machine), [
    0x80000000n,
    0x80000001n,
    0x80000002n,
    0x80000100n,
    0x80000101n,
    0x80000102n,
  ]);
  const same = new Aarch64Machine({
    topology: { clusters: 2, coresPerCluster: 3, threadsPerCore: 1 },
  });
  assert.deepEqual(mpidrsOf(same), mpidrsOf(machine));
});

Deno.test("Aarch64Machine.mpidr() of a topology with threads: MT, Aff2 = cluster, Aff1 = core, Aff0 = thread", () => {
  const machine = new Aarch64Machine({
    topology: { clusters: 2, coresPerCluster: 2, threadsPerCore: 2 },
  });
  assert.deepEqual(mpidrsOf(machine), [
    0x81000000n,
    0x81000001n,
    0x81000100n,
    0x81000101n,
    0x81010000n,
    0x81010001n,
    0x81010100n,
    0x81010101n,
  ]);
});

Deno.test("Aarch64Machine() rejects duplicate, empty and malformed affinity lists", async (t) => {
  const cases: [string, unknown, string, string][] = [
    [
      "a duplicate",
      [0x0, 0x1, 0x100, 0x1],
      "RangeError",
      "Cannot create Aarch64Machine as affinity 0x1 is listed twice, at 'mpidrs[1]' and 'mpidrs[3]': each PE needs its own",
    ],
    [
      "a duplicate given as a bigint",
      [0x100, 0x100n],
      "RangeError",
      "Cannot create Aarch64Machine as affinity 0x100 is listed twice, at 'mpidrs[0]' and 'mpidrs[1]': each PE needs its own",
    ],
    [
      "an empty list",
      [],
      "RangeError",
      "Cannot create Aarch64Machine as 'mpidrs' must list from 1 to 512 PEs: current value is an array of length 0",
    ],
    [
      "too many PEs",
      [...Array(513).keys()],
      "RangeError",
      "Cannot create Aarch64Machine as 'mpidrs' must list from 1 to 512 PEs: current value is an array of length 513",
    ],
    [
      "bit 31 (a full MPIDR instead of a reg)",
      [0x80000000],
      "RangeError",
      "Cannot create Aarch64Machine as 'mpidrs[0]' must have only affinity bits (Aff3 in 39..32, Aff2..Aff0 in 23..0, as in a device-tree reg): current value is 0x80000000",
    ],
    [
      "MT (bit 24)",
      [0x0, 0x1000000],
      "RangeError",
      "Cannot create Aarch64Machine as 'mpidrs[1]' must have only affinity bits (Aff3 in 39..32, Aff2..Aff0 in 23..0, as in a device-tree reg): current value is 0x1000000",
    ],
    [
      "bits above 39",
      [0x100_0000_0000n],
      "RangeError",
      "Cannot create Aarch64Machine as 'mpidrs[0]' must have only affinity bits (Aff3 in 39..32, Aff2..Aff0 in 23..0, as in a device-tree reg): current value is 0x10000000000",
    ],
    [
      "a negative value",
      [-1],
      "RangeError",
      "Cannot create Aarch64Machine as 'mpidrs[0]' must have only affinity bits (Aff3 in 39..32, Aff2..Aff0 in 23..0, as in a device-tree reg): current value is -0x1",
    ],
    [
      "a fraction",
      [0.5],
      "TypeError",
      "Cannot create Aarch64Machine as 'mpidrs[0]' must be an integer or a bigint: current value is 0.5",
    ],
    [
      "a string",
      [0x0, "0x1"],
      "TypeError",
      `Cannot create Aarch64Machine as 'mpidrs[1]' must be an integer or a bigint: current value is "0x1"`,
    ],
    [
      "not an array",
      "0,1",
      "TypeError",
      `Cannot create Aarch64Machine as 'mpidrs' must be an array of affinity values: current value is "0,1"`,
    ],
  ];
  for (const [name, mpidrs, errorName, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => new Aarch64Machine({ mpidrs } as Aarch64MachineOptions),
        { name: errorName, message },
      );
    });
  }
});

Deno.test("Aarch64Machine() rejects bad option shapes, topologies and presets", async (t) => {
  const cases: [string, unknown, string, string][] = [
    [
      "no options",
      undefined,
      "TypeError",
      "Cannot create Aarch64Machine as 'options' must be an object with 'mpidrs', 'topology' or 'preset': current value is undefined",
    ],
    [
      "none of the three",
      { cores: 4 },
      "TypeError",
      "Cannot create Aarch64Machine as 'options' must have exactly one of 'mpidrs', 'topology' and 'preset': current value has none",
    ],
    [
      "two of them",
      { mpidrs: [0], preset: "rk3399" },
      "TypeError",
      "Cannot create Aarch64Machine as 'options' must have exactly one of 'mpidrs', 'topology' and 'preset': current value has 'mpidrs' and 'preset'",
    ],
    [
      "an unknown preset",
      { preset: "rk3566" },
      "RangeError",
      `Cannot create Aarch64Machine as 'preset' must be one of "rk3399", "rk3588", "t8103", "bcm2711", "qemu-virt": current value is "rk3566"`,
    ],
    [
      "qemu-virt without cpus",
      { preset: "qemu-virt" },
      "TypeError",
      `Cannot create Aarch64Machine as the "qemu-virt" preset needs 'cpus', the number of CPUs: current value is undefined`,
    ],
    [
      "qemu-virt with too many cpus",
      { preset: "qemu-virt", cpus: 600 },
      "RangeError",
      "Cannot build a QEMU virt machine as 'cpus' must be an integer from 1 to 512: current value is 600",
    ],
    [
      "cpus with another preset",
      { preset: "rk3399", cpus: 6 },
      "TypeError",
      `Cannot create Aarch64Machine as 'cpus' is an option of the "qemu-virt" preset only: current value of 'preset' is "rk3399"`,
    ],
    [
      "multithreaded with a preset",
      { preset: "rk3399", multithreaded: true },
      "TypeError",
      "Cannot create Aarch64Machine as 'multithreaded' goes with 'mpidrs' only: a topology or a preset says it",
    ],
    [
      "multithreaded not a boolean",
      { mpidrs: [0], multithreaded: 1 },
      "TypeError",
      "Cannot create Aarch64Machine as 'multithreaded' must be a boolean: current value is 1",
    ],
    [
      "a topology that is not an object",
      { topology: 4 },
      "TypeError",
      "Cannot create Aarch64Machine as 'topology' must be an object: current value is 4",
    ],
    [
      "zero clusters",
      { topology: { clusters: 0, coresPerCluster: 4 } },
      "RangeError",
      "Cannot create Aarch64Machine as 'topology.clusters' must be an integer from 1 to 256: current value is 0",
    ],
    [
      "a missing core count",
      { topology: { clusters: 1 } },
      "TypeError",
      "Cannot create Aarch64Machine as 'topology.coresPerCluster' must be a number: current value is undefined",
    ],
    [
      "a cluster count that is a string",
      { topology: { clusters: "2", coresPerCluster: 4 } },
      "TypeError",
      `Cannot create Aarch64Machine as 'topology.clusters' must be a number: current value is "2"`,
    ],
    [
      "qemu-virt with cpus as a string",
      { preset: "qemu-virt", cpus: "4" },
      "TypeError",
      `Cannot build a QEMU virt machine as 'cpus' must be a number: current value is "4"`,
    ],
    [
      "fractional threads",
      { topology: { clusters: 1, coresPerCluster: 2, threadsPerCore: 1.5 } },
      "RangeError",
      "Cannot create Aarch64Machine as 'topology.threadsPerCore' must be an integer from 1 to 256: current value is 1.5",
    ],
    [
      "257 cores in a cluster",
      { topology: { clusters: 1, coresPerCluster: 257 } },
      "RangeError",
      "Cannot create Aarch64Machine as 'topology.coresPerCluster' must be an integer from 1 to 256: current value is 257",
    ],
    [
      "too many PEs in all",
      { topology: { clusters: 4, coresPerCluster: 16, threadsPerCore: 16 } },
      "RangeError",
      "Cannot create Aarch64Machine as the topology must have at most 512 PEs: current value has 4 × 16 × 16 = 1024",
    ],
  ];
  for (const [name, options, errorName, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => new Aarch64Machine(options as Aarch64MachineOptions),
        { name: errorName, message },
      );
    });
  }
});

Deno.test("decodeMpidr() splits every field", () => {
  assert.deepEqual(decodeMpidr(0xc0000000n), {
    aff0: 0,
    aff1: 0,
    aff2: 0,
    aff3: 0,
    mt: false,
    u: true,
  });
  assert.deepEqual(decodeMpidr(0x12_81_34_56_78n), {
    aff0: 0x78,
    aff1: 0x56,
    aff2: 0x34,
    aff3: 0x12,
    mt: true,
    u: false,
  });
  assert.deepEqual(decodeMpidr(0x101), { aff0: 1, aff1: 1, aff2: 0, aff3: 0, mt: false, u: false });
});

Deno.test("decodeMpidr() throws for values that are not a 64-bit register", () => {
  assert.throws(() => decodeMpidr(-1n), {
    name: "RangeError",
    message:
      "Cannot decode MPIDR_EL1 as the value must be an integer from 0 to 2^64 - 1: current value is -1n",
  });
  assert.throws(() => decodeMpidr(2n ** 64n), { name: "RangeError" });
  assert.throws(() => decodeMpidr(1.5), { name: "RangeError" });
  assert.throws(() => decodeMpidr("0x80000000" as unknown as bigint), {
    name: "TypeError",
    message:
      `Cannot decode MPIDR_EL1 as the value must be a bigint or a number: current value is "0x80000000"`,
  });
});

Deno.test("encodeMpidr() sets every field and RES1, and undoes decodeMpidr()", () => {
  assert.equal(
    encodeMpidr({ aff0: 0x12, aff1: 0x34, aff2: 0x56, aff3: 0x78, mt: true, u: true }),
    0x78_c1_56_34_12n,
  );
  assert.equal(
    encodeMpidr({ aff0: 0, aff1: 0, aff2: 0, aff3: 0, mt: false, u: false }),
    MPIDR.RES1,
  );
  for (const value of [0x80000000n, 0xff_c1ff_ffffn, 0x81000500n, 0x1_8001_0203n]) {
    assert.equal(encodeMpidr(decodeMpidr(value)), value);
  }
});

Deno.test("encodeMpidr() throws for bad fields", () => {
  const good = { aff0: 0, aff1: 0, aff2: 0, aff3: 0, mt: false, u: false };
  const cases: [unknown, string, string][] = [
    [
      null,
      "TypeError",
      "Cannot encode MPIDR_EL1 as 'fields' must be an object: current value is null",
    ],
    [
      { ...good, aff2: 256 },
      "RangeError",
      "Cannot encode MPIDR_EL1 as 'aff2' must be an integer from 0 to 255: current value is 256",
    ],
    [
      { ...good, aff0: -1 },
      "RangeError",
      "Cannot encode MPIDR_EL1 as 'aff0' must be an integer from 0 to 255: current value is -1",
    ],
    [
      { ...good, aff3: 1n },
      "TypeError",
      "Cannot encode MPIDR_EL1 as 'aff3' must be a number: current value is 1n",
    ],
    [
      { ...good, mt: 1 },
      "TypeError",
      "Cannot encode MPIDR_EL1 as 'mt' must be a boolean: current value is 1",
    ],
    [
      { ...good, u: undefined },
      "TypeError",
      "Cannot encode MPIDR_EL1 as 'u' must be a boolean: current value is undefined",
    ],
  ];
  for (const [fields, name, message] of cases) {
    assert.throws(() => encodeMpidr(fields as MpidrFields), { name, message });
  }
});
