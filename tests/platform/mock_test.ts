// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { type ExceptionFree, exceptionFree } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";

Deno.test("MockPlatform() starts every core unmasked, on core 0, with nothing pending", () => {
  const platform = new MockPlatform({ cores: 3 });
  assert.equal(platform.coreCount, 3);
  assert.equal(platform.coreIndex(), 0);
  assert.deepEqual([0, 1, 2].map((core) => platform.isMasked(core)), [false, false, false]);
  assert.deepEqual([0, 1, 2].map((core) => platform.pending(core)), [0, 0, 0]);
  assert.deepEqual(platform.counters(), { masks: 0, restores: 0, delivered: 0, deferred: 0 });
});

Deno.test("MockPlatform() has one core by default", () => {
  assert.equal(new MockPlatform().coreCount, 1);
});

Deno.test("MockPlatform() throws for bad options", async (t) => {
  const cases: [string, unknown, string, string][] = [
    ["zero cores", { cores: 0 }, "RangeError", "0"],
    ["fractional", { cores: 1.5 }, "RangeError", "1.5"],
    ["too many", { cores: 1025 }, "RangeError", "1025"],
  ];
  for (const [name, options, errorName, shown] of cases) {
    await t.step(name, () => {
      assert.throws(() => new MockPlatform(options as { cores: number }), {
        name: errorName,
        message:
          `Cannot create MockPlatform as 'cores' must be an integer from 1 to 1024: current value is ${shown}`,
      });
    });
  }
  await t.step("a string", () => {
    // @ts-expect-error: wrong type on purpose.
    assert.throws(() => new MockPlatform({ cores: "2" }), {
      name: "TypeError",
      message: `Cannot create MockPlatform as 'cores' must be a number: current value is "2"`,
    });
  });
  await t.step("options not an object", () => {
    // @ts-expect-error: wrong type on purpose.
    assert.throws(() => new MockPlatform(4), {
      name: "TypeError",
      message: "Cannot create MockPlatform as 'options' must be an object: current value is 4",
    });
  });
});

Deno.test("MockPlatform.runOn() switches the current core and switches back", () => {
  const platform = new MockPlatform({ cores: 3 });
  const seen = platform.runOn(
    2,
    () => [platform.coreIndex(), platform.runOn(1, () => platform.coreIndex())],
  );
  assert.deepEqual(seen, [2, 1]);
  assert.equal(platform.coreIndex(), 0);
});

Deno.test("MockPlatform.runOn() switches back when the callback throws", () => {
  const platform = new MockPlatform({ cores: 2 });
  assert.throws(() =>
    platform.runOn(1, () => {
      throw new Error("x");
    }), { message: "x" });
  assert.equal(platform.coreIndex(), 0);
});

Deno.test("MockPlatform.runOn() throws for a bad core or callback", () => {
  const platform = new MockPlatform({ cores: 2 });
  assert.throws(() => platform.runOn(2, () => 1), {
    name: "RangeError",
    message:
      "Cannot run on core as the core index must be an integer from 0 to 1: current value is 2",
  });
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => platform.runOn(1, null), {
    name: "TypeError",
    message: "Cannot run on core 1 as 'fn' must be a function: current value is null",
  });
});

Deno.test("MockPlatform.mask() masks only the current core", () => {
  const platform = new MockPlatform({ cores: 2 });
  const previous = platform.runOn(1, () => platform.mask());
  assert.deepEqual([platform.isMasked(0), platform.isMasked(1)], [false, true]);
  platform.runOn(1, () => platform.restore(previous));
  assert.deepEqual([platform.isMasked(0), platform.isMasked(1)], [false, false]);
});

Deno.test("MockPlatform.interrupt() runs the handler at once on an unmasked core", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  const ranAtOnce = platform.interrupt((token) => {
    log.push(`core ${token.core}, masked ${platform.isMasked()}, live ${token.live}`);
  });
  assert.equal(ranAtOnce, true);
  assert.deepEqual(log, ["core 0, masked true, live true"]);
  assert.equal(platform.isMasked(), false);
  assert.deepEqual(platform.counters(), { masks: 0, restores: 0, delivered: 1, deferred: 0 });
});

