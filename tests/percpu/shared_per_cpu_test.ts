// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { type Platform, SharedPerCpu } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";
import type { CountJob } from "./_shared_per_cpu_worker.ts";

Deno.test("SharedPerCpu() gives each core a zeroed slot 128 bytes from the next", () => {
  const platform = new MockPlatform({ cores: 4 });
  const counters = new SharedPerCpu(platform);
  const { buffer, byteOffset, coreCount, length } = counters.handle;
  assert.deepEqual([buffer.byteLength, byteOffset, coreCount, length], [512, 0, 4, 1]);
  for (let core = 0; core < 4; core++) platform.runOn(core, () => counters.add(core + 1));
  const words = new Int32Array(buffer);
  assert.deepEqual([words[0], words[32], words[64], words[96]], [1, 2, 3, 4]);
  assert.equal(words.reduce((sum, word) => sum + word, 0), 10);
});

Deno.test("SharedPerCpu() rounds a longer slot up to a multiple of 128 bytes", () => {
  const platform = new MockPlatform({ cores: 2 });
  const counters = new SharedPerCpu(platform, { length: 33 });
  assert.equal(counters.handle.buffer.byteLength, 512);
  platform.runOn(1, () => counters.add(7, 32));
  assert.equal(new Int32Array(counters.handle.buffer)[64 + 32], 7);
  assert.equal(SharedPerCpu.byteLength(2, 32), 256);
  assert.equal(SharedPerCpu.byteLength(2, 33), 512);
});

Deno.test("SharedPerCpu() uses the given buffer and byteOffset", () => {
  const platform = new MockPlatform({ cores: 2 });
  const buffer = new SharedArrayBuffer(512);
  const counters = new SharedPerCpu(platform, { buffer, byteOffset: 256 });
  assert.equal(counters.handle.buffer, buffer);
  platform.runOn(1, () => counters.add(3));
  assert.equal(new Int32Array(buffer)[(256 + 128) / 4], 3);
  assert.equal(counters.sum(), 3);
});

Deno.test("SharedPerCpu() throws for bad arguments", async (t) => {
  const platform = new MockPlatform({ cores: 2 });
  const buffer = new SharedArrayBuffer(512);
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    [
      "platform undefined",
      () => new SharedPerCpu(undefined as never),
      TypeError,
      /'platform' must be a Platform with coreCount, coreIndex\(\), mask\(\) and restore\(\): current value is undefined/,
    ],
    [
      "platform with a bad coreCount",
      () =>
        new SharedPerCpu({ coreCount: 0, coreIndex: () => 0, mask: () => 0, restore: () => {} }),
      RangeError,
      /coreCount must be a positive integer: current value is 0/,
    ],
    [
      "options null",
      () => new SharedPerCpu(platform, null as never),
      TypeError,
      /'options' must be an object: current value is null/,
    ],
    [
      "length 0",
      () => new SharedPerCpu(platform, { length: 0 }),
      RangeError,
      /'length' must be a positive integer: current value is 0/,
    ],
    [
      "length 1.5",
      () => new SharedPerCpu(platform, { length: 1.5 }),
      RangeError,
      /current value is 1.5/,
    ],
    [
      "buffer an ArrayBuffer",
      () => new SharedPerCpu(platform, { buffer: new ArrayBuffer(512) as never }),
      TypeError,
      /'buffer' must be a SharedArrayBuffer/,
    ],
    [
      "byteOffset without buffer",
      () => new SharedPerCpu(platform, { byteOffset: 0 }),
      TypeError,
      /'byteOffset' needs a 'buffer'/,
    ],
    [
      "byteOffset unaligned",
      () => new SharedPerCpu(platform, { buffer, byteOffset: 64 }),
      RangeError,
      /'byteOffset' must be a non-negative multiple of 128: current value is 64/,
    ],
    [
      "byteOffset negative",
      () => new SharedPerCpu(platform, { buffer, byteOffset: -128 }),
      RangeError,
      /current value is -128/,
    ],
    [
      "no room",
      () => new SharedPerCpu(platform, { buffer, byteOffset: 384 }),
      RangeError,
      /its 256 bytes \(2 cores\) must fit in the 512-byte buffer from 'byteOffset': current value is 384/,
    ],
    [
      "byteLength of 0 cores",
      () => SharedPerCpu.byteLength(0),
      RangeError,
      /'coreCount' must be a positive integer: current value is 0/,
    ],
    [
      "byteLength of length -1",
      () => SharedPerCpu.byteLength(1, -1),
      RangeError,
      /'length' must be a positive integer: current value is -1/,
    ],
  ];
  for (const [name, call, type, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        call,
        (error) => error instanceof type && message.test((error as Error).message),
      );
    });
  }
});

