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

/** Formats rows as an aligned text table: numeric columns right, others left. */
export function formatTable(rows: Record<string, string | number>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  const cells = rows.map((row) => columns.map((column) => String(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => (line[i] as string).length))
  );
  const numeric = columns.map((_, i) =>
    cells.every((line) => /^-?[\d.]+$/.test(line[i] as string))
  );
  const align = (text: string, i: number): string =>
    numeric[i] ? text.padStart(widths[i] as number) : text.padEnd(widths[i] as number);
  const lines = [
    columns.map(align).join("  "),
    widths.map((width) => "-".repeat(width)).join("  "),
    ...cells.map((line) => line.map(align).join("  ")),
  ];
  return lines.join("\n");
}
