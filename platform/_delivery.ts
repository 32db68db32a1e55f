// Copyright 2026 the percpu authors. MIT license.

import { type ExceptionFree, rejectThenable, runWithToken } from "../percpu/exception_free.ts";
import type { Platform } from "../percpu/platform.ts";

/**
 * How one platform keeps and takes exceptions: what differs between the mock
 * and the AArch64 model. {@linkcode deliverPending} is what they share.
 *
 * @typeParam E One pending exception.
 * @typeParam S What exception entry saves for the return.
 */
export interface ExceptionModel<E, S> {
  /**
   * Removes and returns the next pending exception that `core`'s current
   * mask lets through, or `undefined` when there is none.
   */
  takeDeliverable(core: number): E | undefined;
  /** Exception entry: saves the interrupted state, masks `core`, makes it current. */
  enter(core: number, exception: E): S;
  /** Runs the handler of `exception`; `token` is live for `core`. Returns what the handler returned. */
  handle(token: ExceptionFree, exception: E): unknown;
  /** Exception return: restores the state `enter` saved. */
  exit(core: number, saved: S): void;
}

/**
 * Takes every exception deliverable on `core`, one at a time: entry, handler
 * with a fresh token, return; then looks again, since the return may unmask
 * what is still pending. A handler that unmasks can be interrupted in turn.
 *
 * If a handler throws, the return still runs (the core is not left masked)
 * and the others are still taken, so that nothing deliverable stays pending
 * on an unmasked core; then the error propagates to the delivery point (an
 * `AggregateError` if several handlers threw).
 *
 * @returns How many exceptions were taken.
 */
export function deliverPending<E, S>(
  platform: Platform,
  model: ExceptionModel<E, S>,
  core: number,
): number {
  let taken = 0;
  const errors: unknown[] = [];
  for (
    let exception = model.takeDeliverable(core);
    exception !== undefined;
    exception = model.takeDeliverable(core)
  ) {
    const saved = model.enter(core, exception);
    const current = exception;
    try {
      rejectThenable(
        runWithToken(platform, core, (token) => model.handle(token, current)),
        "Cannot return from an interrupt handler that returned a promise as handlers must be synchronous: do the asynchronous work outside the handler",
      );
    } catch (error) {
      errors.push(error);
    } finally {
      model.exit(core, saved);
    }
    taken++;
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(errors, `${errors.length} interrupt handlers threw on core ${core}`);
  }
  return taken;
}
