// Copyright 2026 the percpu authors. MIT license.

import { describe } from "./describe.ts";

/**
 * Throws unless `value` is an integer from `min` to `max`: a `TypeError` for
 * a value that is not a number, a `RangeError` for a number outside.
 *
 * @param subject What the value is, for the message: `"'cores'"`, `"the PE index"`.
 * @param action What the caller was about to do, for the message.
 */
export function checkInteger(
  value: unknown,
  min: number,
  max: number,
  subject: string,
  action: string,
): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as ${subject} must be a number: current value is ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot ${action} as ${subject} must be an integer from ${min} to ${max}: current value is ${
        describe(value)
      }`,
    );
  }
}

/**
 * Throws unless `index` is an integer from 0 to `count - 1`, as
 * {@linkcode checkInteger} does.
 *
 * @param noun What is indexed, for the message: `"core"`, `"PE"`.
 */
export function checkIndex(index: unknown, count: number, noun: string, action: string): void {
  checkInteger(index, 0, count - 1, `the ${noun} index`, action);
}
