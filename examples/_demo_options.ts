// Copyright 2026 the percpu authors. MIT license.

// The demo's command line: parsed and checked here, so that a bad option is
// reported with what was wrong and what to do, and exits with status 2.

import { parseArgs } from "node:util";

/** What the demo runs. */
export interface DemoOptions {
  soc: string;
  /** CPU count when `soc` is "qemu-virt". */
  cpus: number;
  ops: number;
  ipiRate: number;
  timeoutSeconds: number;
  fault: DemoFault;
  list: boolean;
  help: boolean;
}

/** A fault to inject, to see the checks fail: `none` in normal runs. */
export type DemoFault = "none" | "lost-update" | "stuck-lock";
const FAULTS: readonly DemoFault[] = ["none", "lost-update", "stuck-lock"];

/** A bad command line; the demo prints the message and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const USAGE = `Usage: deno task demo [options]

Boots a model AArch64 machine shaped like a real SoC, one Worker thread per
core (PE), and runs per-core counters in exception-free sections, a shared
SpinMutex-guarded histogram, and inter-processor interrupts (SGIs) from PE 0
whose handlers take the same lock. Prints progress, a per-PE table and the
checks; exits 0 only if every total is exact.

Options:
  --soc NAME         SoC preset to boot (default rk3399); --list shows them
  --cpus N           CPU count, only with --soc qemu-virt (default 4, 1 to 64)
  --ops N            operations per PE (default 200000, 1 to 10000000)
  --ipi-rate N       SGIs PE 0 sends per 1000 of its operations (default 50, 0 to 1000)
  --timeout SECONDS  give up, and fail, if booting the PEs or running them
                     takes longer (default 60); a PE waiting for the lock
                     gives up after half of it
  --fault KIND       inject a fault to see the checks catch it: lost-update
                     (PE 1 skips one histogram update) or stuck-lock (PE 1
                     never releases the lock); default none
  --list             list the SoC presets and exit
  -h, --help         show this help and exit`;

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(
      `Cannot run the demo as '--${name}' must be an integer from ${min} to ${max}: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return value;
}

/** Parses the demo's arguments; throws {@linkcode UsageError} for a bad one. */
export function parseDemoOptions(args: string[], socs: readonly string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        soc: { type: "string", default: "rk3399" },
        cpus: { type: "string" },
        ops: { type: "string", default: "200000" },
        "ipi-rate": { type: "string", default: "50" },
        timeout: { type: "string", default: "60" },
        fault: { type: "string", default: "none" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(
      `Cannot run the demo as the command line is wrong: ${(error as Error).message}; see --help`,
    );
  }
  const { values } = parsed;
  if (!socs.includes(values.soc)) {
    throw new UsageError(
      `Cannot run the demo as '--soc' must be one of ${socs.join(", ")}: current value is ${
        JSON.stringify(values.soc)
      }`,
    );
  }
  if (values.cpus !== undefined && values.soc !== "qemu-virt") {
    throw new UsageError(
      `Cannot run the demo as '--cpus' goes only with '--soc qemu-virt': the ${values.soc} preset has a fixed number of PEs`,
    );
  }
  const fault = FAULTS.find((kind) => kind === values.fault);
  if (fault === undefined) {
    throw new UsageError(
      `Cannot run the demo as '--fault' must be one of ${FAULTS.join(", ")}: current value is ${
        JSON.stringify(values.fault)
      }`,
    );
  }
  return {
    soc: values.soc,
    fault,
    cpus: integer("cpus", values.cpus ?? "4", 1, 64),
    ops: integer("ops", values.ops, 1, 10_000_000),
    ipiRate: integer("ipi-rate", values["ipi-rate"], 0, 1000),
    timeoutSeconds: integer("timeout", values.timeout, 1, 3600),
    list: values.list,
    help: values.help,
  };
}
