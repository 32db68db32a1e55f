// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { type ExceptionFree, exceptionFree, ExceptionLock, PerCpu } from "../../../mod.ts";
import { Aarch64Machine, type Aarch64MachineHandle, DAIF } from "../../../platform/aarch64/mod.ts";

/** A machine whose vectors log every interrupt with DAIF and SPSR_EL1 as the handler sees them. */
function loggingMachine(cores = 2): { machine: Aarch64Machine; log: string[] } {
  const machine = new Aarch64Machine({ mpidrs: [...Array(cores).keys()] });
  const log: string[] = [];
  for (const kind of ["irq", "fiq", "serror"] as const) {
    machine.setVector(kind, (token, event) => {
      assert.equal(token.live, true);
      assert.equal(token.core, machine.coreIndex());
      const source = event.source === undefined ? "" : ` from ${event.source}`;
      log.push(
        `${kind} ${event.intid}${source} on ${machine.coreIndex()}: daif ${
          hex(machine.readDaif())
        } spsr ${hex(machine.readSpsr())}`,
      );
    });
  }
  return { machine, log };
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

Deno.test("Aarch64Machine keeps an interrupt pending while masked and takes it exactly at the restore", () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(0);
  exceptionFree(machine, () => {
    log.push("section starts");
    assert.equal(machine.raise(0, "irq", 30), true);
    log.push("raised");
    exceptionFree(machine, () => log.push("inner section"));
    log.push("inner restored");
  });
  log.push("after the section");
  assert.deepEqual(log, [
    "section starts",
    "raised",
    "inner section",
    "inner restored",
    "irq 30 on 0: daif 0x3c0 spsr 0x5",
    "after the section",
  ]);
  assert.equal(machine.readDaif(), 0);
  assert.equal(machine.readSpsr(), 0);
});

Deno.test("Aarch64Machine never takes an interrupt when the outer state was masked", () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(DAIF.I);
  const outer = machine.mask();
  const inner = machine.mask();
  machine.raise(0, "irq", 16);
  machine.restore(inner);
  machine.restore(outer);
  assert.equal(log.length, 0);
  assert.deepEqual(machine.pending(), [{ kind: "irq", intid: 16, source: undefined }]);
  machine.daifClr(0b0010);
  assert.deepEqual(log, ["irq 16 on 0: daif 0x3c0 spsr 0x5"]);
  assert.deepEqual(machine.pending(), []);
});

Deno.test("Aarch64Machine takes each kind only when its own DAIF bit clears", () => {
  const { machine, log } = loggingMachine();
  machine.raise(0, "irq", 40);
  machine.raise(0, "fiq", 41);
  machine.raise(0, "serror");
  machine.daifClr(0b1000); // D: masks none of them
  assert.equal(log.length, 0);
  machine.daifClr(0b0001); // F
  assert.deepEqual(log, ["fiq 41 on 0: daif 0x3c0 spsr 0x185"]);
  machine.daifSet(0b0001);
  machine.daifClr(0b0010); // I
  assert.deepEqual(log.slice(1), ["irq 40 on 0: daif 0x3c0 spsr 0x145"]);
  machine.writeDaif(DAIF.I | DAIF.F); // A clears
  assert.deepEqual(log.slice(2), ["serror 0 on 0: daif 0x3c0 spsr 0xc5"]);
  assert.equal(machine.readDaif(), 0x0c0);
});

Deno.test("Aarch64Machine does not take anything at mask(), daifSet() or a restore that stays masked", () => {
  const { machine, log } = loggingMachine();
  machine.raise(0, "irq", 20);
  const previous = machine.mask();
  machine.daifSet(0b1111);
  machine.restore(previous);
  machine.writeDaif(DAIF.ALL);
  assert.equal(log.length, 0);
  assert.equal(machine.readIsr(), DAIF.I);
});

Deno.test("Aarch64Machine takes a raise on the current unmasked PE at once", () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(DAIF.D);
  log.push("before");
  assert.equal(machine.raise(0, "irq", 100), true);
  log.push("after");
  assert.deepEqual(log, ["before", "irq 100 on 0: daif 0x3c0 spsr 0x205", "after"]);
  assert.equal(machine.readDaif(), DAIF.D);
});

Deno.test("Aarch64Machine takes a self-SGI right after the instruction that sends it", () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(0);
  machine.sendSgi(0, 7);
  log.push("next instruction");
  assert.deepEqual(log, ["irq 7 from 0 on 0: daif 0x3c0 spsr 0x5", "next instruction"]);
});

Deno.test("Aarch64Machine restores DAIF from SPSR_EL1 on return, and a handler's writeSpsr() changes it", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0] });
  const seen: number[] = [];
  machine.setVector("irq", (_token, event) => {
    seen.push(machine.readSpsr());
    if (event.intid === 16) machine.writeSpsr(machine.readSpsr() | DAIF.I);
  });
  machine.writeDaif(0);
  machine.raise(0, "irq", 17);
  assert.equal(machine.readDaif(), 0);
  machine.raise(0, "irq", 16); // its handler returns with IRQs masked
  assert.equal(machine.readDaif(), DAIF.I);
  machine.raise(0, "irq", 18);
  assert.deepEqual(seen, [0x5, 0x5]);
  assert.deepEqual(machine.pending(), [{ kind: "irq", intid: 18, source: undefined }]);
});

