// Copyright 2026 the percpu authors. MIT license.

// Runs the demo as a user does, in a process of its own, and checks its exit
// status and its check lines.

import assert from "node:assert/strict";

const demo = new URL("../../examples/demo.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function runDemo(...args: string[]): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", demo, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    // Bounded, so that a hang fails the test instead of stalling CI.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

function checkLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line.startsWith("check "));
}

Deno.test("demo passes every check on the default SoC and exits 0", async () => {
  const { code, stdout, stderr } = await runDemo("--ops", "300");
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const checks = checkLines(stdout);
  assert.equal(checks.length, 8);
  assert.ok(checks.every((line) => line.startsWith("check ok    : ")), checks.join("\n"));
  assert.match(stdout, /^Booting Rockchip RK3399: 6 PEs, one Worker each, 300 operations per PE/);
  assert.match(stdout, /^progress: 100% {2}operations 1800\/1800, /m);
  assert.ok(
    stdout.includes("check ok    : every PE did 300 operations, by its per-core counter\n"),
  );
  for (const mpidr of ["0x80000000", "0x80000003", "0x80000100", "0x80000101"]) {
    assert.match(
      stdout,
      new RegExp(`\\n +\\d  ${mpidr} +300 `),
      `the table shows MPIDR_EL1 ${mpidr}`,
    );
  }
  assert.match(stdout, /\nresult: every check passed\n$/);
});

Deno.test("demo runs a QEMU virt machine with --cpus", async () => {
  const { code, stdout } = await runDemo("--soc", "qemu-virt", "--cpus", "3", "--ops", "200");
  assert.equal(code, 0);
  assert.match(stdout, /^Booting QEMU virt, 3 CPUs: 3 PEs/);
  assert.equal(checkLines(stdout).filter((line) => line.startsWith("check ok")).length, 8);
});

Deno.test("demo catches a lost update and exits 1", async () => {
  const { code, stdout } = await runDemo("--fault", "lost-update", "--ops", "200");
  assert.equal(code, 1);
  assert.match(
    stdout,
    /^Injected fault: PE 1 skips one histogram update; the checks must catch it$/m,
  );
  assert.ok(
    stdout.includes(
      "check FAILED: the locked histogram counted every PE's operations exactly: PE 1: 199, expected 200\n",
    ),
    stdout,
  );
  assert.match(
    stdout,
    /check FAILED: the histogram total is every operation plus every interrupt taken \((\d+)\): \d+ counted, expected \1\n/,
  );
  assert.match(
    stdout,
    /check FAILED: every operation and every handler took the lock once: PE 1: \d+, expected \d+\n/,
  );
  assert.match(stdout, /\nresult: FAILED, 3 check\(s\) did not hold\n$/);
});

Deno.test("demo reports a stuck lock with the core that holds it and exits 1", async () => {
  // --timeout 6: the waiting PEs give up after 3 s, long after every Worker started.
  const { code, stderr } = await runDemo("--fault", "stuck-lock", "--ops", "200", "--timeout", "6");
  assert.equal(code, 1);
  // The waiting PE fails in its section, or also in a handler that ran when
  // the section restored: either way the error names the holder.
  assert.match(
    stderr,
    /FAILED: PE \d failed: (.*after )?LockTimeoutError: Cannot lock SpinMutex on core \d as core 1 held it/,
  );
  assert.match(stderr, /Operations done when it stopped \(of 200 each\): PE 0: \d+, PE 1: 1,/);
});

Deno.test("demo rejects bad options with a clear message and exit status 2", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--ops", "0"],
      `Cannot run the demo as '--ops' must be an integer from 1 to 10000000: current value is "0"`,
    ],
    [
      ["--ops", "1e3"],
      `Cannot run the demo as '--ops' must be an integer from 1 to 10000000: current value is "1e3"`,
    ],
    [
      ["--soc", "pdp11"],
      `Cannot run the demo as '--soc' must be one of rk3399, rk3588, t8103, bcm2711, qemu-virt: current value is "pdp11"`,
    ],
    [
      ["--fault", "fire"],
      `Cannot run the demo as '--fault' must be one of none, lost-update, stuck-lock: current value is "fire"`,
    ],
    [["--bogus"], "Cannot run the demo as the command line is wrong: Unknown option '--bogus'"],
    [["--cpus", "8"], "Cannot run the demo as '--cpus' goes only with '--soc qemu-virt'"],
    [
      ["--soc", "qemu-virt", "--cpus", "1", "--fault", "stuck-lock"],
      "Cannot run the demo as '--fault stuck-lock' needs a PE 1 to inject it on: this machine has 1 PE",
    ],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const { code, stdout, stderr } = await runDemo(...args);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.ok(stderr.startsWith(message), stderr);
    });
  }
});

Deno.test("demo --help explains every option and --list lists the SoCs", async () => {
  const help = await runDemo("--help");
  assert.equal(help.code, 0);
  for (
    const option of ["--soc", "--cpus", "--ops", "--ipi-rate", "--timeout", "--fault", "--list"]
  ) {
    assert.ok(help.stdout.includes(`  ${option} `), `--help explains ${option}`);
  }
  const list = await runDemo("--list");
  assert.equal(list.code, 0);
  assert.match(list.stdout, /rk3399 +Rockchip RK3399: 4× Cortex-A53, 2× Cortex-A72, 6 PEs/);
  assert.match(list.stdout, /qemu-virt +QEMU 'virt' board/);
});
