// Copyright 2026 the percpu authors. MIT license.

import { describe } from "./describe.ts";

/**
 * Throws unless `index` is an integer from 0 to `count - 1`: a `TypeError`
 * for a value that is not a number, a `RangeError` for a number outside.
 *
 * @param noun What is indexed, for the message: `"core"`, `"PE"`.
 * @param action What the caller was about to do, for the message.
 */
export function checkIndex(index: unknown, count: number, noun: string, action: string): void {
  if (typeof index !== "number") {
    throw new TypeError(
      `Cannot ${action} as the ${noun} index must be a number: current value is ${describe(index)}`,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(
      `Cannot ${action} as the ${noun} index must be an integer from 0 to ${
        count - 1
      }: current value is ${describe(index)}`,
    );
  }
}