Deno.test("Aarch64Machine.writeSpsr() keeps the DAIF bits with M = EL1h and ignores the rest", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0] });
  const seen: number[] = [];
  machine.setVector("fiq", () => {
    machine.writeSpsr(0xf000_0000); // NZCV: not modelled
    seen.push(machine.readSpsr());
    machine.writeSpsr(0x3c0n);
    seen.push(machine.readSpsr());
    machine.writeSpsr(0x1_0000_0104);
    seen.push(machine.readSpsr());
  });
  machine.writeDaif(0);
  machine.raise(0, "fiq", 31);
  assert.deepEqual(seen, [0x5, 0x3c5, 0x105]);
  assert.equal(machine.readDaif(), 0x100); // the last write is what eret restores
  assert.throws(() => machine.writeSpsr(-1), {
    name: "RangeError",
    message:
      "Cannot write SPSR_EL1 as the value must be an integer from 0 to 2^64 - 1: current value is -1",
  });
});

Deno.test("Aarch64Machine nests interrupts when a handler unmasks, saving SPSR_EL1 per level", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0] });
  const log: string[] = [];
  machine.setVector("irq", (_token, event) => {
    log.push(
      `enter ${event.intid}: daif ${hex(machine.readDaif())} spsr ${hex(machine.readSpsr())}`,
    );
    if (event.intid === 20) {
      machine.raise(0, "irq", 21); // masked: pending
      machine.raise(0, "irq", 22);
      machine.daifClr(0b0010); // unmask IRQ: 21 and 22 nest here, one after the other
      log.push(
        `back in 20: daif ${hex(machine.readDaif())} spsr ${hex(machine.readSpsr())}`,
      );
    }
    log.push(`leave ${event.intid}`);
  });
  machine.writeDaif(DAIF.D);
  machine.raise(0, "irq", 20);
  assert.deepEqual(log, [
    "enter 20: daif 0x3c0 spsr 0x205",
    "enter 21: daif 0x3c0 spsr 0x345",
    "leave 21",
    "enter 22: daif 0x3c0 spsr 0x345",
    "leave 22",
    "back in 20: daif 0x340 spsr 0x205",
    "leave 20",
  ]);
  assert.equal(machine.readDaif(), DAIF.D);
  assert.equal(machine.readSpsr(), 0);
});

Deno.test("Aarch64Machine takes SError, then FIQ, then IRQ; each by INTID, then source PE", () => {
  const { machine, log } = loggingMachine(3);
  machine.raise(0, "irq", 40);
  machine.raise(0, "irq", 17);
  machine.runOn(1, () => machine.sendSgi(0, 3));
  machine.sendSgi(0, 3);
  machine.runOn(2, () => machine.sendSgi(0, 1));
  machine.raise(0, "fiq", 900);
  machine.raise(0, "fiq", 16);
  machine.raise(0, "serror");
  assert.equal(machine.readIsr(), DAIF.A | DAIF.I | DAIF.F);
  machine.writeDaif(0);
  assert.deepEqual(log, [
    "serror 0 on 0: daif 0x3c0 spsr 0x5",
    "fiq 16 on 0: daif 0x3c0 spsr 0x5",
    "fiq 900 on 0: daif 0x3c0 spsr 0x5",
    "irq 1 from 2 on 0: daif 0x3c0 spsr 0x5",
    "irq 3 from 0 on 0: daif 0x3c0 spsr 0x5",
    "irq 3 from 1 on 0: daif 0x3c0 spsr 0x5",
    "irq 17 on 0: daif 0x3c0 spsr 0x5",
    "irq 40 on 0: daif 0x3c0 spsr 0x5",
  ]);
  assert.equal(machine.readIsr(), 0);
});

