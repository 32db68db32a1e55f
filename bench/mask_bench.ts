// Copyright 2026 the percpu authors. MIT license.

// The cost of masking, as ratios to a bare call of the same callback.
// Run with `deno task bench`; figures are in bench/README.md.

import { type ExceptionFree, exceptionFree, ExceptionLock, PerCpu, type Platform } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";
import { Aarch64Machine } from "../platform/aarch64/mod.ts";

const mock = new MockPlatform({ cores: 2 });
// Unmasked, as after boot: every restore then looks for pending interrupts.
const aarch64 = new Aarch64Machine({ preset: "rk3399" });
aarch64.writeDaif(0);
let sink = 0;

// The same callback for every entry: it reads the token, as real code does.
function body(token: ExceptionFree): number {
  return sink += token.core + 1;
}

// A real token to hand to the bare call, so that it runs the same code.
const heldToken = exceptionFree(mock, (token) => token);

Deno.bench({
  group: "exceptionFree()",
  name: "bare call of the callback",
  baseline: true,
  fn: () => {
    body(heldToken);
  },
});

// What exceptionFree() itself costs: a platform whose mask and restore do nothing.
const noop: Platform = { coreCount: 1, coreIndex: () => 0, mask: () => 0, restore: () => {} };

Deno.bench({
  group: "exceptionFree()",
  name: "a platform that does nothing",
  fn: () => {
    exceptionFree(noop, body);
  },
});

Deno.bench({
  group: "exceptionFree()",
  name: "MockPlatform",
  fn: () => {
    exceptionFree(mock, body);
  },
});

Deno.bench({
  group: "exceptionFree()",
  name: "Aarch64Machine",
  fn: () => {
    exceptionFree(aarch64, body);
  },
});

Deno.bench({
  group: "nested exceptionFree()",
  name: "bare call of the callback",
  baseline: true,
  fn: () => {
    body(heldToken);
  },
});

Deno.bench({
  group: "nested exceptionFree()",
  name: "MockPlatform, two deep",
  fn: () => {
    exceptionFree(mock, () => exceptionFree(mock, body));
  },
});

Deno.bench({
  group: "nested exceptionFree()",
  name: "Aarch64Machine, two deep",
  fn: () => {
    exceptionFree(aarch64, () => exceptionFree(aarch64, body));
  },
});

const lock = new ExceptionLock({ hits: 0 });
const plain = { hits: 0 };

Deno.bench({
  group: "ExceptionLock.borrow()",
  name: "section with a plain object",
  baseline: true,
  fn: () => {
    exceptionFree(mock, () => plain.hits++);
  },
});

Deno.bench({
  group: "ExceptionLock.borrow()",
  name: "section with borrow()",
  fn: () => {
    exceptionFree(mock, (token) => lock.borrow(token).hits++);
  },
});

const perCpu = PerCpu.from(mock, () => ({ hits: 0 }));
const values = perCpu.unsynchronizedValues();
const current = { core: 0 };

Deno.bench({
  group: "PerCpu.get()",
  name: "array indexed by a field",
  baseline: true,
  fn: () => {
    (values[current.core] as { hits: number }).hits++;
  },
});

Deno.bench({
  group: "PerCpu.get()",
  name: "PerCpu.get() on MockPlatform",
  fn: () => {
    perCpu.get().hits++;
  },
});

const aarch64PerCpu = PerCpu.from(aarch64, () => ({ hits: 0 }));

Deno.bench({
  group: "PerCpu.get()",
  name: "PerCpu.get() on Aarch64Machine",
  fn: () => {
    aarch64PerCpu.get().hits++;
  },
});
