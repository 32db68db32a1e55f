// Copyright 2026 the percpu authors. MIT license.

// SpinMutex in one agent: construction, options, the token rules, deadlock
// and leak detection, forceUnlock, handles. Cross-Worker behaviour (waiting,
// timeouts, fairness, dead owners) is in spin_mutex_workers_test.ts.

import assert from "node:assert/strict";
import {
  DeadlockError,
  exceptionFree,
  ExceptionTokenError,
  LeakedGuardError,
  LockTimeoutError,
  SpinMutex,
  type SpinMutexGuard,
} from "../../mod.ts";
import type { Platform } from "../../percpu/platform.ts";
import { MockPlatform } from "../../platform/mock.ts";

const KINDS = [{ fair: false }, { fair: true }] as const;

function kind(fair: boolean): string {
  return fair ? "fair" : "plain";
}

Deno.test("SpinMutex() allocates its own lock word, unlocked", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const mutex = new SpinMutex(7, { fair });
      const { buffer, byteOffset } = mutex.handle;
      assert.ok(buffer instanceof SharedArrayBuffer);
      assert.equal(buffer.byteLength, fair ? SpinMutex.FAIR_BYTE_LENGTH : SpinMutex.BYTE_LENGTH);
      assert.equal(byteOffset, 0);
      assert.equal(mutex.handle.fair, fair);
      assert.equal(mutex.isLocked(), false);
    });
  }
  assert.equal(SpinMutex.BYTE_LENGTH, 4);
  assert.equal(SpinMutex.FAIR_BYTE_LENGTH, 20);
});

Deno.test("SpinMutex() uses the given buffer and byteOffset and writes nothing there", () => {
  const buffer = new SharedArrayBuffer(64);
  const bytes = new Uint8Array(buffer);
  const mutex = new SpinMutex(0, { buffer, byteOffset: 8 });
  assert.equal(mutex.handle.buffer, buffer);
  assert.equal(mutex.handle.byteOffset, 8);
  assert.deepEqual([...bytes], new Array(64).fill(0));
  const platform = new MockPlatform();
  exceptionFree(platform, (token) => {
    using _guard = mutex.lock(token);
    assert.notEqual(new Int32Array(buffer)[2], 0);
    assert.deepEqual([...bytes.subarray(0, 8), ...bytes.subarray(12)], new Array(60).fill(0));
  });
  assert.deepEqual([...bytes], new Array(64).fill(0));
});

Deno.test("SpinMutex() accepts a lock that ends exactly at the end of the buffer", () => {
  const buffer = new SharedArrayBuffer(24);
  assert.equal(new SpinMutex(0, { buffer, byteOffset: 20 }).handle.byteOffset, 20);
  assert.equal(new SpinMutex(0, { buffer, byteOffset: 0, fair: true }).isLocked(), false);
});

Deno.test("SpinMutex() throws TypeError for options of the wrong type", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["options null", null, /'options' must be an object: current value is null/],
    ["options a number", 3, /'options' must be an object: current value is 3/],
    [
      "buffer an ArrayBuffer",
      { buffer: new ArrayBuffer(8) },
      /'buffer' must be a SharedArrayBuffer: current value is an object \(ArrayBuffer\)/,
    ],
    ["buffer a string", { buffer: "abc" }, /'buffer' must be a SharedArrayBuffer/],
    ["byteOffset without buffer", { byteOffset: 0 }, /'byteOffset' needs a 'buffer'/],
    ["fair a string", { fair: "yes" }, /'fair' must be a boolean: current value is "yes"/],
    ["spin a string", { spin: "10" }, /'spin' must be a number: current value is "10"/],
    ["timeoutMs a bigint", { timeoutMs: 5n }, /'timeoutMs' must be a number: current value is 5n/],
    [
      "byteOffset a string",
      { buffer: new SharedArrayBuffer(8), byteOffset: "4" },
      /^Cannot create SpinMutex as 'byteOffset' must be a number: current value is "4"$/,
    ],
  ];
  for (const [name, options, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => new SpinMutex(0, options as never),
        (error) => error instanceof TypeError && message.test(error.message),
      );
    });
  }
});