/** A deterministic shuffle (mulberry32 from `seed`): the order of the raises must not matter. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

Deno.test("Aarch64Machine takes everything pending at a delivery point SError first, then FIQs, then IRQs, by INTID then source PE, whatever the raise order", async (t) => {
  // 40 PEs: SGI bit intid × 40 + source crosses words of the SGI bitmap
  // (SGI 0 from PE 31 is bit 31, from PE 32 bit 32); INTIDs 31/32 and 63/64
  // cross words of the FIQ and IRQ bitmaps.
  const sources = [39, 0, 32, 1, 31];
  type Raise = { kind: "serror" | "fiq" | "irq"; intid: number; source?: number };
  const raises: Raise[] = [
    { kind: "serror", intid: 0 },
    ...[1019, 32, 16, 63, 500, 31, 64].map((intid): Raise => ({ kind: "fiq", intid })),
    ...[64, 1019, 16, 32, 511, 31, 512, 63].map((intid): Raise => ({ kind: "irq", intid })),
    ...[15, 0, 7, 1].flatMap((intid) =>
      sources.map((source): Raise => ({ kind: "irq", intid, source }))
    ),
  ];
  const expected = (pe: number, spsr: string): string[] =>
    [
      "serror 0",
      ...[16, 31, 32, 63, 64, 500, 1019].map((intid) => `fiq ${intid}`),
      ...[0, 1, 7, 15].flatMap((intid) =>
        [0, 1, 31, 32, 39].map((source) => `irq ${intid} from ${source}`)
      ),
      ...[16, 31, 32, 63, 64, 511, 512, 1019].map((intid) => `irq ${intid}`),
    ].map((taken) => `${taken} on ${pe}: daif 0x3c0 spsr ${spsr}`);
  /** Raises everything on `pe` from `machine` in a shuffled order, each one twice. */
  const raiseAll = (machine: Aarch64Machine, pe: number, seed: number): void => {
    const made = new Set<string>();
    for (const raise of shuffled([...raises, ...raises], seed)) {
      let pending: boolean;
      if (raise.source !== undefined) {
        pending = machine.runOn(raise.source, () => machine.sendSgi(pe, raise.intid));
      } else if (raise.kind === "serror") {
        pending = machine.raise(pe, "serror");
      } else {
        pending = machine.raise(pe, raise.kind, raise.intid);
      }
      const key = `${raise.kind} ${raise.intid} ${raise.source}`;
      assert.equal(pending, !made.has(key), key); // the repeat is coalesced
      made.add(key);
    }
    assert.equal(made.size, 36);
  };

  await t.step("at writeDaif(0)", () => {
    const { machine, log } = loggingMachine(40);
    raiseAll(machine, 0, 1);
    assert.deepEqual(log, []); // DAIF is 0x3c0 out of reset
    assert.equal(machine.readIsr(), DAIF.A | DAIF.I | DAIF.F);
    machine.writeDaif(0);
    assert.deepEqual(log, expected(0, "0x5"));
    assert.deepEqual(machine.pending(), []);
  });

  await t.step("at daifClr(0b0111)", () => {
    const { machine, log } = loggingMachine(40);
    raiseAll(machine, 0, 2);
    assert.deepEqual(log, []);
    machine.daifClr(0b0111); // D stays set
    assert.deepEqual(log, expected(0, "0x205"));
    assert.deepEqual(machine.pending(), []);
  });

  await t.step("at the restore that ends a section", () => {
    const { machine, log } = loggingMachine(40);
    machine.writeDaif(0);
    exceptionFree(machine, () => {
      raiseAll(machine, 0, 3);
      assert.deepEqual(log, []);
    });
    assert.deepEqual(log, expected(0, "0x5"));
    assert.deepEqual(machine.pending(), []);
  });

  await t.step("at wfi() of a PE that another agent runs unmasked", () => {
    const { machine } = loggingMachine(40);
    const target = Aarch64Machine.attach(machine.handle, 2, { listen: false });
    try {
      const log: string[] = [];
      for (const kind of ["irq", "fiq", "serror"] as const) {
        target.setVector(kind, (_token, event) => {
          const source = event.source === undefined ? "" : ` from ${event.source}`;
          log.push(
            `${kind} ${event.intid}${source} on ${target.coreIndex()}: daif ${
              hex(target.readDaif())
            } spsr ${hex(target.readSpsr())}`,
          );
        });
      }
      target.writeDaif(0);
      raiseAll(machine, 2, 4); // not this agent's PE: pending until PE 2 reaches a delivery point
      assert.deepEqual(log, []);
      assert.equal(target.wfi(0), true);
      assert.deepEqual(log, expected(2, "0x5"));
      assert.deepEqual(target.pending(), []);
      assert.equal(target.readIsr(), 0);
    } finally {
      target.close();
    }
  });
});

Deno.test("Aarch64Machine.raise() coalesces an interrupt that is already pending", () => {
  const { machine, log } = loggingMachine();
  assert.equal(machine.raise(0, "irq", 33), true);
  assert.equal(machine.raise(0, "irq", 33), false);
  assert.equal(machine.raise(0, "fiq", 33), true); // another interrupt: FIQ 33
  assert.equal(machine.raise(0, "serror"), true);
  assert.equal(machine.raise(0, "serror", 0), false);
  machine.writeDaif(0);
  assert.equal(log.length, 3);
  assert.equal(machine.raise(0, "irq", 33), true); // taken, so no longer pending
  assert.equal(log.length, 4);
});

Deno.test("Aarch64Machine.sendSgi() keeps one pending bit per INTID and source PE", () => {
  const { machine, log } = loggingMachine(3);
  assert.equal(machine.sendSgi(2, 5), true);
  assert.equal(machine.sendSgi(2, 5), false);
  assert.equal(machine.sendSgi(2, 6), true);
  assert.equal(machine.runOn(1, () => machine.sendSgi(2, 5)), true);
  assert.deepEqual(machine.pending(2), [
    { kind: "irq", intid: 5, source: 0 },
    { kind: "irq", intid: 5, source: 1 },
    { kind: "irq", intid: 6, source: 0 },
  ]);
  machine.runOn(2, () => machine.daifClr(0b0010));
  assert.deepEqual(log, [
    "irq 5 from 0 on 2: daif 0x3c0 spsr 0x345",
    "irq 5 from 1 on 2: daif 0x3c0 spsr 0x345",
    "irq 6 from 0 on 2: daif 0x3c0 spsr 0x345",
  ]);
});

Deno.test("Aarch64Machine takes a raise on another unmasked PE of the same agent on that PE", () => {
  const { machine, log } = loggingMachine(3);
  machine.runOn(2, () => machine.writeDaif(0));
  exceptionFree(machine, () => {
    machine.sendSgi(2, 0); // PE 0 is masked; PE 2 is not
    log.push(`still on ${machine.coreIndex()}`);
  });
  assert.deepEqual(log, ["irq 0 from 0 on 2: daif 0x3c0 spsr 0x5", "still on 0"]);
});

Deno.test("Aarch64Machine keeps a raise on another masked PE pending until that PE unmasks", () => {
  const { machine, log } = loggingMachine(3);
  machine.raise(1, "irq", 64);
  machine.writeDaif(0); // PE 0 unmasks: not its interrupt
  assert.equal(log.length, 0);
  machine.runOn(1, () => {
    log.push("PE 1 runs");
    machine.daifClr(0b0010);
    log.push("PE 1 unmasked");
  });
  assert.deepEqual(log, ["PE 1 runs", "irq 64 on 1: daif 0x3c0 spsr 0x345", "PE 1 unmasked"]);
});

