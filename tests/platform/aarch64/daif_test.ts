// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { exceptionFree } from "../../../mod.ts";
import { Aarch64Machine, DAIF } from "../../../platform/aarch64/mod.ts";

function machineWithDaif(daif: number): Aarch64Machine {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  machine.writeDaif(daif);
  return machine;
}

Deno.test("DAIF has the architectural bit positions", () => {
  assert.deepEqual({ ...DAIF }, { D: 0x200, A: 0x100, I: 0x80, F: 0x40, ALL: 0x3c0 });
  assert.ok(Object.isFrozen(DAIF));
});

Deno.test("Aarch64Machine() starts every PE with DAIF = 0x3c0", () => {
  const machine = new Aarch64Machine({ preset: "rk3588" });
  const seen = [];
  for (let pe = 0; pe < machine.coreCount; pe++) {
    seen.push(machine.runOn(pe, () => machine.readDaif()));
  }
  assert.deepEqual(seen, [0x3c0, 0x3c0, 0x3c0, 0x3c0, 0x3c0, 0x3c0, 0x3c0, 0x3c0]);
});

// imm bit 3 → D (0x200), 2 → A (0x100), 1 → I (0x80), 0 → F (0x40).
const IMMEDIATE_BITS = [
  0x000,
  0x040,
  0x080,
  0x0c0,
  0x100,
  0x140,
  0x180,
  0x1c0,
  0x200,
  0x240,
  0x280,
  0x2c0,
  0x300,
  0x340,
  0x380,
  0x3c0,
];

Deno.test("Aarch64Machine.daifSet() sets the bits of every immediate, from all clear", async (t) => {
  for (let imm = 0; imm <= 15; imm++) {
    await t.step(`#${imm}`, () => {
      const machine = machineWithDaif(0);
      machine.daifSet(imm);
      assert.equal(machine.readDaif(), IMMEDIATE_BITS[imm]);
    });
  }
});

Deno.test("Aarch64Machine.daifSet() leaves all set as all set, for every immediate", async (t) => {
  for (let imm = 0; imm <= 15; imm++) {
    await t.step(`#${imm}`, () => {
      const machine = machineWithDaif(0x3c0);
      machine.daifSet(imm);
      assert.equal(machine.readDaif(), 0x3c0);
    });
  }
});

Deno.test("Aarch64Machine.daifClr() leaves all clear as all clear, for every immediate", async (t) => {
  for (let imm = 0; imm <= 15; imm++) {
    await t.step(`#${imm}`, () => {
      const machine = machineWithDaif(0);
      machine.daifClr(imm);
      assert.equal(machine.readDaif(), 0);
    });
  }
});

Deno.test("Aarch64Machine.daifClr() clears the bits of every immediate, from all set", async (t) => {
  const expected = [
    0x3c0,
    0x380,
    0x340,
    0x300,
    0x2c0,
    0x280,
    0x240,
    0x200,
    0x1c0,
    0x180,
    0x140,
    0x100,
    0x0c0,
    0x080,
    0x040,
    0x000,
  ];
  for (let imm = 0; imm <= 15; imm++) {
    await t.step(`#${imm}`, () => {
      const machine = machineWithDaif(0x3c0);
      machine.daifClr(imm);
      assert.equal(machine.readDaif(), expected[imm]);
    });
  }
});

Deno.test("Aarch64Machine.daifSet() and daifClr() change only the named bits", () => {
  const machine = machineWithDaif(DAIF.D | DAIF.F); // 0x240
  machine.daifSet(0b0010); // I
  assert.equal(machine.readDaif(), 0x2c0);
  machine.daifClr(0b1000); // D
  assert.equal(machine.readDaif(), 0x0c0);
  machine.daifSet(0b0101); // A, F
  assert.equal(machine.readDaif(), 0x1c0);
  machine.daifClr(0b0011); // I, F
  assert.equal(machine.readDaif(), 0x100);
});