Deno.test("SpinMutex() throws RangeError for a bad byteOffset", async (t) => {
  const buffer = new SharedArrayBuffer(24);
  const cases: [string, number, boolean, RegExp][] = [
    [
      "unaligned",
      6,
      false,
      /'byteOffset' must be a non-negative multiple of 4: current value is 6/,
    ],
    ["negative", -4, false, /multiple of 4: current value is -4/],
    ["fractional", 4.5, false, /multiple of 4: current value is 4.5/],
    ["NaN", NaN, false, /multiple of 4: current value is NaN/],
    ["past the end", 24, false, /must leave 4 bytes .* 24-byte buffer: current value is 24/],
    ["far past the end", 1024, false, /current value is 1024/],
    [
      "no room for a fair lock",
      8,
      true,
      /must leave 20 bytes .* 24-byte buffer: current value is 8/,
    ],
  ];
  for (const [name, byteOffset, fair, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => new SpinMutex(0, { buffer, byteOffset, fair }),
        (error) =>
          error instanceof RangeError && /^Cannot create SpinMutex as/.test(error.message) &&
          message.test(error.message),
      );
    });
  }
});

Deno.test("SpinMutex() throws RangeError for bad spin and timeoutMs values", async (t) => {
  const cases: [string, object, RegExp][] = [
    [
      "negative spin",
      { spin: -1 },
      /'spin' must be a whole number from 0 to Infinity: current value is -1/,
    ],
    ["fractional spin", { spin: 1.5 }, /'spin' must be a whole number .*: current value is 1.5/],
    ["NaN spin", { spin: NaN }, /'spin' .*: current value is NaN/],
    [
      "negative timeoutMs",
      { timeoutMs: -1 },
      /'timeoutMs' must be a number from 0 to Infinity: current value is -1/,
    ],
    ["NaN timeoutMs", { timeoutMs: NaN }, /'timeoutMs' .*: current value is NaN/],
  ];
  for (const [name, options, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => new SpinMutex(0, options),
        (error) => error instanceof RangeError && message.test(error.message),
      );
    });
  }
  // The edges are accepted.
  new SpinMutex(0, { spin: 0, timeoutMs: 0 });
  new SpinMutex(0, { spin: Infinity, timeoutMs: Infinity });
  new SpinMutex(0, { timeoutMs: 0.5 });
});

Deno.test("SpinMutex() throws RangeError when this agent uses the bytes for another lock", () => {
  const buffer = new SharedArrayBuffer(64);
  new SpinMutex(0, { buffer, byteOffset: 0, fair: true });
  assert.throws(
    () => new SpinMutex(0, { buffer, byteOffset: 0, fair: false }),
    (error) =>
      error instanceof RangeError &&
      error.message ===
        "Cannot create SpinMutex at byteOffset 0 as the lock at byteOffset 0 is already used as a fair lock in this agent",
  );
  assert.throws(
    () => new SpinMutex(0, { buffer, byteOffset: 16 }),
    (error) =>
      error instanceof RangeError &&
      error.message ===
        "Cannot create SpinMutex at byteOffset 16 as it overlaps the lock at byteOffset 0",
  );
  // Right after the fair lock's 20 bytes is free, and a second view of the same lock is fine.
  new SpinMutex(0, { buffer, byteOffset: 20 });
  new SpinMutex(0, { buffer, byteOffset: 0, fair: true });
});

Deno.test("SpinMutex.lock() returns a guard with the value and holds the lock until unlock()", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const value = { n: 0 };
      const mutex = new SpinMutex(value, { fair });
      exceptionFree(platform, (token) => {
        const guard = mutex.lock(token);
        assert.equal(guard.value, value);
        guard.value.n++;
        assert.equal(mutex.isLocked(), true);
        guard.unlock();
        assert.equal(mutex.isLocked(), false);
      });
      assert.equal(value.n, 1);
    });
  }
});