Deno.test("Aarch64Machine gives handlers a live token of the PE that took the interrupt", () => {
  const machine = new Aarch64Machine({ preset: "rk3399" });
  const counts = PerCpu.from(machine, () => new ExceptionLock(0));
  let kept: ExceptionFree | undefined;
  machine.setVector("irq", (token, event) => {
    kept = token;
    counts.get().update(token, (n) => n + event.intid);
  });
  machine.runOn(5, () => machine.daifClr(0b0010));
  machine.raise(5, "irq", 50);
  assert.equal(kept?.core, 5);
  assert.equal(kept?.live, false);
  const totals = counts.unsynchronizedValues().map((lock) =>
    exceptionFree(machine, (token) => lock.borrow(token))
  );
  assert.deepEqual(totals, [0, 0, 0, 0, 0, 50]);
});

Deno.test("Aarch64Machine reports a handler's error at the delivery point after taking the rest", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0] });
  const taken: number[] = [];
  machine.setVector("irq", (_token, event) => {
    taken.push(event.intid);
    if (event.intid === 16) throw new Error("handler failed");
  });
  machine.raise(0, "irq", 16);
  machine.raise(0, "irq", 17);
  assert.throws(() => machine.writeDaif(DAIF.D), { message: "handler failed" });
  assert.equal(machine.readDaif(), DAIF.D);
  assert.equal(machine.readSpsr(), 0);
  assert.deepEqual(machine.pending(), []);
  assert.deepEqual(taken, [16, 17]);
});

Deno.test("Aarch64Machine rejects a handler that returns a promise", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0] });
  // @ts-expect-error: an async handler on purpose.
  machine.setVector("irq", async () => {});
  machine.writeDaif(0);
  assert.throws(() => machine.raise(0, "irq", 16), {
    name: "TypeError",
    message:
      "Cannot return from an interrupt handler that returned a promise as handlers must be synchronous: do the asynchronous work outside the handler",
  });
  assert.equal(machine.readDaif(), 0);
});

Deno.test("Aarch64Machine leaves an interrupt pending when its vector is missing", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  machine.raise(0, "fiq", 20);
  assert.throws(() => machine.writeDaif(0), {
    name: "Error",
    message:
      `Cannot take an FIQ on PE 0 as no "fiq" vector is set: call setVector("fiq", handler) before unmasking`,
  });
  assert.equal(machine.readDaif(), DAIF.ALL); // the failed msr daif changed nothing
  assert.throws(() => machine.daifClr(0b0001), { name: "Error" });
  assert.equal(machine.readDaif(), DAIF.ALL);
  machine.daifClr(0b0010); // IRQ: nothing of it pending, allowed
  assert.equal(machine.readDaif(), DAIF.D | DAIF.A | DAIF.F);
  assert.deepEqual(machine.pending(), [{ kind: "fiq", intid: 20, source: undefined }]);
  const taken: number[] = [];
  machine.setVector("fiq", (_token, event) => taken.push(event.intid));
  machine.writeDaif(0);
  assert.deepEqual(taken, [20]);
  machine.setVector("fiq", undefined);
  assert.throws(() => machine.raise(0, "fiq", 21), {
    name: "Error",
    message:
      `Cannot take an FIQ on PE 0 as no "fiq" vector is set: call setVector("fiq", handler) before unmasking`,
  });
  assert.deepEqual(machine.pending(), []); // the refused raise made nothing pending
  assert.throws(() => machine.sendSgi(0, 3), { name: "Error" }); // no "irq" vector either
  assert.deepEqual(machine.pending(), []);
  assert.equal(machine.raise(1, "fiq", 21), true); // PE 1 is masked: pending there
});

Deno.test("Aarch64Machine fails one section, not every later one, when an interrupt without a vector arrives", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  machine.setVector("irq", () => {});
  machine.writeDaif(0);
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    other.raise(0, "serror"); // from another agent: PE 0 is unmasked and has no "serror" vector
    let runs = 0;
    assert.throws(() => exceptionFree(machine, () => runs++), {
      name: "Error",
      message:
        `Cannot take an SError on PE 0 as no "serror" vector is set: call setVector("serror", handler) before unmasking`,
    });
    assert.equal(runs, 1);
    assert.equal(machine.readDaif(), DAIF.ALL); // the restore did not unmask
    for (let i = 0; i < 3; i++) assert.equal(exceptionFree(machine, () => ++runs), i + 2);
    assert.deepEqual(machine.pending(), [{ kind: "serror", intid: 0, source: undefined }]);
    const taken: string[] = [];
    machine.setVector("serror", (_token, event) => taken.push(event.kind));
    machine.writeDaif(0);
    assert.deepEqual(taken, ["serror"]);
    assert.deepEqual(machine.pending(), []);
  } finally {
    other.close();
  }
});

Deno.test("Aarch64Machine.wfi() returns false on timeout and true when something is pending", () => {
  const { machine, log } = loggingMachine();
  assert.equal(machine.wfi(0), false);
  const start = performance.now();
  assert.equal(machine.wfi(20), false);
  assert.ok(performance.now() - start >= 19);
  machine.raise(0, "irq", 60); // masked: wfi wakes, but the IRQ is not taken
  assert.equal(machine.wfi(1000), true);
  assert.equal(log.length, 0);
  machine.writeDaif(DAIF.ALL & ~DAIF.F); // FIQ unmasked only: the IRQ stays
  assert.equal(machine.wfi(0), true);
  assert.equal(log.length, 0);
});