Deno.test("SharedPerCpu() throws TypeError for options of the wrong type", async (t) => {
  const platform = new MockPlatform({ cores: 2 });
  const buffer = new SharedArrayBuffer(512);
  const cases: [string, () => unknown, RegExp][] = [
    [
      "length a string",
      () => new SharedPerCpu(platform, { length: "2" as never }),
      /^Cannot create SharedPerCpu as 'length' must be a number: current value is "2"$/,
    ],
    [
      "byteOffset a string",
      () => new SharedPerCpu(platform, { buffer, byteOffset: "128" as never }),
      /^Cannot create SharedPerCpu as 'byteOffset' must be a number: current value is "128"$/,
    ],
    [
      "byteLength of a string",
      () => SharedPerCpu.byteLength("2" as never),
      /'coreCount' must be a number: current value is "2"$/,
    ],
  ];
  for (const [name, call, message] of cases) {
    await t.step(name, () => {
      assert.throws(call, (error) => error instanceof TypeError && message.test(error.message));
    });
  }
});

Deno.test("SharedPerCpu() names 'length' when the slots cannot fit at any byteOffset", () => {
  const platform = new MockPlatform({ cores: 2 });
  const buffer = new SharedArrayBuffer(256);
  const expected =
    "Cannot create SharedPerCpu as its 1024 bytes (2 cores of 'length' 100, each slot padded to 128 bytes) do not fit in the 256-byte buffer at any 'byteOffset': current value of 'length' is 100";
  assert.throws(
    () => new SharedPerCpu(platform, { buffer, length: 100 }),
    (error) => error instanceof RangeError && error.message === expected,
  );
  const handle = new SharedPerCpu(platform, { buffer }).handle;
  assert.throws(
    () => SharedPerCpu.attach(platform, { ...handle, length: 100 }),
    (error) => error instanceof RangeError && error.message === expected,
  );
});

Deno.test("SharedPerCpu.get() returns the current core's slot, the same view each time", () => {
  const platform = new MockPlatform({ cores: 2 });
  const counters = new SharedPerCpu(platform, { length: 2 });
  const mine = counters.get();
  assert.equal(counters.get(), mine);
  assert.equal(mine.length, 2);
  platform.runOn(1, () => {
    const theirs = counters.get();
    assert.notEqual(theirs, mine);
    theirs[1] = 5;
  });
  assert.deepEqual([...mine], [0, 0]);
  assert.equal(counters.sum(1), 5);
});

Deno.test("SharedPerCpu.get() and add() throw RangeError for a broken platform", () => {
  let index = 2;
  const broken: Platform = {
    coreCount: 2,
    coreIndex: () => index,
    mask: () => 0,
    restore: () => {},
  };
  const counters = new SharedPerCpu(broken);
  for (const bad of [2, -1, 0.5]) {
    index = bad;
    for (const call of [() => counters.get(), () => counters.add(1)]) {
      assert.throws(
        call,
        (error) =>
          error instanceof RangeError &&
          error.message ===
            `Cannot reach the SharedPerCpu slot of the current core as the core index must be an integer from 0 to 1: current value is ${bad}; the platform's coreIndex() is broken`,
      );
    }
  }
  assert.deepEqual(counters.values(), [0, 0]);
});

Deno.test("SharedPerCpu.add() adds to the current core's counter and rejects bad arguments", () => {
  const platform = new MockPlatform({ cores: 2 });
  const counters = new SharedPerCpu(platform, { length: 2 });
  counters.add(2);
  counters.add(-5, 1);
  assert.deepEqual([counters.values(0), counters.values(1)], [[2, 0], [-5, 0]]);
  assert.throws(
    () => counters.add("1" as never),
    (error) =>
      error instanceof TypeError &&
      error.message ===
        `Cannot add to SharedPerCpu as 'delta' must be a number: current value is "1"`,
  );
  for (const index of [2, -1, 0.5, NaN]) {
    assert.throws(
      () => counters.add(1, index),
      (error) =>
        error instanceof RangeError &&
        error.message ===
          `Cannot add to SharedPerCpu as 'index' must be an integer from 0 to 1: current value is ${index}`,
    );
  }
  assert.deepEqual([counters.values(0), counters.values(1)], [[2, 0], [-5, 0]]);
});

Deno.test("SharedPerCpu.add() throws RangeError for a delta that is not an integer and leaves the counter unchanged", () => {
  const platform = new MockPlatform({ cores: 1 });
  const counters = new SharedPerCpu(platform);
  counters.add(3);
  for (const delta of [NaN, Infinity, -Infinity, 0.5, -1.25]) {
    assert.throws(
      () => counters.add(delta),
      (error) =>
        error instanceof RangeError &&
        error.message ===
          `Cannot add to SharedPerCpu as 'delta' must be an integer: current value is ${delta}`,
    );
    assert.equal(counters.load(0), 3);
  }
  for (const delta of [1n, null, undefined]) {
    assert.throws(() => counters.add(delta as never), TypeError);
  }
  assert.equal(counters.sum(), 3);
});