Deno.test("SpinMutex.lock() can be taken again after unlock, many times", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform({ cores: 2 });
      const counter = new Int32Array(1);
      const mutex = new SpinMutex(counter, { fair });
      for (let i = 0; i < 100; i++) {
        platform.runOn(i % 2, () =>
          exceptionFree(platform, (token) => {
            using guard = mutex.lock(token);
            guard.value[0]!++;
          }));
      }
      assert.equal(counter[0], 100);
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.lock(), tryLock() and withLock() throw ExceptionTokenError for an expired token and take nothing", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex(0, { fair });
      const expired = exceptionFree(platform, (token) => token);
      const calls = [
        () => mutex.lock(expired),
        () => mutex.tryLock(expired),
        () => mutex.withLock(expired, () => 1),
        () => mutex.withLock(expired, "not a function" as never),
      ];
      for (const call of calls) {
        assert.throws(
          call,
          (error) =>
            error instanceof ExceptionTokenError &&
            error.message ===
              "Cannot lock SpinMutex as the token expired when its exceptionFree() section ended: use the token only inside the callback",
        );
        assert.equal(mutex.isLocked(), false);
      }
    });
  }
});

Deno.test("SpinMutex.lock(), tryLock() and withLock() throw ExceptionTokenError for a forged token", () => {
  const mutex = new SpinMutex(0);
  for (const forged of [{ core: 0, live: true }, undefined, null, 0]) {
    for (
      const call of [
        () => mutex.lock(forged as never),
        () => mutex.tryLock(forged as never),
        () => mutex.withLock(forged as never, () => 1),
      ]
    ) {
      assert.throws(
        call,
        (error) =>
          error instanceof ExceptionTokenError &&
          /^Cannot lock SpinMutex as the token was not created by exceptionFree\(\)/.test(
            error.message,
          ),
      );
    }
  }
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex.lock() throws ExceptionTokenError for a token of another core", () => {
  const platform = new MockPlatform({ cores: 2 });
  const mutex = new SpinMutex(0);
  exceptionFree(platform, (token) => {
    platform.runOn(1, () => {
      assert.throws(
        () => mutex.lock(token),
        (error) =>
          error instanceof ExceptionTokenError &&
          error.message ===
            "Cannot lock SpinMutex as the token belongs to core 0 but the caller runs on core 1: take a token on this core",
      );
      assert.throws(() => mutex.tryLock(token), ExceptionTokenError);
    });
  });
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex.lock() throws DeadlockError when the same core locks again", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex(0, { fair });
      exceptionFree(platform, (token) => {
        using guard = mutex.lock(token);
        assert.throws(
          () => mutex.lock(token),
          (error) =>
            error instanceof DeadlockError && error.holderCore === 0 && error.core === 0 &&
            error.message ===
              "Cannot lock SpinMutex on core 0 as core 0 of this agent holds it and cannot release it while this call waits: unlock that guard first, or use tryLock()",
        );
        // The first guard still holds it.
        assert.equal(mutex.isLocked(), true);
        assert.equal(guard.value, 0);
      });
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.lock() throws DeadlockError naming the holder when two mock cores contend in one agent", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform({ cores: 3 });
      const mutex = new SpinMutex(0, { fair });
      platform.runOn(2, () =>
        exceptionFree(platform, (token) => {
          using _guard = mutex.lock(token);
          platform.runOn(1, () =>
            exceptionFree(platform, (other) => {
              assert.throws(
                () => mutex.lock(other),
                (error) =>
                  error instanceof DeadlockError && error.holderCore === 2 && error.core === 1 &&
                  /^Cannot lock SpinMutex on core 1 as core 2 of this agent holds it/.test(
                    error.message,
                  ),
              );
              assert.throws(() => mutex.withLock(other, () => 0), DeadlockError);
            }));
        }));
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.lock() throws DeadlockError through another view of the same lock", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex(0, { fair });
      const view = SpinMutex.attach(mutex.handle, 0);
      exceptionFree(platform, (token) => {
        using _guard = mutex.lock(token);
        assert.equal(view.isLocked(), true);
        assert.throws(() => view.lock(token), DeadlockError);
        assert.equal(view.tryLock(token), undefined);
      });
      assert.equal(view.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.lock() throws DeadlockError on the holder's core through a view this agent cannot recognise", async (t) => {
  // A handle cloned again (structuredClone, a second postMessage) brings a
  // new SharedArrayBuffer object over the same memory: the lock word still
  // names the holder's core, and a core is run by one agent at a time.
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex(0, { fair });
      const view = SpinMutex.attach(structuredClone(mutex.handle), 0, { timeoutMs: 50 });
      exceptionFree(platform, (token) => {
        using _guard = mutex.lock(token);
        for (const call of [() => view.lock(token), () => view.withLock(token, () => 0)]) {
          assert.throws(
            call,
            (error) =>
              error instanceof DeadlockError && error.holderCore === 0 && error.core === 0 &&
              error.holderUnknown &&
              error.message ===
                "Cannot lock SpinMutex on core 0 as the lock records core 0 as its holder and a core runs in one agent at a time: either this agent holds it through another view of the lock (unlock that guard first), or an agent that ran core 0 before died holding it (recover with forceUnlock())",
          );
        }
        assert.equal(view.tryLock(token), undefined);
        assert.equal(mutex.isLocked(), true);
      });
      assert.equal(view.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.lock() throws RangeError when a plain and a fair view of the same bytes meet", async (t) => {
  // Views built by hand in two agents (stood for here by two buffer objects
  // over one memory) that disagree on 'fair'.
  for (const holderFair of [true, false]) {
    await t.step(`${kind(holderFair)} holder`, () => {
      const platform = new MockPlatform({ cores: 2 });
      const buffer = new SharedArrayBuffer(SpinMutex.FAIR_BYTE_LENGTH);
      const holder = new SpinMutex(0, { buffer, fair: holderFair });
      const other = new SpinMutex(0, {
        buffer: structuredClone(buffer),
        fair: !holderFair,
        timeoutMs: 50,
      });
      exceptionFree(platform, (token) => {
        using _guard = holder.lock(token);
        platform.runOn(1, () =>
          exceptionFree(platform, (otherToken) => {
            assert.throws(
              () => other.lock(otherToken),
              (error) =>
                error instanceof RangeError &&
                error.message ===
                  `Cannot lock SpinMutex as a ${
                    kind(holderFair)
                  } view of the same bytes holds it, and this view is ${
                    kind(!holderFair)
                  }: every view of a lock must agree on 'fair'; attach views from the lock's handle`,
            );
          }));
        assert.equal(holder.isLocked(), true);
      });
      // Nothing was corrupted: both kinds work again once it is free.
      assert.equal(holder.isLocked(), false);
      assert.equal(other.isLocked(), false);
      for (const mutex of [holder, other]) {
        assert.equal(exceptionFree(platform, (token) => mutex.withLock(token, () => 1)), 1);
      }
    });
  }
});

Deno.test("SpinMutex.lock() throws DeadlockError from an interrupt handler while its core holds the lock", () => {
  // A handler cannot run while its core holds the lock (the core is masked),
  // but one agent simulating two cores can interleave them.
  const platform = new MockPlatform({ cores: 2 });
  const mutex = new SpinMutex(0);
  let seen: unknown;
  exceptionFree(platform, (token) => {
    using _guard = mutex.lock(token);
    platform.interrupt((handlerToken) => {
      try {
        mutex.lock(handlerToken);
      } catch (error) {
        seen = error;
      }
    }, { core: 1 });
  });
  assert.ok(seen instanceof DeadlockError);
  assert.equal(seen.holderCore, 0);
  assert.equal(seen.core, 1);
});

Deno.test("SpinMutex.tryLock() returns a guard when free and undefined when this agent holds it", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform({ cores: 2 });
      const mutex = new SpinMutex("v", { fair });
      exceptionFree(platform, (token) => {
        const guard = mutex.tryLock(token);
        assert.equal(guard?.value, "v");
        assert.equal(mutex.tryLock(token), undefined);
        platform.runOn(1, () => {
          exceptionFree(platform, (other) => assert.equal(mutex.tryLock(other), undefined));
        });
        guard?.unlock();
        using again = mutex.tryLock(token);
        assert.notEqual(again, undefined);
      });
    });
  }
});

