// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";
import { ExceptionFree, exceptionFree, ExceptionTokenError, type Platform } from "../../mod.ts";
import { MockPlatform } from "../../platform/mock.ts";

Deno.test("exceptionFree() masks during the callback and restores after", () => {
  const platform = new MockPlatform();
  const seen = exceptionFree(platform, () => platform.isMasked());
  assert.equal(seen, true);
  assert.equal(platform.isMasked(), false);
  assert.deepEqual(platform.counters(), { masks: 1, restores: 1, delivered: 0, deferred: 0 });
});

Deno.test("exceptionFree() returns the callback's result", () => {
  const platform = new MockPlatform();
  assert.equal(exceptionFree(platform, () => 42), 42);
  const object = { a: 1 };
  assert.equal(exceptionFree(platform, () => object), object);
  assert.equal(exceptionFree(platform, () => {}), undefined);
});

Deno.test("exceptionFree() restores the mask and revokes the token when the callback throws", () => {
  const platform = new MockPlatform();
  const failure = new Error("boom");
  let kept: ExceptionFree | undefined;
  assert.throws(
    () =>
      exceptionFree(platform, (token) => {
        kept = token;
        throw failure;
      }),
    (error) => error === failure,
  );
  assert.equal(platform.isMasked(), false);
  assert.equal(kept?.live, false);
  assert.deepEqual(platform.counters(), { masks: 1, restores: 1, delivered: 0, deferred: 0 });
});

Deno.test("exceptionFree() keeps the callback's error when a handler also throws at the restore", () => {
  const platform = new MockPlatform();
  const inSection = new Error("section failed");
  const inHandler = new Error("handler failed");
  assert.throws(
    () =>
      exceptionFree(platform, () => {
        platform.interrupt(() => {
          throw inHandler;
        });
        throw inSection;
      }),
    (error) =>
      error instanceof SuppressedError && error.error === inHandler &&
      error.suppressed === inSection,
  );
  assert.equal(platform.isMasked(), false);
});

Deno.test("exceptionFree() nests, and the inner section restores to masked", () => {
  const platform = new MockPlatform();
  const states: boolean[] = [];
  exceptionFree(platform, (outer) => {
    exceptionFree(platform, (inner) => {
      states.push(platform.isMasked(), outer.live, inner.live);
    });
    states.push(platform.isMasked(), outer.live);
  });
  states.push(platform.isMasked());
  assert.deepEqual(states, [true, true, true, true, true, false]);
});

Deno.test("exceptionFree() gives each section a fresh token for the current core", () => {
  const platform = new MockPlatform({ cores: 3 });
  const first = exceptionFree(platform, (token) => token);
  const second = exceptionFree(platform, (token) => token);
  const onTwo = platform.runOn(2, () => exceptionFree(platform, (token) => token));
  assert.notEqual(first, second);
  assert.equal(first.core, 0);
  assert.equal(onTwo.core, 2);
});

Deno.test("exceptionFree() closes the section and throws TypeError for an async callback", async () => {
  const platform = new MockPlatform();
  let kept: ExceptionFree | undefined;
  const call = () =>
    // @ts-expect-error: TypeScript rejects an async callback too.
    exceptionFree(platform, async (token) => {
      kept = token;
      await null;
    });
  assert.throws(call, {
    name: "TypeError",
    message:
      "Cannot run an asynchronous callback in exceptionFree() as sections must be synchronous: await before the section, not inside it",
  });
  assert.equal(platform.isMasked(), false);
  assert.equal(kept?.live, false);
  assert.deepEqual(platform.counters(), { masks: 1, restores: 1, delivered: 0, deferred: 0 });
  await Promise.resolve();
});

Deno.test("exceptionFree() throws TypeError for any returned thenable", () => {
  const platform = new MockPlatform();
  // Not a PromiseLike to TypeScript, so only the run-time check catches it.
  const thenable = { then: () => {} };
  assert.throws(() => exceptionFree(platform, () => thenable), TypeError);
  assert.equal(platform.isMasked(), false);
});

Deno.test("exceptionFree() does not let a later rejection of the returned promise escape", async () => {
  const platform = new MockPlatform();
  const kept: ExceptionFree[] = [];
  const body = async (token: ExceptionFree): Promise<void> => {
    kept.push(token);
    await null;
    ExceptionFree.assertValid(token, "continue after await");
  };
  // @ts-expect-error: async callbacks are rejected at compile time.
  assert.throws(() => exceptionFree(platform, body), TypeError);
  // The body's continuation throws ExceptionTokenError into its promise; the
  // test would fail with an unhandled rejection if that escaped.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(kept.length, 1);
});