Deno.test("Aarch64Machine.daifSet() and daifClr() throw for bad immediates and change nothing", async (t) => {
  const machine = machineWithDaif(DAIF.I);
  const cases: [unknown, string, string][] = [
    [16, "RangeError", "16"],
    [-1, "RangeError", "-1"],
    [1.5, "RangeError", "1.5"],
    [NaN, "RangeError", "NaN"],
    [Infinity, "RangeError", "Infinity"],
    ["1", "TypeError", `"1"`],
    [undefined, "TypeError", "undefined"],
    [1n, "TypeError", "1n"],
  ];
  for (const [imm, name, shown] of cases) {
    await t.step(`${shown}`, () => {
      const what = name === "TypeError" ? "must be a number" : "must be an integer from 0 to 15";
      assert.throws(() => machine.daifSet(imm as number), {
        name,
        message: `Cannot execute msr daifset as the immediate ${what}: current value is ${shown}`,
      });
      assert.throws(() => machine.daifClr(imm as number), {
        name,
        message: `Cannot execute msr daifclr as the immediate ${what}: current value is ${shown}`,
      });
      assert.equal(machine.readDaif(), DAIF.I);
    });
  }
});

Deno.test("Aarch64Machine.writeDaif() keeps bits 9..6 and ignores the others", async (t) => {
  const cases: [number | bigint, number][] = [
    [0, 0x000],
    [0x3c0, 0x3c0],
    [0x03f, 0x000],
    [0xc00, 0x000],
    [0x23f, 0x200],
    [0x4c0, 0x0c0],
    [0xffff_ffff, 0x3c0],
    [0xffff_fc3f, 0x000],
    [2 ** 32 + 0x40, 0x040],
    [Number.MAX_SAFE_INTEGER, 0x3c0],
    [0x100n, 0x100],
    [0xffff_ffff_ffff_ffffn, 0x3c0],
    [0x8000_0000_0000_0080n, 0x080],
    [0xffff_ffff_ffff_fc3fn, 0x000],
  ];
  for (const [value, expected] of cases) {
    await t.step(`0x${value.toString(16)}`, () => {
      const machine = machineWithDaif(0x140);
      machine.writeDaif(value);
      assert.equal(machine.readDaif(), expected);
    });
  }
});

Deno.test("Aarch64Machine.writeDaif() throws for values that are not a 64-bit register and changes nothing", async (t) => {
  const machine = machineWithDaif(DAIF.A);
  const range = "must be an integer from 0 to 2^64 - 1";
  const cases: [unknown, string, string, string][] = [
    [-1, "RangeError", range, "-1"],
    [0.5, "RangeError", range, "0.5"],
    [NaN, "RangeError", range, "NaN"],
    [Infinity, "RangeError", range, "Infinity"],
    [2 ** 53, "RangeError", range, "9007199254740992"],
    [-1n, "RangeError", range, "-1n"],
    [2n ** 64n, "RangeError", range, "18446744073709551616n"],
    ["0x80", "TypeError", "must be a number or a bigint", `"0x80"`],
    [null, "TypeError", "must be a number or a bigint", "null"],
    [undefined, "TypeError", "must be a number or a bigint", "undefined"],
  ];
  for (const [value, name, what, shown] of cases) {
    await t.step(shown, () => {
      assert.throws(() => machine.writeDaif(value as number), {
        name,
        message: `Cannot write DAIF as the value ${what}: current value is ${shown}`,
      });
      assert.equal(machine.readDaif(), DAIF.A);
    });
  }
});

Deno.test("Aarch64Machine.mask() returns DAIF and sets all four bits", async (t) => {
  for (const start of [0x000, 0x040, 0x080, 0x100, 0x200, 0x240, 0x3c0]) {
    await t.step(`from 0x${start.toString(16)}`, () => {
      const machine = machineWithDaif(start);
      assert.equal(machine.mask(), start);
      assert.equal(machine.readDaif(), 0x3c0);
    });
  }
});