Deno.test("Aarch64Machine.wfi() takes an unmasked pending interrupt before it returns", () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(DAIF.I | DAIF.A); // FIQ unmasked
  machine.raise(0, "irq", 61); // masked: stays pending
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    other.raise(0, "fiq", 62); // another agent: PE 0 takes it at its next delivery point
    assert.equal(log.length, 0);
    assert.equal(machine.wfi(1000), true);
    assert.deepEqual(log, ["fiq 62 on 0: daif 0x3c0 spsr 0x185"]);
    assert.deepEqual(machine.pending(), [{ kind: "irq", intid: 61, source: undefined }]);
  } finally {
    other.close();
  }
});

Deno.test("Aarch64Machine.readIsr() shows what is pending, masked or not", () => {
  const { machine } = loggingMachine();
  assert.equal(machine.readIsr(), 0);
  machine.raise(0, "serror");
  machine.raise(0, "irq", 1019);
  assert.equal(machine.readIsr(), DAIF.A | DAIF.I);
  assert.equal(machine.runOn(1, () => machine.readIsr()), 0);
});

Deno.test("Aarch64Machine.runOn() takes what another agent made pending when the PE resumes", () => {
  const { machine, log } = loggingMachine(3);
  machine.runOn(2, () => machine.writeDaif(0)); // PE 2 now belongs to this agent
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    assert.equal(other.sendSgi(2, 9), true); // other agent: not taken here
    assert.equal(log.length, 0);
    machine.runOn(2, () => log.push("PE 2 resumes"));
    assert.deepEqual(log, ["irq 9 from 1 on 2: daif 0x3c0 spsr 0x5", "PE 2 resumes"]);
  } finally {
    other.close();
  }
});

Deno.test("Aarch64Machine.restore() takes what another agent raised while the PE was masked", () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(0);
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    for (let section = 0; section < 200; section++) {
      exceptionFree(machine, () => {
        if (section % 50 === 0) other.raise(0, "irq", 16 + section / 50);
        log.push(`section ${section}`);
      });
    }
    assert.deepEqual(log.filter((line) => line.startsWith("irq")), [
      "irq 16 on 0: daif 0x3c0 spsr 0x5",
      "irq 17 on 0: daif 0x3c0 spsr 0x5",
      "irq 18 on 0: daif 0x3c0 spsr 0x5",
      "irq 19 on 0: daif 0x3c0 spsr 0x5",
    ]);
    for (const section of [0, 50, 100, 150]) {
      const at = log.indexOf(`section ${section}`);
      assert.match(log[at + 1] ?? "", /^irq/, `taken at the restore of section ${section}`);
    }
  } finally {
    other.close();
  }
});

Deno.test("Aarch64Machine.listen() takes interrupts that other agents raise, between tasks", async () => {
  const { machine, log } = loggingMachine();
  machine.daifClr(0b0010);
  machine.listen();
  machine.listen(); // twice: still one listener
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    for (const intid of [20, 21, 22]) {
      other.raise(0, "irq", intid);
      assert.equal(log.length, intid - 20); // never inside synchronous code
      const deadline = Date.now() + 2000;
      while (log.length === intid - 20 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    assert.deepEqual(log, [
      "irq 20 on 0: daif 0x3c0 spsr 0x345",
      "irq 21 on 0: daif 0x3c0 spsr 0x345",
      "irq 22 on 0: daif 0x3c0 spsr 0x345",
    ]);
    machine.stopListening();
    other.raise(0, "irq", 23);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.length, 3);
    assert.deepEqual(machine.pending(), [{ kind: "irq", intid: 23, source: undefined }]);
  } finally {
    machine.stopListening();
    other.close();
  }
});

Deno.test("Aarch64Machine.listen() reports a throwing handler as an error event and goes on", async () => {
  const { machine, log } = loggingMachine();
  machine.setVector("irq", (_token, event) => {
    log.push(`irq ${event.intid}`);
    if (event.intid === 30) throw new Error("handler failed");
  });
  const reported: unknown[] = [];
  const rejections: unknown[] = [];
  const onError = (event: ErrorEvent): void => {
    event.preventDefault();
    reported.push(event.error);
  };
  const onRejection = (event: PromiseRejectionEvent): void => {
    event.preventDefault();
    rejections.push(event.reason);
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  machine.daifClr(0b0010);
  machine.listen();
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    for (const intid of [30, 31, 30]) {
      const before = log.length;
      other.raise(0, "irq", intid);
      const deadline = Date.now() + 2000;
      while (log.length === before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(log, ["irq 30", "irq 31", "irq 30"]);
    assert.deepEqual(reported.map((error) => (error as Error).message), [
      "handler failed",
      "handler failed",
    ]);
    assert.deepEqual(rejections, []);
    assert.equal(machine.readDaif(), DAIF.D | DAIF.A | DAIF.F);
  } finally {
    machine.stopListening();
    other.close();
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
});

Deno.test("Aarch64Machine.listen() leaves masked interrupts pending", async () => {
  const { machine, log } = loggingMachine();
  machine.writeDaif(DAIF.I);
  machine.listen();
  const other = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    other.raise(0, "irq", 24);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.length, 0);
    machine.daifClr(0b0010);
    assert.deepEqual(log, ["irq 24 on 0: daif 0x3c0 spsr 0x5"]);
  } finally {
    machine.stopListening();
    other.close();
  }
});

Deno.test("Aarch64Machine.attach() makes an agent one PE of the machine", () => {
  const machine = new Aarch64Machine({ preset: "rk3399" });
  const pe4 = Aarch64Machine.attach(structuredClone(machine.handle), 4, { listen: false });
  try {
    assert.equal(pe4.coreCount, 6);
    assert.equal(pe4.coreIndex(), 4);
    assert.equal(pe4.mpidr(), 0x80000100n);
    assert.equal(pe4.readDaif(), DAIF.ALL);
    assert.equal(pe4.runOn(4, () => pe4.coreIndex()), 4);
    assert.throws(() => pe4.runOn(5, () => 0), {
      name: "Error",
      message: "Cannot run on PE 5 as this agent is attached as PE 4: an attached agent is one PE",
    });
  } finally {
    pe4.close();
  }
});

Deno.test("Aarch64Machine gives each PE to one agent only", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1, 0x2] });
  assert.throws(() => Aarch64Machine.attach(machine.handle, 0), {
    name: "Error",
    message:
      "Cannot attach to PE 0 as another agent already runs it: each PE belongs to one agent, until that agent calls close() (if it died, free the PE with Aarch64Machine.forceRelease())",
  });
  const pe1 = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  assert.throws(() => Aarch64Machine.attach(machine.handle, 1), { name: "Error" });
  assert.throws(() => machine.runOn(1, () => 0), {
    name: "Error",
    message:
      "Cannot run on PE 1 as another agent runs it: each PE belongs to one agent, until that agent calls close()",
  });
  machine.runOn(2, () => 0);
  assert.throws(() => Aarch64Machine.attach(machine.handle, 2), { name: "Error" });
  pe1.close();
  assert.equal(machine.runOn(1, () => machine.coreIndex()), 1);
});