Deno.test("exceptionFree() throws TypeError for a callback that is not a function", () => {
  const platform = new MockPlatform();
  assert.throws(
    // @ts-expect-error: wrong type on purpose.
    () => exceptionFree(platform, 5),
    {
      name: "TypeError",
      message: "Cannot run exceptionFree() as 'fn' must be a function: current value is 5",
    },
  );
  assert.equal(platform.counters().masks, 0);
});

Deno.test("exceptionFree() throws TypeError for a value that is not a platform", () => {
  assert.throws(
    // @ts-expect-error: wrong type on purpose.
    () => exceptionFree({ coreCount: 1 }, () => 1),
    {
      name: "TypeError",
      message:
        "Cannot run exceptionFree() as 'platform' must be a Platform with coreCount, coreIndex(), mask() and restore(): current value is an object",
    },
  );
  assert.throws(
    // @ts-expect-error: wrong type on purpose.
    () => exceptionFree(undefined, () => 1),
    { name: "TypeError", message: /current value is undefined$/ },
  );
});

Deno.test("exceptionFree() throws RangeError for a platform whose coreIndex() is out of range, and restores", async (t) => {
  const cases: [unknown, string][] = [[-1, "-1"], [2, "2"], [1.5, "1.5"], [NaN, "NaN"], [
    undefined,
    "undefined",
  ], [1n, "1n"]];
  for (const [core, shown] of cases) {
    await t.step(shown, () => {
      const log: string[] = [];
      const broken: Platform = {
        coreCount: 2,
        coreIndex: () => core as number,
        mask: () => (log.push("mask"), 5),
        restore: (previous) => void log.push(`restore ${previous}`),
      };
      let ran = false;
      assert.throws(() => exceptionFree(broken, () => ran = true), {
        name: "RangeError",
        message:
          `Cannot run exceptionFree() as the platform's coreIndex() must be an integer from 0 to 1: current value is ${shown}; the platform is broken`,
      });
      assert.equal(ran, false);
      assert.deepEqual(log, ["mask", "restore 5"]);
    });
  }
});

Deno.test("ExceptionFree.core cannot be changed, so a token cannot move to another core", () => {
  const platform = new MockPlatform({ cores: 2 });
  exceptionFree(platform, (token) => {
    assert.throws(() => (token as { core: number }).core = 1, TypeError);
    assert.equal(token.core, 0);
    platform.runOn(1, () => {
      assert.throws(() => ExceptionFree.assertValid(token, "count"), {
        name: "ExceptionTokenError",
      });
    });
  });
});

Deno.test("exceptionFree() rejects a platform without restore() before masking", () => {
  let masks = 0;
  const noRestore = { coreCount: 1, coreIndex: () => 0, mask: () => masks++ };
  // @ts-expect-error: restore() is missing on purpose.
  assert.throws(() => exceptionFree(noRestore, () => 1), {
    name: "TypeError",
    message: /^Cannot run exceptionFree\(\) as 'platform' must be a Platform with coreCount/,
  });
  assert.equal(masks, 0);
});

Deno.test("exceptionFree() restores the mask when the platform's coreIndex() throws", () => {
  const log: string[] = [];
  const broken: Platform = {
    coreCount: 1,
    coreIndex: () => {
      throw new Error("no core");
    },
    mask: () => {
      log.push("mask");
      return 7;
    },
    restore: (previous) => {
      log.push(`restore ${previous}`);
    },
  };
  assert.throws(() => exceptionFree(broken, () => 1), { message: "no core" });
  assert.deepEqual(log, ["mask", "restore 7"]);
});

Deno.test("ExceptionFree() cannot be constructed by users", () => {
  const Token = ExceptionFree as unknown as new (...args: unknown[]) => unknown;
  const platform = new MockPlatform();
  assert.throws(() => new Token(platform, 0), {
    name: "TypeError",
    message:
      "Cannot construct ExceptionFree: tokens come only from exceptionFree(platform, fn), which passes one to fn",
  });
});

Deno.test("ExceptionFree.assertValid() throws for an expired token", () => {
  const platform = new MockPlatform();
  const kept = exceptionFree(platform, (token) => token);
  assert.throws(() => ExceptionFree.assertValid(kept, "count"), {
    name: "ExceptionTokenError",
    message:
      "Cannot count as the token expired when its exceptionFree() section ended: use the token only inside the callback",
  });
});

