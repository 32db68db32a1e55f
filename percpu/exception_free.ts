// Copyright 2026 the percpu authors. MIT license.

import { checkPlatform } from "../_internal/check_platform.ts";
import { describe } from "../_internal/describe.ts";
import type { Platform } from "./platform.ts";

/**
 * Thrown when a token is used where it does not prove that exceptions are
 * masked: after its section ended, on another core, or when the value is
 * not a token at all.
 *
 * @example Usage
 * ```ts
 * import { ExceptionLock, exceptionFree, ExceptionTokenError } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 1 });
 * const lock = new ExceptionLock(0);
 * const kept = exceptionFree(platform, (token) => token);
 * assert.throws(() => lock.borrow(kept), ExceptionTokenError);
 * ```
 */
export class ExceptionTokenError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was attempted and why the token did not allow it.
   * @param options The standard `ErrorOptions` (`cause`).
   *
   * @example Usage
   * ```ts
   * import { ExceptionTokenError } from "@percpu/percpu";
   * import assert from "node:assert/strict";
   *
   * const error = new ExceptionTokenError("Cannot borrow ExceptionLock: the token expired");
   * assert.equal(error.name, "ExceptionTokenError");
   * ```
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ExceptionTokenError";
  }
}

/**
 * Something to run when a section ends while it is still registered with the
 * section's token: see {@linkcode ExceptionFree.defer}.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, type SectionCleanup } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const seen: unknown[] = [];
 * const cleanup: SectionCleanup = { onSectionEnd: (error) => seen.push(error) };
 * exceptionFree(new MockPlatform({ cores: 1 }), (token) => token.defer(cleanup));
 * assert.deepEqual(seen, [undefined]);
 * ```
 */
export interface SectionCleanup {
  /**
   * Called once, after the callback of the section returned or threw, before
   * the mask is restored.
   *
   * Throwing here makes the section throw that error instead of returning;
   * cleanups registered before this one still run and see the new error.
   *
   * @param error What the section is ending with: the callback's exception,
   * or a later cleanup's; `undefined` when nothing was thrown.
   */
  onSectionEnd(error: unknown): void;
}

// Set only while openToken() runs, so that `new ExceptionFree()` anywhere
// else fails at run time, whatever the caller's types say.
let constructing = false;
let openToken: (platform: Platform, core: number) => ExceptionFree;
let closeToken: (token: ExceptionFree, threw: boolean, error: unknown) => void;

/**
 * The proof that exceptions are masked on the current core: the crate's
 * `ExceptionFree<'cs>` token.
 *
 * Only {@linkcode exceptionFree} (and a platform entering an exception
 * handler) creates tokens; the constructor throws for everyone else. Where
 * Rust ties the token to a lifetime, this token is checked at run time: it is
 * valid only on the core that created it and only until its section ends.
 * Every use of an invalid token throws {@linkcode ExceptionTokenError}.
 *
 * **Safety:** do not keep the token after the callback returns, and do not
 * hand it to code that runs later; such uses throw.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 2 });
 * const kept = platform.runOn(1, () =>
 *   exceptionFree(platform, (token) => {
 *     assert.equal(token.core, 1);
 *     assert.equal(token.live, true);
 *     return token;
 *   })
 * );
 * assert.equal(kept.live, false);
 * ```
 */
export class ExceptionFree {
  static {
    openToken = (platform, core) => {
      constructing = true;
      // The constructor cannot throw while `constructing` is set.
      const token = new ExceptionFree(platform, core);
      constructing = false;
      return token;
    };
    closeToken = (token, threw, error) => {
      const cleanups = token.#cleanups;
      token.#cleanups = undefined;
      token.#live = false;
      if (cleanups !== undefined) {
        // Last registered first, as `using` disposes.
        for (let i = cleanups.length - 1; i >= 0; i--) {
          try {
            (cleanups[i] as SectionCleanup).onSectionEnd(threw ? error : undefined);
          } catch (cleanupError) {
            threw = true;
            error = cleanupError;
          }
        }
      }
      if (threw) throw error;
    };
  }

  #core: number;
  #platform: Platform;
  #live = true;
  #cleanups: SectionCleanup[] | undefined = undefined;

  private constructor(platform: Platform, core: number) {
    if (!constructing) {
      throw new TypeError(
        "Cannot construct ExceptionFree: tokens come only from exceptionFree(platform, fn), which passes one to fn",
      );
    }
    this.#platform = platform;
    this.#core = core;
  }