Deno.test("Aarch64Machine.close() gives the agent's PEs back, also through using", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1, 0x2] });
  machine.runOn(2, () => 0);
  {
    using _pe1 = Aarch64Machine.attach(machine.handle, 1);
    assert.throws(() => Aarch64Machine.attach(machine.handle, 1), { name: "Error" });
  }
  machine.close();
  const pes = [0, 1, 2].map((pe) => Aarch64Machine.attach(machine.handle, pe, { listen: false }));
  assert.deepEqual(pes.map((pe) => pe.coreIndex()), [0, 1, 2]);
  assert.throws(() => machine.runOn(2, () => 0), { name: "Error" });
  for (const pe of pes) pe.close();
  const again = Aarch64Machine.attach(machine.handle, 2, { listen: false });
  assert.equal(again.coreIndex(), 2);
  again.close();
});

const CLOSED =
  "as this Aarch64Machine was closed: its PEs may belong to another agent now; attach again with Aarch64Machine.attach(handle, pe)";

Deno.test("Aarch64Machine.close() stops the object from running sections or taking interrupts as the PE", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const old = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  const oldTaken: number[] = [];
  old.setVector("irq", (_token, event) => oldTaken.push(event.intid));
  old.writeDaif(0);
  old.close();
  old.close(); // twice: nothing more
  const next = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  try {
    const nextTaken: number[] = [];
    next.setVector("irq", (_token, event) => nextTaken.push(event.intid));
    next.writeDaif(DAIF.I);
    machine.raise(1, "irq", 50); // for the new owner, masked there
    let ran = false;
    assert.throws(() => exceptionFree(old, () => ran = true), {
      name: "Error",
      message: `Cannot mask ${CLOSED}`,
    });
    assert.equal(ran, false);
    assert.throws(() => old.restore(0), { name: "Error", message: `Cannot restore ${CLOSED}` });
    assert.deepEqual(oldTaken, []);
    assert.deepEqual(machine.pending(1), [{ kind: "irq", intid: 50, source: undefined }]);
    next.daifClr(0b0010);
    assert.deepEqual(nextTaken, [50]);
  } finally {
    next.close();
  }
});

Deno.test("Aarch64Machine.close() makes every operation on a PE throw, and leaves the rest working", async (t) => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  machine.close();
  const calls: [string, () => unknown, string][] = [
    ["coreIndex()", () => machine.coreIndex(), "read the current PE index"],
    ["mask()", () => machine.mask(), "mask"],
    ["restore()", () => machine.restore(DAIF.ALL), "restore"],
    ["runOn()", () => machine.runOn(0, () => 0), "run on a PE"],
    ["readDaif()", () => machine.readDaif(), "read DAIF"],
    ["writeDaif()", () => machine.writeDaif(0), "write DAIF"],
    ["daifSet()", () => machine.daifSet(1), "execute msr daifset"],
    ["daifClr()", () => machine.daifClr(1), "execute msr daifclr"],
    ["readSpsr()", () => machine.readSpsr(), "read SPSR_EL1"],
    ["writeSpsr()", () => machine.writeSpsr(0), "write SPSR_EL1"],
    ["readIsr()", () => machine.readIsr(), "read ISR_EL1"],
    ["mpidr()", () => machine.mpidr(), "read MPIDR_EL1"],
    ["raise()", () => machine.raise(1, "irq", 16), "raise an interrupt"],
    ["sendSgi()", () => machine.sendSgi(1, 0), "send an SGI"],
    ["wfi()", () => machine.wfi(0), "wait for an interrupt"],
    ["pending()", () => machine.pending(1), "inspect pending interrupts"],
    ["listen()", () => machine.listen(), "listen"],
  ];
  for (const [name, call, action] of calls) {
    await t.step(name, () => {
      assert.throws(call, { name: "Error", message: `Cannot ${action} ${CLOSED}` });
    });
  }
  await t.step("what does not touch a PE", () => {
    assert.equal(machine.coreCount, 2);
    machine.setVector("irq", () => {});
    machine.stopListening();
    const pe0 = Aarch64Machine.attach(machine.handle, 0, { listen: false });
    assert.deepEqual(pe0.pending(), []);
    pe0.close();
  });
});

