// Copyright 2026 the percpu authors. MIT license.

// Idle delivery: between event-loop tasks, an agent takes the interrupts
// raised on the PEs it listens on, as a PE takes an interrupt while it
// idles. Each PE waits on its wake-up word with Atomics.waitAsync, so that
// nothing runs inside the agent's synchronous code.

/** One PE's listener; `stopped` ends its rounds. */
interface Listener {
  stopped: boolean;
  wake: number;
}

/** The listeners of one agent, one per PE. */
export class Listeners {
  #words: Int32Array;
  #listeners = new Map<number, Listener>();

  constructor(words: Int32Array) {
    this.#words = words;
  }

  /**
   * Starts listening on `pe`, whose wake-up word is at `wake`: after every
   * post to it, `deliver` runs in a task of its own. Does nothing if `pe`
   * is listened on already.
   *
   * `deliver` may throw: there is no caller to throw to, so the error is
   * reported with `reportError` (an "error" event on `globalThis`, as an
   * uncaught exception is), and listening goes on.
   */
  start(pe: number, wake: number, deliver: () => void): void {
    if (this.#listeners.has(pe)) return;
    const state: Listener = { stopped: false, wake };
    this.#listeners.set(pe, state);
    const words = this.#words;
    const round = (): void => {
      if (state.stopped) return;
      // Arm the next round first, so that a throwing handler does not end idle delivery.
      const waiting = Atomics.waitAsync(words, wake, Atomics.load(words, wake));
      if (waiting.async) waiting.value.then(round);
      else queueMicrotask(round);
      try {
        deliver();
      } catch (error) {
        reportError(error);
      }
    };
    queueMicrotask(round);
  }

  /** Stops every listener; what is posted later stays pending. */
  stopAll(): void {
    for (const state of this.#listeners.values()) {
      state.stopped = true;
      // Resolve the pending waitAsync, so that its round ends now.
      Atomics.notify(this.#words, state.wake);
    }
    this.#listeners.clear();
  }
}
