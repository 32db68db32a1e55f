// Copyright 2026 the percpu authors. MIT license.

// Progress output: a bar that updates in place on a terminal, plain lines
// (one per 10%) when the output goes to a file or a pipe.

const encoder = new TextEncoder();
const WIDTH = 30;

export class Progress {
  #total: number;
  #terminal: boolean;
  #lastTenth = -1;

  constructor(total: number, terminal: boolean) {
    this.#total = total;
    this.#terminal = terminal;
  }

  show(done: number, interrupts: number): void {
    const fraction = Math.min(done / this.#total, 1);
    const percent = Math.floor(fraction * 100);
    const text = `${String(percent).padStart(3)}%  operations ${done}/${this.#total}, ` +
      `interrupts taken ${interrupts}`;
    if (this.#terminal) {
      const filled = Math.round(fraction * WIDTH);
      const bar = `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}]`;
      Deno.stdout.writeSync(encoder.encode(`\r${bar} ${text}\x1b[K`));
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth === this.#lastTenth) return;
    this.#lastTenth = tenth;
    console.log(`progress: ${text}`);
  }

  end(): void {
    if (this.#terminal) Deno.stdout.writeSync(encoder.encode("\n"));
  }
}