Deno.test("Aarch64Machine.attach() throws for a bad handle or PE", async (t) => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const handleMessage =
    "Cannot attach to PE 1 as the handle must be an object with a SharedArrayBuffer 'buffer', as Aarch64Machine.handle gives: current value is";
  await t.step("not an object", () => {
    assert.throws(() => Aarch64Machine.attach(undefined as unknown as Aarch64MachineHandle, 1), {
      name: "TypeError",
      message: `${handleMessage} undefined`,
    });
  });
  await t.step("an ArrayBuffer", () => {
    const handle = { buffer: new ArrayBuffer(1024) } as unknown as Aarch64MachineHandle;
    assert.throws(() => Aarch64Machine.attach(handle, 1), {
      name: "TypeError",
      message: `${handleMessage} an object`,
    });
  });
  await t.step("another SharedArrayBuffer", () => {
    const handle = { buffer: new SharedArrayBuffer(4096) };
    assert.throws(() => Aarch64Machine.attach(handle, 1), {
      name: "TypeError",
      message:
        "Cannot attach to PE 1 as the handle's buffer does not hold an Aarch64Machine: pass the handle of a machine, unchanged",
    });
  });
  await t.step("a PE count that does not match the buffer's length", () => {
    const words = new Int32Array(new SharedArrayBuffer(machine.handle.buffer.byteLength));
    words.set(new Int32Array(machine.handle.buffer));
    words[2] = 3; // the header's PE count
    assert.throws(() => Aarch64Machine.attach({ buffer: words.buffer }, 1), {
      name: "TypeError",
      message:
        "Cannot attach to PE 1 as the handle's buffer does not hold an Aarch64Machine: pass the handle of a machine, unchanged",
    });
    words[2] = 2;
    Aarch64Machine.attach({ buffer: words.buffer }, 1, { listen: false }).close();
  });
  await t.step("a truncated buffer", () => {
    const handle = { buffer: new SharedArrayBuffer(64) };
    assert.throws(() => Aarch64Machine.attach(handle, 1), { name: "TypeError" });
  });
  await t.step("a PE out of range", () => {
    for (const [pe, shown] of [[2, "2"], [-1, "-1"], [0.5, "0.5"]] as const) {
      assert.throws(() => Aarch64Machine.attach(machine.handle, pe), {
        name: "RangeError",
        message:
          `Cannot attach to PE as the PE index must be an integer from 0 to 1: current value is ${shown}`,
      });
    }
  });
});

Deno.test("Aarch64Machine.attach() throws for bad options and leaves the PE free", async (t) => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const cases: [string, unknown, string][] = [
    [
      "listen not a boolean",
      { listen: "no" },
      `Cannot attach to PE as 'options.listen' must be a boolean: current value is "no"`,
    ],
    [
      "listen a number",
      { listen: 0 },
      "Cannot attach to PE as 'options.listen' must be a boolean: current value is 0",
    ],
    [
      "options not an object",
      "listen",
      `Cannot attach to PE as 'options' must be an object: current value is "listen"`,
    ],
    [
      "options null",
      null,
      "Cannot attach to PE as 'options' must be an object: current value is null",
    ],
  ];
  for (const [name, options, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => Aarch64Machine.attach(machine.handle, 1, options as { listen?: boolean }),
        { name: "TypeError", message },
      );
    });
  }
  await t.step("a getter that throws", () => {
    const options = {
      get listen(): boolean {
        throw new Error("no listen");
      },
    };
    assert.throws(() => Aarch64Machine.attach(machine.handle, 1, options), {
      message: "no listen",
    });
  });
  await t.step("a PE index that is not a number", () => {
    assert.throws(() => Aarch64Machine.attach(machine.handle, "1" as unknown as number), {
      name: "TypeError",
      message: `Cannot attach to PE as the PE index must be a number: current value is "1"`,
    });
  });
  // None of the failed calls claimed PE 1.
  const pe1 = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  assert.equal(pe1.coreIndex(), 1);
  pe1.close();
});