Deno.test("SpinMutex.withLock() returns the callback's result and releases the lock", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex({ n: 41 }, { fair });
      const result = exceptionFree(platform, (token) =>
        mutex.withLock(token, (value) => {
          assert.equal(mutex.isLocked(), true);
          return ++value.n;
        }));
      assert.equal(result, 42);
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.withLock() releases the lock when the callback throws", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  const failure = new Error("boom");
  assert.throws(
    () =>
      exceptionFree(platform, (token) =>
        mutex.withLock(token, () => {
          throw failure;
        })),
    (error) => error === failure,
  );
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex.withLock() throws TypeError for a callback that is not a function", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  exceptionFree(platform, (token) => {
    assert.throws(
      () => mutex.withLock(token, 5 as never),
      (error) =>
        error instanceof TypeError &&
        error.message === "Cannot lock SpinMutex as 'fn' must be a function: current value is 5",
    );
  });
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex.withLock() throws TypeError for an async callback, with the lock released", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  exceptionFree(platform, (token) => {
    assert.throws(
      // @ts-expect-error: an async callback is rejected at compile time too
      () => mutex.withLock(token, async () => {}),
      (error) =>
        error instanceof TypeError &&
        /^Cannot run an asynchronous callback in SpinMutex.withLock\(\)/.test(error.message),
    );
    assert.equal(mutex.isLocked(), false);
  });
});