Deno.test("Aarch64Machine.restore() is msr daif: it writes the saved value back", () => {
  const machine = machineWithDaif(0);
  machine.restore(DAIF.I | DAIF.F);
  assert.equal(machine.readDaif(), 0x0c0);
  machine.restore(0xffff_fc3f); // no DAIF bit: all clear
  assert.equal(machine.readDaif(), 0);
  machine.restore(0x3c0n as unknown as number); // a bigint register value
  assert.equal(machine.readDaif(), 0x3c0);
});

Deno.test("Aarch64Machine.restore() throws for values that are not a register and changes nothing", () => {
  const machine = machineWithDaif(DAIF.F);
  assert.throws(() => machine.restore(undefined as unknown as number), {
    name: "TypeError",
    message:
      "Cannot write DAIF as the value must be a number or a bigint: current value is undefined",
  });
  assert.throws(() => machine.restore(0.5), {
    name: "RangeError",
    message:
      "Cannot write DAIF as the value must be an integer from 0 to 2^64 - 1: current value is 0.5",
  });
  assert.throws(() => machine.restore(-0x40), { name: "RangeError" });
  assert.equal(machine.readDaif(), DAIF.F);
});

Deno.test("Aarch64Machine mask()/restore() nest two and three deep from every starting state", async (t) => {
  for (const start of [0x000, 0x080, 0x240, 0x3c0]) {
    await t.step(`two deep from 0x${start.toString(16)}`, () => {
      const machine = machineWithDaif(start);
      const outer = machine.mask();
      const inner = machine.mask();
      assert.deepEqual([outer, inner, machine.readDaif()], [start, 0x3c0, 0x3c0]);
      machine.restore(inner);
      assert.equal(machine.readDaif(), 0x3c0);
      machine.restore(outer);
      assert.equal(machine.readDaif(), start);
    });
    await t.step(`three deep from 0x${start.toString(16)}`, () => {
      const machine = machineWithDaif(start);
      const first = machine.mask();
      const second = machine.mask();
      const third = machine.mask();
      assert.deepEqual([first, second, third], [start, 0x3c0, 0x3c0]);
      machine.restore(third);
      machine.restore(second);
      assert.equal(machine.readDaif(), 0x3c0);
      machine.restore(first);
      assert.equal(machine.readDaif(), start);
    });
  }
});

Deno.test("Aarch64Machine mask()/restore() save what an inner change left, as the crate's idiom does", () => {
  const machine = machineWithDaif(0x3c0);
  const outer = machine.mask();
  machine.daifClr(0b0011); // unmask I and F inside the outer section
  const inner = machine.mask();
  assert.equal(inner, 0x300);
  machine.restore(inner);
  assert.equal(machine.readDaif(), 0x300);
  machine.restore(outer);
  assert.equal(machine.readDaif(), 0x3c0);
});

Deno.test("exceptionFree() on Aarch64Machine masks inside and restores DAIF, nested three deep", async (t) => {
  for (const start of [0x000, 0x100, 0x3c0]) {
    await t.step(`from 0x${start.toString(16)}`, () => {
      const machine = machineWithDaif(start);
      const seen = exceptionFree(machine, () => {
        const inside = [machine.readDaif()];
        exceptionFree(machine, () => {
          inside.push(machine.readDaif());
          exceptionFree(machine, () => inside.push(machine.readDaif()));
          inside.push(machine.readDaif());
        });
        inside.push(machine.readDaif());
        return inside;
      });
      assert.deepEqual(seen, [0x3c0, 0x3c0, 0x3c0, 0x3c0, 0x3c0]);
      assert.equal(machine.readDaif(), start);
    });
  }
});

Deno.test("Aarch64Machine keeps DAIF per PE", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1, 0x2] });
  machine.writeDaif(0x040);
  machine.runOn(1, () => machine.writeDaif(0x100));
  machine.runOn(2, () => {
    assert.equal(machine.readDaif(), 0x3c0);
    machine.runOn(1, () => assert.equal(machine.readDaif(), 0x100));
    machine.daifClr(0b1000);
  });
  assert.equal(machine.readDaif(), 0x040);
  assert.equal(machine.runOn(2, () => machine.readDaif()), 0x1c0);
});
