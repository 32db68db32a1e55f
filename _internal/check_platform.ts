// Copyright 2026 the percpu authors. MIT license.

import type { Platform } from "../percpu/platform.ts";
import { describe } from "./describe.ts";

/**
 * Throws unless `platform` has every member of {@linkcode Platform} and a
 * positive integer `coreCount`; returns that count.
 *
 * The one definition of "is a Platform" for every class and function that
 * takes one, so that all of them reject the same values with the same words.
 *
 * @param action What the caller was about to do, for the message.
 */
export function checkPlatform(platform: Platform, action: string): number {
  if (
    typeof platform !== "object" || platform === null ||
    typeof platform.coreIndex !== "function" || typeof platform.mask !== "function" ||
    typeof platform.restore !== "function"
  ) {
    throw new TypeError(
      `Cannot ${action} as 'platform' must be a Platform with coreCount, coreIndex(), mask() and restore(): current value is ${
        describe(platform)
      }`,
    );
  }
  const count = platform.coreCount;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(
      `Cannot ${action} as the platform's coreCount must be a positive integer: current value is ${
        describe(count)
      }`,
    );
  }
  return count;
}