Deno.test("SpinMutexGuard.unlock() a second time does nothing", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  exceptionFree(platform, (token) => {
    const first = mutex.lock(token);
    first.unlock();
    first.unlock();
    assert.equal(mutex.isLocked(), false);
    // A released guard cannot release a later holder.
    using _second = mutex.lock(token);
    first.unlock();
    first[Symbol.dispose]();
    assert.equal(mutex.isLocked(), true);
  });
});

Deno.test("SpinMutexGuard.value throws TypeError once the guard is released", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex([1, 2]);
  exceptionFree(platform, (token) => {
    const guard = mutex.lock(token);
    assert.deepEqual(guard.value, [1, 2]);
    guard.unlock();
    assert.throws(
      () => guard.value,
      (error) =>
        error instanceof TypeError &&
        error.message ===
          "Cannot read SpinMutexGuard.value as the guard was released: lock the SpinMutex again",
    );
  });
});

Deno.test("SpinMutexGuard[Symbol.dispose]() releases the lock at the end of a using block, also on throw", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  assert.throws(() =>
    exceptionFree(platform, (token) => {
      using _guard = mutex.lock(token);
      throw new Error("inside");
    }), /inside/);
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutexGuard() throws TypeError when users construct one", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  const Guard = exceptionFree(platform, (token) => {
    using held = mutex.lock(token);
    return held.constructor as new (...args: unknown[]) => SpinMutexGuard<number>;
  });
  for (const args of [[], [Symbol("SpinMutexGuard"), { held: 1 }, 5, 1]]) {
    assert.throws(
      () => new Guard(...args),
      (error) =>
        error instanceof TypeError &&
        error.message ===
          "Cannot construct SpinMutexGuard: guards come only from SpinMutex.lock() and tryLock()",
    );
  }
});

Deno.test("exceptionFree() releases a leaked guard and throws LeakedGuardError", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform({ cores: 2 });
      const mutex = new SpinMutex(0, { fair });
      let leaked: SpinMutexGuard<number> | undefined;
      assert.throws(
        () =>
          platform.runOn(1, () => exceptionFree(platform, (token) => leaked = mutex.lock(token))),
        (error) =>
          error instanceof LeakedGuardError && error.core === 1 && error.cause === undefined &&
          error.message ===
            "Cannot end the exceptionFree() section on core 1 as a SpinMutex guard taken in it is still held: the lock was released; unlock every guard before the section ends, for example with 'using'",
      );
      assert.equal(mutex.isLocked(), false);
      assert.equal(platform.isMasked(1), false);
      // The leaked guard is dead, and the lock works on.
      assert.throws(() => leaked?.value, TypeError);
      leaked?.unlock();
      assert.equal(
        exceptionFree(platform, (token) => mutex.withLock(token, () => "again")),
        "again",
      );
    });
  }
});

