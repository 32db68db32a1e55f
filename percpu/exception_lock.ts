// Copyright 2026 the percpu authors. MIT license.

import { describe } from "../_internal/describe.ts";
import { ExceptionFree } from "./exception_free.ts";

/**
 * A value that can only be reached with a token proving that exceptions are
 * masked on the current core: the crate's `ExceptionLock<T>`.
 *
 * Kept in a {@linkcode PerCpu}, it makes per-core state safe from the core's
 * own exception handlers: the handler runs masked with its own token, and
 * the code it interrupted cannot be in the middle of a section, because a
 * section masks. No `RefCell` is needed: `borrow` gives the value itself, so
 * objects are changed in place, and `set`, `replace` and `update` cover
 * primitive values.
 *
 * @typeParam T The guarded value.
 *
 * @example Usage
 * ```ts
 * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
 * import { MockPlatform } from "@percpu/percpu/platform/mock";
 * import assert from "node:assert/strict";
 *
 * const platform = new MockPlatform({ cores: 1 });
 * const stats = new ExceptionLock({ hits: 0 });
 * exceptionFree(platform, (token) => {
 *   stats.borrow(token).hits += 1;
 * });
 * assert.equal(exceptionFree(platform, (token) => stats.borrow(token).hits), 1);
 * ```
 */
export class ExceptionLock<T> {
  #value: T;

  /**
   * Guards `value`.
   *
   * @param value The initial value.
   *
   * @example Usage
   * ```ts
   * import { ExceptionLock } from "@percpu/percpu";
   *
   * const lock = new ExceptionLock<string[]>([]);
   * ```
   */
  constructor(value: T) {
    this.#value = value;
  }

  /**
   * Returns the guarded value; an object can be changed in place.
   *
   * **Safety:** do not keep the value (or parts of it that the lock guards)
   * after the section ends; that would reach it unguarded.
   *
   * @param token A live token of the current core.
   * @returns The value.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const log = new ExceptionLock<string[]>([]);
   * exceptionFree(new MockPlatform({ cores: 1 }), (token) => log.borrow(token).push("a"));
   * assert.deepEqual(exceptionFree(new MockPlatform({ cores: 1 }), (t) => log.borrow(t)), ["a"]);
   * ```
   */
  borrow(token: ExceptionFree): T {
    ExceptionFree.assertValid(token, "borrow ExceptionLock");
    return this.#value;
  }

  /**
   * Stores `value`.
   *
   * @param token A live token of the current core.
   * @param value The new value.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const platform = new MockPlatform({ cores: 1 });
   * const mode = new ExceptionLock("idle");
   * exceptionFree(platform, (token) => mode.set(token, "busy"));
   * assert.equal(exceptionFree(platform, (token) => mode.borrow(token)), "busy");
   * ```
   */
  set(token: ExceptionFree, value: T): void {
    ExceptionFree.assertValid(token, "set ExceptionLock");
    this.#value = value;
  }

  /**
   * Stores `value` and returns the value it replaces.
   *
   * @param token A live token of the current core.
   * @param value The new value.
   * @returns The previous value.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const pending = new ExceptionLock(5);
   * const taken = exceptionFree(new MockPlatform({ cores: 1 }), (t) => pending.replace(t, 0));
   * assert.equal(taken, 5);
   * ```
   */
  replace(token: ExceptionFree, value: T): T {
    ExceptionFree.assertValid(token, "replace ExceptionLock");
    const previous = this.#value;
    this.#value = value;
    return previous;
  }

  /**
   * Stores what `fn` returns for the current value, and returns it.
   *
   * If `fn` throws, the value is left as it was.
   *
   * @param token A live token of the current core.
   * @param fn Computes the new value from the current one.
   * @returns The new value.
   * @throws {ExceptionTokenError} If the token is expired, of another core, or forged.
   * @throws {TypeError} If `fn` is not a function.
   *
   * @example Usage
   * ```ts
   * import { exceptionFree, ExceptionLock } from "@percpu/percpu";
   * import { MockPlatform } from "@percpu/percpu/platform/mock";
   * import assert from "node:assert/strict";
   *
   * const count = new ExceptionLock(41);
   * const next = exceptionFree(new MockPlatform({ cores: 1 }), (t) => count.update(t, (n) => n + 1));
   * assert.equal(next, 42);
   * ```
   */
  update(token: ExceptionFree, fn: (value: T) => T): T {
    ExceptionFree.assertValid(token, "update ExceptionLock");
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot update ExceptionLock as 'fn' must be a function: current value is ${describe(fn)}`,
      );
    }
    const next = fn(this.#value);
    this.#value = next;
    return next;
  }
}