Deno.test("SharedPerCpu.add() wraps a counter like an Int32 while sum() does not", () => {
  const platform = new MockPlatform({ cores: 2 });
  const counters = new SharedPerCpu(platform);
  counters.add(2 ** 31 - 1);
  counters.add(1);
  assert.equal(counters.load(0), -(2 ** 31));
  platform.runOn(1, () => counters.add(2 ** 31 - 1));
  assert.equal(counters.sum(), -1);
});

Deno.test("SharedPerCpu.load(), sum() and values() read every core and reject bad indices", () => {
  const platform = new MockPlatform({ cores: 3 });
  const counters = new SharedPerCpu(platform, { length: 2 });
  for (const core of [0, 1, 2]) platform.runOn(core, () => counters.add(10 * core, 1));
  assert.deepEqual(counters.values(1), [0, 10, 20]);
  assert.equal(counters.sum(1), 30);
  assert.equal(counters.load(2, 1), 20);
  for (const core of [3, -1, 1.5]) {
    assert.throws(
      () => counters.load(core),
      (error) =>
        error instanceof RangeError &&
        error.message ===
          `Cannot read SharedPerCpu as 'core' must be an integer from 0 to 2: current value is ${core}`,
    );
  }
  for (
    const call of [() => counters.load(0, 2), () => counters.sum(2), () => counters.values(-1)]
  ) {
    assert.throws(
      call,
      (error) =>
        error instanceof RangeError &&
        /'index' must be an integer from 0 to 1/.test((error as Error).message),
    );
  }
});

Deno.test("SharedPerCpu.attach() shares the slots and checks the handle", () => {
  const platform = new MockPlatform({ cores: 2 });
  const counters = new SharedPerCpu(platform, { length: 3 });
  const view = SharedPerCpu.attach(platform, structuredClone(counters.handle));
  assert.equal(view.length, 3);
  platform.runOn(1, () => view.add(4, 2));
  assert.equal(counters.sum(2), 4);
  for (
    const handle of [undefined, null, {}, { ...counters.handle, buffer: new ArrayBuffer(256) }, {
      ...counters.handle,
      length: "3",
    }]
  ) {
    assert.throws(
      () => SharedPerCpu.attach(platform, handle as never),
      (error) =>
        error instanceof TypeError &&
        /^Cannot attach SharedPerCpu as 'handle' must be a SharedPerCpu handle \{ buffer, byteOffset, coreCount, length \}: current value is/
          .test(error.message),
    );
  }
  assert.throws(
    () => SharedPerCpu.attach(new MockPlatform({ cores: 3 }), counters.handle),
    (error) =>
      error instanceof RangeError &&
      error.message ===
        "Cannot attach SharedPerCpu as the platform must have the handle's 2 cores: current value is 3",
  );
  assert.throws(() => SharedPerCpu.attach(null as never, counters.handle), TypeError);
  assert.throws(
    () => SharedPerCpu.attach(platform, { ...counters.handle, byteOffset: 4 }),
    /'byteOffset' must be a non-negative multiple of 128: current value is 4/,
  );
});

Deno.test("SharedPerCpu sums the counts of 4 Workers exactly, and never reads more than was added", async () => {
  const cores = 5; // the main thread is core 0 and only reads
  const adds = 50_000;
  const platform = new MockPlatform({ cores });
  const counters = new SharedPerCpu(platform);
  const workers = Array.from(
    { length: 4 },
    () => new Worker(new URL("./_shared_per_cpu_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    const done = workers.map((worker, i) =>
      new Promise((resolve, reject) => {
        worker.onmessage = resolve;
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(event.message));
        };
        worker.postMessage({ handle: counters.handle, core: i + 1, adds } satisfies CountJob);
      })
    );
    let finished = false;
    const all = Promise.all(done).finally(() => finished = true);
    // Read while they count: each core's value only grows, up to its total.
    const deadline = performance.now() + 30_000;
    let last = [0, 0, 0, 0, 0];
    while (!finished) {
      if (performance.now() > deadline) throw new Error("The Workers did not finish within 30 s");
      const now = counters.values();
      now.forEach((value, core) => {
        assert.ok(value >= last[core]! && value <= (core === 0 ? 0 : adds));
      });
      last = now;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await all;
  } finally {
    for (const worker of workers) worker.terminate();
  }
  assert.equal(counters.sum(), 4 * adds);
  assert.deepEqual(counters.values(), [0, adds, adds, adds, adds]);
});
