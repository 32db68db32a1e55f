// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { ExceptionFree, exceptionFree, ExceptionLock } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";

Deno.test("ExceptionLock.borrow() returns the value itself, mutable in place", () => {
  const platform = new MockPlatform();
  const value = { hits: 0 };
  const lock = new ExceptionLock(value);
  exceptionFree(platform, (token) => {
    assert.equal(lock.borrow(token), value);
    lock.borrow(token).hits += 2;
  });
  assert.equal(value.hits, 2);
});

Deno.test("ExceptionLock.set() stores a new value", () => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock("idle");
  exceptionFree(platform, (token) => lock.set(token, "busy"));
  assert.equal(exceptionFree(platform, (token) => lock.borrow(token)), "busy");
});

Deno.test("ExceptionLock.replace() stores a new value and returns the old one", () => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock(5);
  assert.equal(exceptionFree(platform, (token) => lock.replace(token, 9)), 5);
  assert.equal(exceptionFree(platform, (token) => lock.borrow(token)), 9);
});

Deno.test("ExceptionLock.update() stores and returns the function's result", () => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock(41);
  assert.equal(exceptionFree(platform, (token) => lock.update(token, (n) => n + 1)), 42);
  assert.equal(exceptionFree(platform, (token) => lock.borrow(token)), 42);
});

Deno.test("ExceptionLock.update() leaves the value unchanged when the function throws", () => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock(7);
  assert.throws(
    () =>
      exceptionFree(platform, (token) =>
        lock.update(token, () => {
          throw new Error("no");
        })),
    { message: "no" },
  );
  assert.equal(exceptionFree(platform, (token) => lock.borrow(token)), 7);
});

Deno.test("ExceptionLock.update() throws TypeError for a function that is not one", () => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock(1);
  exceptionFree(platform, (token) => {
    // @ts-expect-error: wrong type on purpose.
    assert.throws(() => lock.update(token, 2), {
      name: "TypeError",
      message: "Cannot update ExceptionLock as 'fn' must be a function: current value is 2",
    });
    assert.equal(lock.borrow(token), 1);
  });
});

Deno.test("ExceptionLock methods throw ExceptionTokenError for an expired token and change nothing", async (t) => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock(1);
  const kept = exceptionFree(platform, (token) => token);
  const calls: [string, () => unknown][] = [
    ["borrow", () => lock.borrow(kept)],
    ["set", () => lock.set(kept, 2)],
    ["replace", () => lock.replace(kept, 2)],
    ["update", () => lock.update(kept, () => 2)],
  ];
  for (const [method, call] of calls) {
    await t.step(method, () => {
      assert.throws(call, {
        name: "ExceptionTokenError",
        message:
          `Cannot ${method} ExceptionLock as the token expired when its exceptionFree() section ended: use the token only inside the callback`,
      });
    });
  }
  assert.equal(exceptionFree(platform, (token) => lock.borrow(token)), 1);
});

Deno.test("ExceptionLock.borrow() throws ExceptionTokenError for another core's token", () => {
  const platform = new MockPlatform({ cores: 2 });
  const lock = new ExceptionLock(1);
  exceptionFree(platform, (token) => {
    platform.runOn(1, () => {
      assert.throws(() => lock.borrow(token), {
        name: "ExceptionTokenError",
        message:
          /^Cannot borrow ExceptionLock as the token belongs to core 0 but the caller runs on core 1/,
      });
    });
  });
});

Deno.test("ExceptionLock.borrow() throws ExceptionTokenError for a forged token", () => {
  const lock = new ExceptionLock(1);
  const forged = Object.create(ExceptionFree.prototype) as ExceptionFree;
  assert.throws(() => lock.borrow(forged), {
    name: "ExceptionTokenError",
    message:
      "Cannot borrow ExceptionLock as the token was not created by exceptionFree(): current value is an object (ExceptionFree)",
  });
});

Deno.test("ExceptionLock.borrow() works with a handler's token", () => {
  const platform = new MockPlatform();
  const lock = new ExceptionLock(0);
  platform.interrupt((token) => lock.set(token, 5));
  assert.equal(exceptionFree(platform, (token) => lock.borrow(token)), 5);
});