Deno.test("exceptionFree() keeps the callback's error as the cause of LeakedGuardError", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  const failure = new Error("callback failed");
  assert.throws(
    () =>
      exceptionFree(platform, (token) => {
        mutex.lock(token);
        throw failure;
      }),
    (error) => error instanceof LeakedGuardError && error.cause === failure,
  );
  assert.equal(mutex.isLocked(), false);
});

Deno.test("exceptionFree() reports no leak for guards released in the section, and one per leaked lock", () => {
  const platform = new MockPlatform();
  const first = new SpinMutex(0);
  const second = new SpinMutex(0);
  // Many lock/unlock pairs, then nothing leaked.
  exceptionFree(platform, (token) => {
    for (let i = 0; i < 10; i++) {
      first.lock(token).unlock();
      second.withLock(token, () => {});
    }
  });
  // Both leaked: both are released; the error of the one released last wraps the other.
  assert.throws(
    () =>
      exceptionFree(platform, (token) => {
        first.lock(token);
        second.lock(token);
      }),
    (error) => error instanceof LeakedGuardError && error.cause instanceof LeakedGuardError,
  );
  assert.equal(first.isLocked(), false);
  assert.equal(second.isLocked(), false);
});

Deno.test("exceptionFree() ending an inner section leaves a guard of the outer section alone", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  exceptionFree(platform, (outer) => {
    const guard = mutex.lock(outer);
    exceptionFree(platform, (inner) => {
      assert.equal(mutex.tryLock(inner), undefined);
    });
    assert.equal(mutex.isLocked(), true);
    guard.unlock();
    // The inner section may take it once the outer guard is gone.
    exceptionFree(platform, (inner) => mutex.withLock(inner, () => {}));
    using _again = mutex.lock(outer);
  });
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex.forceUnlock() opens a lock held by this agent, and the old guard becomes inert", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex(0, { fair });
      exceptionFree(platform, (token) => {
        const guard = mutex.lock(token);
        mutex.forceUnlock();
        assert.equal(mutex.isLocked(), false);
        guard.unlock();
        assert.throws(() => guard.value, TypeError);
        using _again = mutex.lock(token);
        assert.equal(mutex.isLocked(), true);
      });
      // No leak is reported for the forced guard.
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.forceUnlock() on a free lock leaves it free and working", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const platform = new MockPlatform();
      const mutex = new SpinMutex(0, { fair });
      mutex.forceUnlock();
      assert.equal(mutex.isLocked(), false);
      exceptionFree(platform, (token) => {
        const guard = mutex.lock(token);
        assert.equal(mutex.tryLock(token), undefined);
        guard.unlock();
      });
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutexGuard.unlock() throws when forceUnlock() handed the lock to another view meanwhile", () => {
  // Two views that this agent cannot tell apart (a handle that made a
  // round trip is a new SharedArrayBuffer object) stand for two agents.
  const platform = new MockPlatform({ cores: 2 });
  const mutex = new SpinMutex(0);
  const stranger = SpinMutex.attach(
    { ...mutex.handle, buffer: structuredClone(mutex.handle.buffer) },
    0,
  );
  exceptionFree(platform, (token) => {
    const guard = mutex.lock(token);
    stranger.forceUnlock();
    platform.runOn(1, () =>
      exceptionFree(platform, (other) => {
        const theirs = stranger.lock(other);
        assert.throws(
          () => guard.unlock(),
          (error) =>
            error instanceof Error &&
            error.message ===
              "Cannot unlock SpinMutex on core 0 as it no longer holds it: forceUnlock() released it while it was held, so mutual exclusion was broken",
        );
        // Core 1's hold is left alone.
        assert.equal(mutex.isLocked(), true);
        theirs.unlock();
      }));
  });
  assert.equal(mutex.isLocked(), false);
});

