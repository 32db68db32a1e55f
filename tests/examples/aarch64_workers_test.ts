// Copyright 2026 the percpu authors. MIT license.

import assert from "node:assert/strict";

Deno.test("examples/aarch64_workers.ts: a Worker PE takes every SGI that PE 0 sends", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      new URL("../../examples/aarch64_workers.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(code, 0);
  assert.equal(new TextDecoder().decode(stdout), "PE 1 took 3 SGIs\n");
});