Deno.test("MockPlatform.interrupt() runs the handler on the target core", () => {
  const platform = new MockPlatform({ cores: 2 });
  const seen: number[] = [];
  platform.interrupt((token) => seen.push(platform.coreIndex(), token.core), { core: 1 });
  assert.deepEqual(seen, [1, 1]);
  assert.equal(platform.coreIndex(), 0);
  assert.equal(platform.counters(1).delivered, 1);
  assert.equal(platform.counters(0).delivered, 0);
});

Deno.test("MockPlatform.interrupt() keeps the handler pending while the core is masked", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  exceptionFree(platform, () => {
    assert.equal(platform.interrupt(() => log.push("first")), false);
    assert.equal(platform.interrupt(() => log.push("second")), false);
    assert.equal(platform.pending(), 2);
    log.push("section");
  });
  assert.deepEqual(log, ["section", "first", "second"]);
  assert.equal(platform.pending(), 0);
  assert.deepEqual(platform.counters(), { masks: 1, restores: 1, delivered: 2, deferred: 2 });
});

Deno.test("MockPlatform.interrupt() delivers only when the outermost section restores", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  exceptionFree(platform, () => {
    exceptionFree(platform, () => platform.interrupt(() => log.push("handler")));
    log.push("inner restored");
  });
  log.push("outer restored");
  assert.deepEqual(log, ["inner restored", "handler", "outer restored"]);
});

Deno.test("MockPlatform.interrupt() on a masked core waits for that core, not the caller", () => {
  const platform = new MockPlatform({ cores: 2 });
  const log: string[] = [];
  const previous = platform.runOn(1, () => platform.mask());
  platform.interrupt(() => log.push("on 1"), { core: 1 });
  exceptionFree(platform, () => {});
  assert.deepEqual(log, []);
  assert.equal(platform.pending(1), 1);
  platform.runOn(1, () => platform.restore(previous));
  assert.deepEqual(log, ["on 1"]);
});

Deno.test("MockPlatform.interrupt() raised inside a handler runs after that handler", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  platform.interrupt(() => {
    platform.interrupt(() => log.push("nested"));
    log.push("outer handler");
  });
  assert.deepEqual(log, ["outer handler", "nested"]);
  assert.equal(platform.counters().deferred, 1);
});

Deno.test("MockPlatform.interrupt() revokes the handler's token when the handler returns", () => {
  const platform = new MockPlatform();
  let kept: ExceptionFree | undefined;
  platform.interrupt((token) => kept = token);
  assert.equal(kept?.live, false);
});

Deno.test("MockPlatform.interrupt() propagates a handler's error after running the other pending ones", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  assert.throws(
    () =>
      exceptionFree(platform, () => {
        platform.interrupt(() => {
          throw new Error("handler failed");
        });
        platform.interrupt(() => log.push("later"));
      }),
    { message: "handler failed" },
  );
  assert.equal(platform.isMasked(), false);
  assert.equal(platform.pending(), 0);
  assert.deepEqual(log, ["later"]);
});

Deno.test("MockPlatform.interrupt() throws an AggregateError when several handlers throw", () => {
  const platform = new MockPlatform();
  const first = new Error("first");
  const second = new Error("second");
  assert.throws(
    () =>
      exceptionFree(platform, () => {
        platform.interrupt(() => {
          throw first;
        });
        platform.interrupt(() => {
          throw second;
        });
      }),
    (error) =>
      error instanceof AggregateError && error.message === "2 interrupt handlers threw on core 0" &&
      error.errors[0] === first && error.errors[1] === second,
  );
  assert.equal(platform.counters().delivered, 2);
});

Deno.test("MockPlatform.interrupt() rejects a handler that returns a promise, and unmasks", () => {
  const platform = new MockPlatform();
  // @ts-expect-error: an async handler on purpose.
  assert.throws(() => platform.interrupt(async () => {}), {
    name: "TypeError",
    message:
      "Cannot return from an interrupt handler that returned a promise as handlers must be synchronous: do the asynchronous work outside the handler",
  });
  assert.equal(platform.isMasked(), false);
  assert.equal(platform.counters().delivered, 1);
});

