// Copyright 2026 the percpu authors. MIT license.

/**
 * Per-core state and exception masking for JavaScript agents, ported from
 * Rust's `percore` crate.
 *
 * A {@linkcode Platform} says which core the caller runs on and masks its
 * exceptions. {@linkcode exceptionFree} masks, runs a callback with a token
 * that proves it, and restores; {@linkcode ExceptionLock} opens only with
 * that token; {@linkcode PerCpu} gives each core its own value. Together they
 * make per-core state safe from the core's own exception handlers.
 *
 * ```ts
 * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const counters = PerCpu.from(platform, () => new ExceptionLock(0));
 *
 * function increment(): number {
 *   return exceptionFree(platform, (token) => counters.get().update(token, (n) => n + 1));
 * }
 *
 * increment();
 * platform.runOn(1, increment);
 * platform.interrupt(increment, { core: 1 }); // a handler on core 1 counts too
 * assert.equal(platform.runOn(1, increment), 3);
 * assert.equal(increment(), 2);
 * ```
 *
 * @module
 */
export * from "./percpu/mod.ts";
export * from "./spin/mod.ts";
