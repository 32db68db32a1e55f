// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { Gic, PENDING_BIT } from "../../../platform/aarch64/_gic.ts";
import { createLayout } from "../../../platform/aarch64/_layout.ts";
import { DAIF } from "../../../platform/aarch64/mod.ts";

function gicOf(pes: number): Gic {
  return new Gic(createLayout([...Array(pes).keys()], false));
}

Deno.test("Gic.post() sets one pending bit per interrupt and coalesces a repeat", () => {
  const gic = gicOf(3);
  assert.equal(gic.post(1, "irq", 40, undefined), true);
  assert.equal(gic.post(1, "irq", 40, undefined), false);
  assert.equal(gic.post(1, "irq", 3, 2), true); // SGI 3 from PE 2
  assert.equal(gic.post(1, "irq", 3, 0), true); // the same SGI from PE 0 is another one
  assert.equal(gic.post(1, "serror", 0, undefined), true);
  assert.deepEqual(gic.list(1), [
    { kind: "serror", intid: 0, source: undefined },
    { kind: "irq", intid: 3, source: 0 },
    { kind: "irq", intid: 3, source: 2 },
    { kind: "irq", intid: 40, source: undefined },
  ]);
  assert.deepEqual(gic.list(0), []);
  assert.equal(gic.pendingKinds(1), DAIF.A | DAIF.I);
});

Deno.test("Gic.post() bumps the PE's wake-up word", () => {
  const gic = gicOf(2);
  const before = Atomics.load(gic.words, gic.wakeIndex(1));
  gic.post(1, "fiq", 16, undefined);
  assert.equal(Atomics.load(gic.words, gic.wakeIndex(1)), before + 1);
  gic.post(1, "fiq", 16, undefined); // coalesced: no wake-up
  assert.equal(Atomics.load(gic.words, gic.wakeIndex(1)), before + 1);
});

Deno.test("Gic.take() takes only the given kinds, in taking order, and keeps the summary true", () => {
  const gic = gicOf(2);
  gic.post(0, "irq", 20, undefined);
  gic.post(0, "irq", 21, undefined);
  gic.post(0, "fiq", 30, undefined);
  assert.equal(gic.take(0, PENDING_BIT.serror), undefined);
  assert.deepEqual(gic.take(0, DAIF.I | DAIF.F), { kind: "fiq", intid: 30, source: undefined });
  assert.equal(gic.summary(0), DAIF.I); // FIQ's bit cleared: none left
  assert.deepEqual(gic.take(0, DAIF.I), { kind: "irq", intid: 20, source: undefined });
  assert.equal(gic.summary(0), DAIF.I); // one IRQ left: its bit stays
  assert.deepEqual(gic.take(0, DAIF.I), { kind: "irq", intid: 21, source: undefined });
  assert.equal(gic.summary(0), 0);
  assert.equal(gic.take(0, DAIF.I), undefined);
});

Deno.test("Gic.has() and pendingKinds() clear a stale summary bit", () => {
  const gic = gicOf(1);
  Atomics.or(gic.words, gic.summaryIndex(0), DAIF.F | DAIF.I); // announced, nothing pending
  gic.post(0, "irq", 100, undefined);
  assert.equal(gic.has(0, "fiq"), false);
  assert.equal(gic.summary(0), DAIF.I);
  assert.equal(gic.pendingKinds(0), DAIF.I);
  assert.equal(gic.summary(0), DAIF.I);
});