Deno.test("ExceptionFree.assertValid() throws for a token of another core", () => {
  const platform = new MockPlatform({ cores: 2 });
  exceptionFree(platform, (token) => {
    platform.runOn(1, () => {
      assert.throws(() => ExceptionFree.assertValid(token, "count"), {
        name: "ExceptionTokenError",
        message:
          "Cannot count as the token belongs to core 0 but the caller runs on core 1: take a token on this core",
      });
    });
    ExceptionFree.assertValid(token, "count");
  });
});

Deno.test("ExceptionFree.assertValid() throws for forged tokens", async (t) => {
  const platform = new MockPlatform();
  const real = exceptionFree(platform, (token) => token);
  const forgeries: [string, unknown, string][] = [
    ["a plain object", { core: 0, live: true }, "an object"],
    [
      "an object with the prototype",
      Object.create(ExceptionFree.prototype),
      "an object (ExceptionFree)",
    ],
    ["a structured clone", structuredClone({ core: real.core }), "an object"],
    ["undefined", undefined, "undefined"],
    ["a number", 0, "0"],
  ];
  for (const [name, forged, shown] of forgeries) {
    await t.step(name, () => {
      assert.throws(() => ExceptionFree.assertValid(forged, "count"), {
        name: "ExceptionTokenError",
        message:
          `Cannot count as the token was not created by exceptionFree(): current value is ${shown}`,
      });
    });
  }
});

Deno.test("ExceptionFree.defer() runs cleanups last-in first-out before the mask is restored", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  exceptionFree(platform, (token) => {
    token.defer({ onSectionEnd: () => log.push(`first, masked ${platform.isMasked()}`) });
    token.defer({ onSectionEnd: () => log.push(`second, live ${token.live}`) });
    log.push("body");
  });
  assert.deepEqual(log, ["body", "second, live false", "first, masked true"]);
});

Deno.test("ExceptionFree.defer() passes the section's error to cleanups", () => {
  const platform = new MockPlatform();
  const failure = new Error("boom");
  const seen: unknown[] = [];
  assert.throws(
    () =>
      exceptionFree(platform, (token) => {
        token.defer({ onSectionEnd: (error) => seen.push(error) });
        throw failure;
      }),
    (error) => error === failure,
  );
  assert.deepEqual(seen, [failure]);
});

Deno.test("ExceptionFree.defer() makes the section throw what a cleanup throws, and runs the rest", () => {
  const platform = new MockPlatform();
  const leaked = new Error("leaked");
  const seen: unknown[] = [];
  assert.throws(
    () =>
      exceptionFree(platform, (token) => {
        token.defer({ onSectionEnd: (error) => seen.push(error) });
        token.defer({
          onSectionEnd: () => {
            throw leaked;
          },
        });
        return 1;
      }),
    (error) => error === leaked,
  );
  assert.deepEqual(seen, [leaked]);
  assert.equal(platform.isMasked(), false);
});

Deno.test("ExceptionFree.defer() throws for an expired token or a bad cleanup", () => {
  const platform = new MockPlatform();
  const kept = exceptionFree(platform, (token) => token);
  assert.throws(() => kept.defer({ onSectionEnd: () => {} }), {
    name: "ExceptionTokenError",
    message: /^Cannot defer a cleanup as the token expired/,
  });
  exceptionFree(platform, (token) => {
    // @ts-expect-error: wrong type on purpose.
    assert.throws(() => token.defer({}), {
      name: "TypeError",
      message:
        "Cannot defer a cleanup as it must have an onSectionEnd() method: current value is an object",
    });
  });
});

Deno.test("ExceptionFree.cancel() removes a cleanup so it does not run", () => {
  const platform = new MockPlatform();
  const log: string[] = [];
  const a = { onSectionEnd: () => log.push("a") };
  const b = { onSectionEnd: () => log.push("b") };
  exceptionFree(platform, (token) => {
    assert.equal(token.cancel(a), false);
    token.defer(a);
    token.defer(b);
    assert.equal(token.cancel(a), true);
    assert.equal(token.cancel(a), false);
  });
  assert.deepEqual(log, ["b"]);
});

Deno.test("ExceptionTokenError is an Error with its name and cause", () => {
  const cause = new Error("why");
  const error = new ExceptionTokenError("message", { cause });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ExceptionTokenError");
  assert.equal(error.message, "message");
  assert.equal(error.cause, cause);
});