Deno.test("SpinMutex.handle is structured-cloneable and attach() shares the lock", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), () => {
      const buffer = new SharedArrayBuffer(64);
      const mutex = new SpinMutex("a", { buffer, byteOffset: 32, fair });
      const copy = structuredClone(mutex.handle);
      assert.deepEqual(Object.keys(copy).sort(), ["buffer", "byteOffset", "fair"]);
      assert.equal(copy.byteOffset, 32);
      assert.equal(copy.fair, fair);
      const view = SpinMutex.attach(mutex.handle, "b", { timeoutMs: 10, spin: 0 });
      const platform = new MockPlatform();
      exceptionFree(platform, (token) => {
        using guard = view.lock(token);
        assert.equal(guard.value, "b");
        assert.equal(mutex.isLocked(), true);
      });
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.attach() throws TypeError for something that is not a handle", async (t) => {
  const good = new SpinMutex(0).handle;
  const cases: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["a string", "handle"],
    ["no buffer", { byteOffset: 0, fair: false }],
    ["an ArrayBuffer", { buffer: new ArrayBuffer(4), byteOffset: 0, fair: false }],
    ["no byteOffset", { buffer: good.buffer, fair: false }],
    ["byteOffset a string", { buffer: good.buffer, byteOffset: "0", fair: false }],
    ["no fair", { buffer: good.buffer, byteOffset: 0 }],
  ];
  for (const [name, handle] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => SpinMutex.attach(handle as never, 0),
        (error) =>
          error instanceof TypeError &&
          /^Cannot attach SpinMutex as 'handle' must be a SpinMutex handle \{ buffer, byteOffset, fair \}: current value is/
            .test(error.message),
      );
    });
  }
});

Deno.test("SpinMutex.attach() throws for a handle with a bad byteOffset and for conflicting options", () => {
  const buffer = new SharedArrayBuffer(8);
  assert.throws(
    () => SpinMutex.attach({ buffer, byteOffset: 2, fair: false }, 0),
    /Cannot create SpinMutex as 'byteOffset' must be a non-negative multiple of 4: current value is 2/,
  );
  assert.throws(
    () => SpinMutex.attach({ buffer, byteOffset: 8, fair: false }, 0),
    RangeError,
  );
  const handle = new SpinMutex(0).handle;
  for (const options of [{ buffer }, { byteOffset: 0 }, { fair: false }]) {
    assert.throws(
      () => SpinMutex.attach(handle, 0, options),
      (error) =>
        error instanceof TypeError &&
        /^Cannot attach SpinMutex as '(buffer|byteOffset|fair)' comes from the handle/.test(
          error.message,
        ),
    );
  }
  assert.throws(() => SpinMutex.attach(handle, 0, null as never), TypeError);
  assert.throws(() => SpinMutex.attach(handle, 0, { timeoutMs: -5 }), RangeError);
});

Deno.test("SpinMutex.lock() with timeoutMs 0 still takes a free lock", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0, { timeoutMs: 0, spin: 0 });
  assert.equal(exceptionFree(platform, (token) => mutex.withLock(token, () => 1)), 1);
});

Deno.test("SpinMutex.lock() accepts the largest core index the lock word holds and rejects the next", async (t) => {
  const MAX_CORE = 2 ** 29 - 2;
  const platform = new MockPlatform({ cores: 1 });
  // A platform that reports a huge core index (the mock allows at most 1024).
  function on(core: number): Platform {
    return {
      coreCount: 2 ** 30,
      coreIndex: () => core,
      mask: () => platform.mask(),
      restore: (previous: number) => platform.restore(previous),
    };
  }
  await t.step("MAX_CORE is accepted and recorded as the owner", () => {
    const mutex = new SpinMutex(0);
    const other = SpinMutex.attach(structuredClone(mutex.handle), 0, { timeoutMs: 0 });
    exceptionFree(on(MAX_CORE), (token) => {
      using _guard = mutex.lock(token);
      assert.equal(mutex.isLocked(), true);
    });
    exceptionFree(on(MAX_CORE), (token) => {
      using _guard = mutex.lock(token);
      exceptionFree(on(0), (other0) => {
        assert.throws(
          () => other.lock(other0),
          (error) => error instanceof LockTimeoutError && error.ownerCore === MAX_CORE,
        );
      });
    });
    assert.equal(mutex.isLocked(), false);
  });
  for (const core of [MAX_CORE + 1, 2 ** 29]) {
    await t.step(`${core} is rejected`, () => {
      const mutex = new SpinMutex(0);
      exceptionFree(on(core), (token) => {
        assert.throws(
          () => mutex.lock(token),
          (error) =>
            error instanceof RangeError &&
            error.message ===
              `Cannot lock SpinMutex as the core index must be at most 536870910 to fit in the lock word: current value is ${core}`,
        );
        assert.throws(() => mutex.tryLock(token), RangeError);
        assert.throws(() => mutex.withLock(token, () => 0), RangeError);
      });
      assert.equal(mutex.isLocked(), false);
    });
  }
});