Deno.test("Aarch64Machine.raise() and sendSgi() throw for bad arguments and change nothing", async (t) => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const irqRange =
    "'intid' must be a PPI (16 to 31) or an SPI (32 to 1019); SGIs (0 to 15) are sent with sendSgi()";
  const cases: [string, () => unknown, string, string][] = [
    [
      "a PE out of range",
      () => machine.raise(2, "irq", 16),
      "RangeError",
      "Cannot raise an interrupt on PE as the PE index must be an integer from 0 to 1: current value is 2",
    ],
    [
      "a kind that is not a string",
      () => machine.raise(0, 1 as unknown as "irq", 16),
      "TypeError",
      `Cannot raise an interrupt as 'kind' must be "irq", "fiq" or "serror": current value is 1`,
    ],
    [
      "an unknown kind",
      () => machine.raise(0, "IRQ" as unknown as "irq", 16),
      "RangeError",
      `Cannot raise an interrupt as 'kind' must be "irq", "fiq" or "serror": current value is "IRQ"`,
    ],
    [
      "an SGI INTID",
      () => machine.raise(0, "irq", 15),
      "RangeError",
      `Cannot raise an IRQ as ${irqRange}: current value is 15`,
    ],
    [
      "INTID 1020",
      () => machine.raise(0, "fiq", 1020),
      "RangeError",
      `Cannot raise an FIQ as ${irqRange}: current value is 1020`,
    ],
    [
      "no INTID",
      () => machine.raise(0, "irq"),
      "RangeError",
      `Cannot raise an IRQ as ${irqRange}: current value is undefined`,
    ],
    [
      "a fractional INTID",
      () => machine.raise(0, "irq", 16.5),
      "RangeError",
      `Cannot raise an IRQ as ${irqRange}: current value is 16.5`,
    ],
    [
      "an SError with an INTID",
      () => machine.raise(0, "serror", 5),
      "RangeError",
      "Cannot raise an SError with an INTID as an SError has none: omit 'intid' (or pass 0): current value is 5",
    ],
    [
      "a bigint INTID",
      () => machine.raise(0, "irq", 40n as unknown as number),
      "TypeError",
      "Cannot raise an IRQ as 'intid' must be a number: current value is 40n",
    ],
    [
      "a string INTID",
      () => machine.raise(0, "fiq", "40" as unknown as number),
      "TypeError",
      `Cannot raise an FIQ as 'intid' must be a number: current value is "40"`,
    ],
    [
      "an SError with a bigint INTID",
      () => machine.raise(0, "serror", 0n as unknown as number),
      "TypeError",
      "Cannot raise an SError as 'intid' must be a number or omitted: current value is 0n",
    ],
    [
      "a bigint SGI",
      () => machine.sendSgi(1, 1n as unknown as number),
      "TypeError",
      "Cannot send an SGI as 'intid' must be a number: current value is 1n",
    ],
    [
      "an SGI to a missing PE",
      () => machine.sendSgi(-1, 0),
      "RangeError",
      "Cannot send an SGI to PE as the PE index must be an integer from 0 to 1: current value is -1",
    ],
    [
      "SGI 16",
      () => machine.sendSgi(1, 16),
      "RangeError",
      "Cannot send an SGI as 'intid' must be an integer from 0 to 15: current value is 16",
    ],
    [
      "SGI -1",
      () => machine.sendSgi(1, -1),
      "RangeError",
      "Cannot send an SGI as 'intid' must be an integer from 0 to 15: current value is -1",
    ],
  ];
  for (const [name, call, errorName, message] of cases) {
    await t.step(name, () => {
      assert.throws(call, { name: errorName, message });
      assert.deepEqual(machine.pending(0), []);
      assert.deepEqual(machine.pending(1), []);
    });
  }
});

Deno.test("Aarch64Machine rejects bad vectors, PEs, callbacks and timeouts", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  assert.throws(() => machine.setVector("nmi" as unknown as "irq", () => {}), {
    name: "RangeError",
    message:
      `Cannot set a vector as 'kind' must be "irq", "fiq" or "serror": current value is "nmi"`,
  });
  assert.throws(() => machine.setVector("irq", 5 as unknown as () => void), {
    name: "TypeError",
    message:
      `Cannot set the "irq" vector as 'handler' must be a function or undefined: current value is 5`,
  });
  assert.throws(() => machine.runOn(2, () => 0), {
    name: "RangeError",
    message: "Cannot run on PE as the PE index must be an integer from 0 to 1: current value is 2",
  });
  assert.throws(() => machine.runOn(1, "f" as unknown as () => void), {
    name: "TypeError",
    message: `Cannot run on PE 1 as 'fn' must be a function: current value is "f"`,
  });
  assert.throws(() => machine.pending(3), {
    name: "RangeError",
    message: "Cannot inspect PE as the PE index must be an integer from 0 to 1: current value is 3",
  });
  for (const [timeout, shown] of [[-1, "-1"], [NaN, "NaN"]] as const) {
    assert.throws(() => machine.wfi(timeout), {
      name: "RangeError",
      message:
        `Cannot wait for an interrupt as 'timeoutMs' must be a number of milliseconds, 0 or more: current value is ${shown}`,
    });
  }
  for (const [timeout, shown] of [["5", `"5"`], [5n, "5n"], [null, "null"]] as const) {
    assert.throws(() => machine.wfi(timeout as unknown as number), {
      name: "TypeError",
      message:
        `Cannot wait for an interrupt as 'timeoutMs' must be a number: current value is ${shown}`,
    });
  }
});

Deno.test("Aarch64Machine.runOn() switches back when the callback throws", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  machine.writeDaif(0x80);
  assert.throws(() =>
    machine.runOn(1, () => {
      machine.writeDaif(0x40);
      throw new Error("x");
    }), { message: "x" });
  assert.equal(machine.coreIndex(), 0);
  assert.equal(machine.readDaif(), 0x80);
  assert.equal(machine.runOn(1, () => machine.readDaif()), 0x40);
});

Deno.test("Aarch64Machine.forceRelease() frees the PE of an agent that is gone", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  const gone = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  gone.sendSgi(1, 3); // pending for whoever runs PE 1 next
  assert.throws(() => Aarch64Machine.attach(machine.handle, 1, { listen: false }), Error);
  assert.equal(Aarch64Machine.forceRelease(machine.handle, 1), true);
  assert.equal(Aarch64Machine.forceRelease(machine.handle, 1), false);
  const next = Aarch64Machine.attach(machine.handle, 1, { listen: false });
  assert.deepEqual(next.pending(), [{ kind: "irq", intid: 3, source: 1 }]);
  next.close();
});

Deno.test("Aarch64Machine.forceRelease() throws for a bad PE and frees nothing", () => {
  const machine = new Aarch64Machine({ mpidrs: [0x0, 0x1] });
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => Aarch64Machine.forceRelease(machine.handle, "1"), {
    name: "TypeError",
    message:
      `Cannot force the release of a PE as the PE index must be a number: current value is "1"`,
  });
  assert.throws(() => Aarch64Machine.forceRelease(machine.handle, 2), {
    name: "RangeError",
    message:
      "Cannot force the release of a PE as the PE index must be an integer from 0 to 1: current value is 2",
  });
  // PE 0 still belongs to this agent.
  assert.throws(() => Aarch64Machine.attach(machine.handle, 0, { listen: false }), Error);
});
