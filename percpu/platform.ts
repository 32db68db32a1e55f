// Copyright 2026 the percpu authors. MIT license.

/**
 * What the package needs from a machine: how many cores it has, which core
 * the caller runs on, and how to mask and restore exceptions on that core.
 *
 * It is the crate's `Cores` trait and `ExceptionMask` in one. The package
 * ships two implementations: `MockPlatform` (`@percpu/percpu/platform/mock`)
 * for tests, and `Aarch64Machine` (`@percpu/percpu/platform/aarch64`).
 *
 * **Safety:** everything else in the package trusts an implementation to
 * keep these promises; a platform that breaks them breaks every guarantee:
 * - `coreIndex()` is below `coreCount`, and no two cores that run at the same
 *   time ever get the same index;
 * - after `mask()`, nothing is delivered on the calling core until the state
 *   it returned is given back to `restore()`.
 *
 * A platform of your own that runs exception handlers gives each one its
 * token by running it inside `exceptionFree(platform, handler)`: that masks
 * the core, as exception entry does, for as long as the handler runs.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, type Platform } from "@percpu/percpu";
 * import assert from "node:assert/strict";
 *
 * // A single core that can never be interrupted: the smallest platform.
 * const single: Platform = {
 *   coreCount: 1,
 *   coreIndex: () => 0,
 *   mask: () => 0,
 *   restore: () => {},
 * };
 * assert.equal(exceptionFree(single, (token) => token.core), 0);
 * ```
 */
export interface Platform {
  /** Number of cores. {@linkcode Platform.coreIndex} is always below it. */
  readonly coreCount: number;
  /** Index of the core the caller runs on; never the same for two cores at once. */
  coreIndex(): number;
  /** Masks exceptions on the current core; returns the previous mask state. */
  mask(): number;
  /** Restores a state returned by {@linkcode Platform.mask}; may deliver exceptions that became unmasked. */
  restore(previous: number): void;
}
