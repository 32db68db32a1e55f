// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { exceptionFree, ExceptionLock, PerCpu } from "../../mod.ts";
import { type ExploreOptions, MockPlatform } from "../../platform/mock.ts";

interface Counter {
  count: ExceptionLock<number>;
  handled: number;
}

function read(lock: ExceptionLock<number>): number {
  return exceptionFree(new MockPlatform(), (token) => lock.borrow(token));
}

function counterScenario(
  run: (platform: MockPlatform, state: Counter) => void,
): ExploreOptions<Counter> {
  return {
    setup: () => ({ count: new ExceptionLock(0), handled: 0 }),
    run,
    interrupt: (token, state) => {
      state.count.update(token, (n) => n + 1);
      state.handled++;
    },
    check: (state) => assert.equal(read(state.count), 2 + state.handled),
  };
}

Deno.test("MockPlatform.explore() finds the lost update of a read and a write in two sections", () => {
  const report = MockPlatform.explore(counterScenario((platform, state) => {
    for (let i = 0; i < 2; i++) {
      const seen = exceptionFree(platform, (token) => state.count.borrow(token));
      exceptionFree(platform, (token) => state.count.set(token, seen + 1));
    }
  }));
  assert.equal(report.points, 5);
  assert.deepEqual(report.failures.map(({ point, where }) => ({ point, where })), [
    { point: 1, where: "after the restore of section 1" },
    { point: 3, where: "after the restore of section 3" },
  ]);
  const error = report.failures[0]?.error as Error;
  assert.equal(error.name, "AssertionError");
  assert.match(error.message, /^Expected values to be strictly equal:\n\n2 !== 3\n/);
});

Deno.test("MockPlatform.explore() reports no failure for the same update in one section", () => {
  const report = MockPlatform.explore(counterScenario((platform, state) => {
    for (let i = 0; i < 2; i++) {
      exceptionFree(platform, (token) => state.count.update(token, (n) => n + 1));
    }
  }));
  assert.equal(report.points, 3);
  assert.deepEqual(report.failures, []);
});

Deno.test("MockPlatform.explore() counts the start and every unmasking restore, not nested ones", () => {
  const logs: string[] = [];
  const report = MockPlatform.explore({
    setup: () => ({ log: [] as string[] }),
    run: (platform, state) => {
      exceptionFree(platform, () => exceptionFree(platform, () => state.log.push("a")));
      exceptionFree(platform, () => state.log.push("b"));
    },
    interrupt: (_token, state) => state.log.push("irq"),
    check: (state) => logs.push(state.log.join(" ")),
  });
  assert.equal(report.points, 3);
  assert.deepEqual(report.failures, []);
  // The run without interrupts, then one run per point.
  assert.deepEqual(logs, ["a b", "irq a b", "a irq b", "a b irq"]);
});

Deno.test("MockPlatform.explore() reports errors that escape from run, with the point in words", () => {
  const report = MockPlatform.explore({
    cores: 2,
    setup: () => ({ busy: false }),
    run: (platform, state) => {
      exceptionFree(platform, () => {});
      platform.runOn(1, () => exceptionFree(platform, () => state.busy = true));
      exceptionFree(platform, () => {});
    },
    interrupt: (_token, state) => {
      if (state.busy) throw new Error("handler saw busy");
    },
    check: () => {},
  });
  assert.equal(report.points, 4);
  assert.deepEqual(
    report.failures.map(({ point, where, error }) => [point, where, (error as Error).message]),
    [
      [2, "after the restore of section 2 on core 1", "handler saw busy"],
      [3, "after the restore of section 3", "handler saw busy"],
    ],
  );
});

Deno.test("MockPlatform.explore() runs the handler on the core of the point, masked, with a token", () => {
  const seen: string[] = [];
  MockPlatform.explore({
    cores: 2,
    setup: () => undefined,
    run: (platform) => platform.runOn(1, () => exceptionFree(platform, () => {})),
    interrupt: (token, _state, platform) => {
      seen.push(`core ${token.core} masked ${platform.isMasked()} live ${token.live}`);
    },
    check: () => {},
  });
  assert.deepEqual(seen, ["core 0 masked true live true", "core 1 masked true live true"]);
});

Deno.test("MockPlatform.explore() finds a per-core lost update in PerCpu state", () => {
  const report = MockPlatform.explore({
    setup: (platform) => ({
      perCpu: PerCpu.from(platform, () => new ExceptionLock(0)),
      handled: 0,
    }),
    run: (platform, { perCpu }) => {
      const seen = exceptionFree(platform, (token) => perCpu.get().borrow(token));
      exceptionFree(platform, (token) => perCpu.get().set(token, seen + 10));
    },
    interrupt: (token, state) => {
      state.perCpu.get().update(token, (n) => n + 1);
      state.handled++;
    },
    check: (state) => {
      const [lock] = state.perCpu.unsynchronizedValues();
      assert.equal(read(lock as ExceptionLock<number>), 10 + state.handled);
    },
  });
  assert.deepEqual(report.failures.map((failure) => failure.where), [
    "after the restore of section 1",
  ]);
});

Deno.test("MockPlatform.explore() does not count the sections of check() as delivery points", () => {
  const report = MockPlatform.explore(counterScenario((platform, state) => {
    exceptionFree(platform, (token) => state.count.update(token, (n) => n + 2));
  }));
  // The check reads through exceptionFree() on a platform of its own; with
  // the scenario's platform too, its sections must not be interrupted.
  const inCheck = MockPlatform.explore({
    setup: (platform) => ({ count: new ExceptionLock(0), handled: 0, platform }),
    run: (platform, state) => {
      exceptionFree(platform, (token) => state.count.update(token, (n) => n + 1));
    },
    interrupt: (token, state) => {
      state.count.update(token, (n) => n + 1);
      state.handled++;
    },
    check: (state) => {
      const count = exceptionFree(state.platform, (token) => state.count.borrow(token));
      assert.equal(count, 1 + state.handled);
    },
  });
  assert.deepEqual([report.points, report.failures], [2, []]);
  assert.deepEqual([inCheck.points, inCheck.failures], [2, []]);
});

Deno.test("MockPlatform.explore() throws TypeError for an asynchronous run() or check()", () => {
  assert.throws(
    () =>
      MockPlatform.explore({
        setup: () => 0,
        run: async () => {},
        interrupt: () => {},
        check: () => {},
      }),
    {
      name: "TypeError",
      message: "Cannot explore as run() returned a promise: scenarios must be synchronous",
    },
  );
  assert.throws(
    () =>
      MockPlatform.explore({
        setup: () => 0,
        run: () => {},
        interrupt: () => {},
        check: async () => {},
      }),
    {
      name: "TypeError",
      message: "Cannot explore as check() returned a promise: checks must be synchronous",
    },
  );
});

Deno.test("MockPlatform.explore() throws when the scenario fails without any interrupt", () => {
  const failure = new Error("always");
  assert.throws(
    () =>
      MockPlatform.explore({
        setup: () => 0,
        run: () => {},
        interrupt: () => {},
        check: () => {
          throw failure;
        },
      }),
    (error: Error) =>
      error.message ===
        "Cannot explore as the scenario fails without any interrupt: fix run() or check() first" &&
      error.cause === failure,
  );
});

Deno.test("MockPlatform.explore() throws TypeError for a missing function", () => {
  assert.throws(
    // @ts-expect-error: check is missing on purpose.
    () => MockPlatform.explore({ setup: () => 0, run: () => {}, interrupt: () => {} }),
    {
      name: "TypeError",
      message: "Cannot explore as 'check' must be a function: current value is undefined",
    },
  );
});
