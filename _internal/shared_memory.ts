// Copyright 2026 the percpu authors. MIT license.

// The checks that every object living in a SharedArrayBuffer makes of its
// options and of the handle another agent sends it (SpinMutex, SharedPerCpu),
// so that they reject the same values with the same words.

import { describe } from "./describe.ts";

/** Where a shared-memory object lives, once checked. */
export interface Placement {
  buffer: SharedArrayBuffer;
  byteOffset: number;
}

/** What {@linkcode placement} checks a `{ buffer, byteOffset }` pair against. */
export interface PlacementRules {
  /** What the caller was about to do, for the messages: `"create SpinMutex"`. */
  action: string;
  /** `byteOffset` must be a multiple of it. */
  align: number;
  /** Bytes the object takes from `byteOffset`; a new buffer has exactly this many. */
  byteLength: number;
  /** The message of the RangeError when the bytes do not fit in `buffer` from `byteOffset`. */
  tooLong: (bufferLength: number, byteOffset: number) => string;
}

/** Throws TypeError unless `options` is an object. */
export function checkOptions(options: unknown, action: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action} as 'options' must be an object: current value is ${describe(options)}`,
    );
  }
}

/** Throws TypeError unless `value` (option `key`) is undefined or of type `type`. */
export function checkType(
  value: unknown,
  key: string,
  type: "number" | "boolean",
  action: string,
): void {
  if (value !== undefined && typeof value !== type) {
    throw new TypeError(
      `Cannot ${action} as '${key}' must be a ${type}: current value is ${describe(value)}`,
    );
  }
}

/**
 * Checks `buffer` and `byteOffset` as given in options, and returns where
 * the object lives: in `buffer` at `byteOffset`, or at 0 of a new buffer.
 *
 * @throws {TypeError} If `buffer` is not a `SharedArrayBuffer`, `byteOffset`
 * is not a number, or it is given without `buffer`.
 * @throws {RangeError} If `byteOffset` is not a non-negative multiple of
 * `align`, or the bytes do not fit.
 */
export function placement(buffer: unknown, byteOffset: unknown, rules: PlacementRules): Placement {
  const { action, align } = rules;
  if (buffer !== undefined && !(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(
      `Cannot ${action} as 'buffer' must be a SharedArrayBuffer: current value is ${
        describe(buffer)
      }`,
    );
  }
  checkType(byteOffset, "byteOffset", "number", action);
  if (buffer === undefined) {
    if (byteOffset !== undefined) {
      throw new TypeError(
        `Cannot ${action} as 'byteOffset' needs a 'buffer' to be an offset into: current value is ${
          describe(byteOffset)
        }`,
      );
    }
    return { buffer: new SharedArrayBuffer(rules.byteLength), byteOffset: 0 };
  }
  const offset = (byteOffset ?? 0) as number;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % align !== 0) {
    throw new RangeError(
      `Cannot ${action} as 'byteOffset' must be a non-negative multiple of ${align}: current value is ${
        describe(offset)
      }`,
    );
  }
  if (offset + rules.byteLength > buffer.byteLength) {
    throw new RangeError(rules.tooLong(buffer.byteLength, offset));
  }
  return { buffer, byteOffset: offset };
}

/**
 * Throws TypeError unless `handle` is an object with a `SharedArrayBuffer`
 * `buffer` and every field of `fields` of its type.
 *
 * @param shape How the message names a handle: `"SpinMutex handle { buffer, byteOffset, fair }"`.
 */
export function checkHandle(
  handle: unknown,
  fields: Record<string, "number" | "boolean">,
  action: string,
  shape: string,
): void {
  const record = handle as Record<string, unknown> | null;
  if (
    typeof record !== "object" || record === null ||
    !(record.buffer instanceof SharedArrayBuffer) ||
    Object.entries(fields).some(([key, type]) => typeof record[key] !== type)
  ) {
    throw new TypeError(
      `Cannot ${action} as 'handle' must be a ${shape}: current value is ${describe(handle)}`,
    );
  }
}
