// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { exceptionFree, ExceptionLock, PerCpu, type Platform } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";

function fixedCore(core: number, coreCount = 2): Platform {
  return { coreCount, coreIndex: () => core, mask: () => 0, restore: () => {} };
}

Deno.test("PerCpu.get() returns the slot of the current core", () => {
  const platform = new MockPlatform({ cores: 2 });
  const slots = PerCpu.from(platform, () => ({ hits: 0 }));
  platform.runOn(1, () => slots.get().hits = 3);
  assert.equal(slots.get().hits, 0);
  assert.equal(platform.runOn(1, () => slots.get().hits), 3);
});

Deno.test("PerCpu() keeps one value per core, copied from the array", () => {
  const platform = new MockPlatform({ cores: 3 });
  const values = ["a", "b", "c"];
  const perCpu = new PerCpu(platform, values);
  values[0] = "changed";
  assert.equal(perCpu.coreCount, 3);
  assert.deepEqual([0, 1, 2].map((core) => platform.runOn(core, () => perCpu.get())), [
    "a",
    "b",
    "c",
  ]);
});

Deno.test("PerCpu.from() calls init once per core, in order", () => {
  const platform = new MockPlatform({ cores: 4 });
  const calls: number[] = [];
  const perCpu = PerCpu.from(platform, (core) => {
    calls.push(core);
    return core * 10;
  });
  assert.deepEqual(calls, [0, 1, 2, 3]);
  assert.deepEqual(perCpu.unsynchronizedValues(), [0, 10, 20, 30]);
});

Deno.test("PerCpu.unsynchronizedValues() returns a copy of the array, not of the values", () => {
  const platform = new MockPlatform({ cores: 2 });
  const perCpu = PerCpu.from(platform, () => ({ n: 0 }));
  const all = perCpu.unsynchronizedValues();
  all[0] = { n: 99 };
  (all[1] as { n: number }).n = 5;
  assert.deepEqual(perCpu.unsynchronizedValues(), [{ n: 0 }, { n: 5 }]);
});

Deno.test("PerCpu with ExceptionLock keeps per-core counts across handlers", () => {
  const platform = new MockPlatform({ cores: 2 });
  const counts = PerCpu.from(platform, () => new ExceptionLock(0));
  const increment = (): number =>
    exceptionFree(platform, (token) => counts.get().update(token, (n) => n + 1));
  increment();
  platform.runOn(1, increment);
  platform.interrupt(increment, { core: 1 });
  exceptionFree(platform, () => platform.interrupt(increment, { core: 0 }));
  assert.deepEqual(
    counts.unsynchronizedValues().map((lock) => exceptionFree(platform, (t) => lock.borrow(t))),
    [2, 2],
  );
});

Deno.test("PerCpu() throws RangeError when the number of values is not the core count", () => {
  const platform = new MockPlatform({ cores: 4 });
  assert.throws(() => new PerCpu(platform, [1, 2, 3]), {
    name: "RangeError",
    message:
      "Cannot create PerCpu as 'values' must hold one value per core (4): current length is 3",
  });
});

Deno.test("PerCpu() throws TypeError when values is not an array", () => {
  const platform = new MockPlatform({ cores: 1 });
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => new PerCpu(platform, "a"), {
    name: "TypeError",
    message: `Cannot create PerCpu as 'values' must be an array: current value is "a"`,
  });
});

Deno.test("PerCpu() throws TypeError for a value that is not a platform", () => {
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => new PerCpu({ coreCount: 1 }, [1]), {
    name: "TypeError",
    message:
      "Cannot create PerCpu as 'platform' must be a Platform with coreCount, coreIndex(), mask() and restore(): current value is an object",
  });
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => PerCpu.from(null, () => 1), TypeError);
});

Deno.test("PerCpu() throws RangeError for a platform with a bad coreCount", async (t) => {
  for (const [count, shown] of [[0, "0"], [1.5, "1.5"], [-1, "-1"], [NaN, "NaN"]] as const) {
    await t.step(shown, () => {
      assert.throws(() => new PerCpu(fixedCore(0, count), []), {
        name: "RangeError",
        message:
          `Cannot create PerCpu as the platform's coreCount must be a positive integer: current value is ${shown}`,
      });
    });
  }
});

Deno.test("PerCpu.from() throws TypeError when init is not a function", () => {
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => PerCpu.from(new MockPlatform(), 3), {
    name: "TypeError",
    message: "Cannot create PerCpu as 'init' must be a function: current value is 3",
  });
});

Deno.test("PerCpu.get() throws RangeError when the platform's coreIndex() is out of range", async (t) => {
  const cases = [[2, "2"], [-1, "-1"], [0.5, "0.5"], [NaN, "NaN"], [1n, "1n"]] as const;
  for (const [core, shown] of cases) {
    await t.step(shown, () => {
      const perCpu = new PerCpu(fixedCore(core as number), ["a", "b"]);
      assert.throws(() => perCpu.get(), {
        name: "RangeError",
        message:
          `Cannot read PerCpu slot as the core index must be an integer from 0 to 1: current value is ${shown}; the platform's coreIndex() is broken`,
      });
    });
  }
});
