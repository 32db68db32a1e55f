// Copyright 2026 the percpu authors. MIT license.

/**
 * Per-core state made safe by exception masking: the core of the package.
 *
 * {@linkcode exceptionFree} masks exceptions on the current core and hands its
 * callback a token; {@linkcode ExceptionLock} opens only with such a token;
 * {@linkcode PerCpu} keeps one value per core.
 *
 * ```ts
 * import { exceptionFree, ExceptionLock, PerCpu } from "@percpu/percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const counts = PerCpu.from(platform, () => new ExceptionLock(0));
 * exceptionFree(platform, (token) => counts.get().update(token, (n) => n + 1));
 * assert.equal(exceptionFree(platform, (token) => counts.get().borrow(token)), 1);
 * ```
 *
 * @module
 */
// Named, not `export *`: exception_free.ts also holds runWithToken and
// rejectThenable, which platforms and the spin mutex use and users must not
// reach.
export {
  ExceptionFree,
  exceptionFree,
  ExceptionTokenError,
  type SectionCleanup,
  type Synchronous,
} from "./exception_free.ts";
export * from "./exception_lock.ts";
export * from "./per_cpu.ts";
export * from "./platform.ts";
export * from "./shared_per_cpu.ts";
