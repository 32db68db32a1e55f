// Copyright 2026 the percpu authors. MIT license.

/**
 * A spin mutex on a `SharedArrayBuffer` that Workers share and that only a
 * core with exceptions masked can take: {@linkcode SpinMutex.lock} needs the
 * token of an `exceptionFree` section, so an exception handler never finds
 * its own core holding the lock.
 *
 * ```ts
 * import { exceptionFree } from "@percpu/percpu";
 * import { SpinMutex } from "@percpu/percpu/spin";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const counter = new Int32Array(new SharedArrayBuffer(4));
 * const mutex = new SpinMutex(counter); // send mutex.handle to Workers; they SpinMutex.attach it
 * for (const core of [0, 1]) {
 *   platform.runOn(core, () =>
 *     exceptionFree(platform, (token) => {
 *       using guard = mutex.lock(token);
 *       guard.value[0]! += 1;
 *     })
 *   );
 * }
 * assert.equal(counter[0], 2);
 * ```
 *
 * @module
 */
export * from "./spin_mutex.ts";
// Named, not `export *`: spin_mutex_guard.ts also holds holdGuard, which
// SpinMutex uses and users must not reach.
export { LeakedGuardError, SpinMutexGuard } from "./spin_mutex_guard.ts";