  /**
   * Index of the core whose exceptions this token proves masked. Read-only,
   * also at run time: a token cannot be moved to another core.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 2 });
   * assert.equal(platform.runOn(1, () => exceptionFree(platform, (token) => token.core)), 1);
   * ```
   */
  get core(): number {
    return this.#core;
  }

  /**
   * Whether the section that created this token is still running.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const kept = exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   assert.equal(token.live, true);
   *   return token;
   * });
   * assert.equal(kept.live, false);
   * ```
   */
  get live(): boolean {
    return this.#live;
  }

  /**
   * Throws unless `token` is a live token of the caller's core; the check
   * behind every method that takes a token.
   *
   * @param token The value to check; anything at all.
   * @param action What the caller was about to do, for the error message,
   * for example `"borrow ExceptionLock"`.
   * @throws {ExceptionTokenError} If `token` was not created by
   * {@linkcode exceptionFree}, its section has ended, or it belongs to
   * another core.
   *
   * @example Usage
   * ```ts
   * import { ExceptionFree, exceptionFree, ExceptionTokenError } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 1 });
   * exceptionFree(platform, (token) => ExceptionFree.assertValid(token, "count"));
   * assert.throws(
   *   () => ExceptionFree.assertValid({ core: 0 }, "count"),
   *   ExceptionTokenError,
   * );
   * ```
   */
  static assertValid(token: unknown, action: string): asserts token is ExceptionFree {
    // One condition, and the messages out of line: this runs on every
    // borrow and lock, and V8 inlines it only while it stays small.
    if (
      typeof token !== "object" || token === null || !(#live in token) || !token.#live ||
      token.#platform.coreIndex() !== token.#core
    ) {
      ExceptionFree.#throwInvalid(token, action);
    }
  }

  static #throwInvalid(token: unknown, action: string): never {
    if (typeof token !== "object" || token === null || !(#live in token)) {
      throw new ExceptionTokenError(
        `Cannot ${action} as the token was not created by exceptionFree(): current value is ${
          describe(token)
        }`,
      );
    }
    if (!token.#live) {
      throw new ExceptionTokenError(
        `Cannot ${action} as the token expired when its exceptionFree() section ended: use the token only inside the callback`,
      );
    }
    throw new ExceptionTokenError(
      `Cannot ${action} as the token belongs to core ${token.#core} but the caller runs on core ${
        describe(token.#platform.coreIndex())
      }: take a token on this core`,
    );
  }

  /**
   * Registers `cleanup` to run when this token's section ends, unless it is
   * cancelled first with {@linkcode ExceptionFree.cancel}.
   *
   * This is how a resource tied to a section (a `SpinMutex` guard) makes sure
   * it is released before the mask is restored, and reports that it leaked.
   *
   * @param cleanup What to run at the end of the section.
   * @throws {ExceptionTokenError} If this token is not valid here.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   token.defer({ onSectionEnd: () => log.push("released") });
   *   log.push("body");
   * });
   * assert.deepEqual(log, ["body", "released"]);
   * ```
   */
  defer(cleanup: SectionCleanup): void {
    ExceptionFree.assertValid(this, "defer a cleanup");
    if (typeof cleanup?.onSectionEnd !== "function") {
      throw new TypeError(
        `Cannot defer a cleanup as it must have an onSectionEnd() method: current value is ${
          describe(cleanup)
        }`,
      );
    }
    (this.#cleanups ??= []).push(cleanup);
  }

  /**
   * Removes a cleanup registered with {@linkcode ExceptionFree.defer}, so that
   * it does not run when the section ends.
   *
   * @param cleanup The object given to `defer`.
   * @returns Whether it was registered (and is now removed).
   *
   * @example Usage
   * ```ts
   * import { exceptionFree } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * let ran = false;
   * const cleanup = { onSectionEnd: () => ran = true };
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => {
   *   token.defer(cleanup);
   *   assert.equal(token.cancel(cleanup), true);
   * });
   * assert.equal(ran, false);
   * ```
   */
  cancel(cleanup: SectionCleanup): boolean {
    const cleanups = this.#cleanups;
    if (cleanups === undefined) return false;
    // Guards are usually released in reverse order: look from the end.
    const index = cleanups.lastIndexOf(cleanup);
    if (index < 0) return false;
    cleanups.splice(index, 1);
    return true;
  }
}

/**
 * Runs `fn` with a fresh token for `core`, then ends the token's section:
 * runs its cleanups and revokes it, also when `fn` throws.
 *
 * Internal: `exceptionFree` uses it between mask and restore, and platforms
 * use it to run a handler after exception entry has masked the core. Not
 * exported from the package, since a token must only exist while the core
 * is masked.
 */
export function runWithToken<R>(
  platform: Platform,
  core: number,
  fn: (token: ExceptionFree) => R,
): R {
  const token = openToken(platform, core);
  let result: R | undefined;
  let threw = false;
  let error: unknown;
  try {
    result = fn(token);
  } catch (thrown) {
    threw = true;
    error = thrown;
  }
  // Throws what fn or a cleanup threw, after every cleanup ran.
  closeToken(token, threw, error);
  return result as R;
}

/**
 * A callback result that is not a promise: sections are synchronous.
 *
 * @typeParam R The callback's result type.
 */
export type Synchronous<R> = R extends PromiseLike<unknown> ? never : R;

/**
 * Masks exceptions on the current core, runs `fn` with a token that proves
 * it, then restores the previous mask state: the crate's `exception_free`.
 *
 * The token is revoked when `fn` returns, and the mask is restored also when
 * `fn` throws. Sections nest: the inner one restores to "masked". Restoring
 * may deliver exceptions that arrived while the core was masked, so they run
 * before this function returns.
 *
 * A section must be synchronous: if `fn` returns a promise (any thenable),
 * the section is closed as usual and a `TypeError` is thrown, because the
 * code after an `await` would run with exceptions unmasked. TypeScript
 * rejects an `async` callback at compile time.
 *
 * @typeParam R What `fn` returns.
 * @param platform The machine whose current core is masked.
 * @param fn The code to run with exceptions masked.
 * @returns What `fn` returned.
 * @throws {TypeError} If `fn` is not a function, `platform` is not a
 * {@linkcode Platform}, or `fn` returned a thenable.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 1 });
 * const counter = new ExceptionLock(0);
 * const next = exceptionFree(platform, (token) => {
 *   assert.equal(platform.isMasked(), true);
 *   return counter.update(token, (n) => n + 1);
 * });
 * assert.equal(next, 1);
 * assert.equal(platform.isMasked(), false);
 * ```
 */
export function exceptionFree<R>(
  platform: Platform,
  fn: (token: ExceptionFree) => Synchronous<R>,
): R {
  if (
    typeof fn !== "function" || typeof platform?.mask !== "function" ||
    typeof platform.restore !== "function" || typeof platform.coreIndex !== "function"
  ) {
    throwBadArguments(platform, fn);
  }
  const previous = platform.mask();
  let result: R;
  try {
    const core = platform.coreIndex();
    // `>>> 0` changes every number that is not an integer from 0 to 2^32 - 1.
    if (typeof core !== "number" || core >>> 0 !== core || core >= platform.coreCount) {
      throwBadCore(platform, core);
    }
    result = runWithToken(platform, core, fn);
  } catch (error) {
    restoreAfter(platform, previous, error);
  }
  platform.restore(previous);
  rejectThenable(
    result,
    "Cannot run an asynchronous callback in exceptionFree() as sections must be synchronous: await before the section, not inside it",
  );
  return result;
}

/**
 * Throws `TypeError(message)` if `value` is a thenable: what a synchronous
 * callback (a section, a locked region, a handler) must not return.
 *
 * Internal, like {@linkcode runWithToken}. The promise may later reject
 * (its token expired): that is reported here, so it is kept from also
 * crashing the process as an unhandled rejection.
 */
export function rejectThenable(value: unknown, message: string): void {
  if (
    (typeof value === "object" && value !== null || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  ) {
    Promise.resolve(value).catch(() => {});
    throw new TypeError(message);
  }
}

/**
 * Restores the mask after the section threw `error`, and rethrows it. If
 * restoring throws too (a pending handler failed), neither error is lost:
 * the restore's error is thrown with the section's as `suppressed`, as a
 * `using` declaration does.
 */
function restoreAfter(platform: Platform, previous: number, error: unknown): never {
  try {
    platform.restore(previous);
  } catch (restoreError) {
    throw new SuppressedError(
      restoreError,
      error,
      "An interrupt handler threw when exceptionFree() restored the mask after its callback threw: see 'error' and 'suppressed'",
    );
  }
  throw error;
}

function throwBadCore(platform: Platform, core: unknown): never {
  throw new RangeError(
    `Cannot run exceptionFree() as the platform's coreIndex() must be an integer from 0 to ${
      platform.coreCount - 1
    }: current value is ${describe(core)}; the platform is broken`,
  );
}

function throwBadArguments(platform: unknown, fn: unknown): void {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot run exceptionFree() as 'fn' must be a function: current value is ${describe(fn)}`,
    );
  }
  checkPlatform(platform as Platform, "run exceptionFree()");
}