Deno.test("MockPlatform.interrupt() throws for a bad handler or core", () => {
  const platform = new MockPlatform({ cores: 2 });
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => platform.interrupt("x"), {
    name: "TypeError",
    message: `Cannot raise an interrupt as 'handler' must be a function: current value is "x"`,
  });
  assert.throws(() => platform.interrupt(() => {}, { core: -1 }), {
    name: "RangeError",
    message:
      "Cannot raise an interrupt on core as the core index must be an integer from 0 to 1: current value is -1",
  });
  // @ts-expect-error: wrong type on purpose.
  assert.throws(() => platform.interrupt(() => {}, Symbol("core")), {
    name: "TypeError",
    message:
      "Cannot raise an interrupt as 'options' must be an object: current value is Symbol(core)",
  });
  assert.equal(platform.pending(0) + platform.pending(1), 0);
});

Deno.test("MockPlatform.isMasked(), pending() and counters() throw for an unknown core", () => {
  const platform = new MockPlatform({ cores: 2 });
  const message =
    "Cannot inspect core as the core index must be an integer from 0 to 1: current value is 5";
  assert.throws(() => platform.isMasked(5), { name: "RangeError", message });
  assert.throws(() => platform.pending(5), { name: "RangeError", message });
  assert.throws(() => platform.counters(5), { name: "RangeError", message });
});

Deno.test("MockPlatform.counters() sums the cores, or gives one core's", () => {
  const platform = new MockPlatform({ cores: 2 });
  exceptionFree(platform, () => platform.interrupt(() => {}));
  platform.runOn(1, () => exceptionFree(platform, () => exceptionFree(platform, () => {})));
  platform.interrupt(() => {}, { core: 1 });
  assert.deepEqual(platform.counters(0), { masks: 1, restores: 1, delivered: 1, deferred: 1 });
  assert.deepEqual(platform.counters(1), { masks: 2, restores: 2, delivered: 1, deferred: 0 });
  assert.deepEqual(platform.counters(), { masks: 3, restores: 3, delivered: 2, deferred: 1 });
});

Deno.test("MockPlatform.restore() throws for a state restored out of order and changes nothing", () => {
  const platform = new MockPlatform();
  const outer = platform.mask();
  const inner = platform.mask();
  assert.throws(() => platform.restore(outer), {
    name: "RangeError",
    message:
      `Cannot restore the mask of core 0 to ${outer} as it belongs to an outer section while an inner one is open (innermost state ${inner}): restore the innermost first`,
  });
  assert.equal(platform.isMasked(), true);
  assert.equal(platform.counters().restores, 0);
  platform.restore(inner);
  platform.restore(outer);
  assert.equal(platform.isMasked(), false);
});

Deno.test("MockPlatform.restore() throws for a state returned on another core", () => {
  const platform = new MockPlatform({ cores: 2 });
  const own = platform.mask();
  const foreign = platform.runOn(1, () => platform.mask());
  assert.throws(() => platform.restore(foreign), {
    name: "RangeError",
    message:
      `Cannot restore the mask of core 0 to ${foreign} as it was returned by mask() on core 1: restore it on that core`,
  });
  platform.restore(own);
  assert.deepEqual([platform.isMasked(0), platform.isMasked(1)], [false, true]);
});

Deno.test("MockPlatform.restore() throws for a state that mask() did not return", () => {
  const platform = new MockPlatform();
  const state = platform.mask();
  assert.throws(() => platform.restore(12345), {
    name: "RangeError",
    message:
      `Cannot restore the mask of core 0 to 12345 as it was not returned by an open mask() on this core (innermost state ${state}): pass exactly what mask() returned`,
  });
  platform.restore(state);
});

Deno.test("MockPlatform.restore() throws when no mask() is open, also for a state restored twice", () => {
  const platform = new MockPlatform();
  const state = platform.mask();
  platform.restore(state);
  assert.throws(() => platform.restore(state), {
    name: "RangeError",
    message:
      `Cannot restore the mask of core 0 to ${state} as no mask() is open on it: restore each state once, after its mask()`,
  });
  assert.equal(platform.counters().restores, 1);
});