Deno.test("SpinMutex.waitUnlocked() resolves at once when the lock is free", async (t) => {
  for (const { fair } of KINDS) {
    await t.step(kind(fair), async () => {
      const mutex = new SpinMutex(0, { fair });
      await mutex.waitUnlocked();
      await mutex.waitUnlocked({});
      await mutex.waitUnlocked({ signal: new AbortController().signal });
    });
  }
});

Deno.test("SpinMutex.waitUnlocked() rejects with the reason of an aborted signal", async () => {
  const mutex = new SpinMutex(0);
  const controller = new AbortController();
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(
    mutex.waitUnlocked({ signal: controller.signal }),
    (error) => error === reason,
  );
});

Deno.test("SpinMutex.waitUnlocked() rejects with TypeError for a signal that is not an AbortSignal", async () => {
  const mutex = new SpinMutex(0);
  await assert.rejects(
    mutex.waitUnlocked({ signal: { aborted: false } as never }),
    (error) =>
      error instanceof TypeError &&
      error.message ===
        "Cannot wait for SpinMutex as 'signal' must be an AbortSignal: current value is an object",
  );
});

Deno.test("LockTimeoutError and DeadlockError carry the cores they name", () => {
  const timeout = new LockTimeoutError({ ownerCore: 3, core: 1, timeoutMs: 250 }, { cause: "x" });
  assert.equal(timeout.name, "LockTimeoutError");
  assert.deepEqual([timeout.ownerCore, timeout.core, timeout.timeoutMs, timeout.cause], [
    3,
    1,
    250,
    "x",
  ]);
  assert.equal(
    timeout.message,
    "Cannot lock SpinMutex on core 1 as core 3 held it for the whole timeout of 250 ms: if its owner died, recover it with forceUnlock()",
  );
  assert.equal(
    new LockTimeoutError({ ownerCore: undefined, core: 0, timeoutMs: 5 }).message,
    "Cannot lock SpinMutex on core 0 as other cores kept it busy for the whole timeout of 5 ms: if its owner died, recover it with forceUnlock()",
  );
  const deadlock = new DeadlockError(2, 0);
  assert.equal(deadlock.name, "DeadlockError");
  assert.ok(deadlock instanceof Error);
  assert.equal(new LeakedGuardError(4).name, "LeakedGuardError");
});

Deno.test("SpinMutex.lock() reports a lock left held on its own core by a dead agent, and forceUnlock() recovers it", () => {
  const platform = new MockPlatform();
  const mutex = new SpinMutex(0);
  // What an agent that ran core 0 leaves when it dies holding the lock: the
  // plain lock word with owner core 0 + 1, above the two flag bits.
  Atomics.store(new Int32Array(mutex.handle.buffer), mutex.handle.byteOffset / 4, (0 + 1) << 2);
  exceptionFree(platform, (token) => {
    assert.throws(
      () => mutex.lock(token),
      (error) => error instanceof DeadlockError && error.holderUnknown && error.holderCore === 0,
    );
  });
  mutex.forceUnlock();
  exceptionFree(platform, (token) => {
    using _guard = mutex.lock(token);
    assert.equal(mutex.isLocked(), true);
  });
  assert.equal(mutex.isLocked(), false);
});
