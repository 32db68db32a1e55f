// Copyright 2026 the percpu authors. MIT license.

// deno.json, the mod.ts files and the test task must agree, so that every
// public file is published, documented, linted and reachable by users.

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  name: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
  tasks: Record<string, string>;
};

function specifierOf(subpath: string): string {
  return subpath === "." ? config.name : `${config.name}/${subpath.slice(2)}`;
}

Deno.test("deno.json maps every export to the same file in imports", () => {
  for (const [subpath, file] of Object.entries(config.exports)) {
    assert.equal(config.imports[specifierOf(subpath)], file, `imports of ${subpath}`);
  }
  const own = Object.keys(config.imports).filter((key) => key.startsWith(config.name));
  assert.equal(own.length, Object.keys(config.exports).length);
});

Deno.test("deno.json exports name files that exist and are kebab-case paths of snake_case files", async () => {
  for (const [subpath, file] of Object.entries(config.exports)) {
    await Deno.stat(new URL(file, root));
    assert.match(subpath, /^\.(\/[a-z0-9-]+)*$/);
    assert.match(file, /^\.\/([a-z0-9_]+\/)*[a-z0-9_]+\.ts$/);
  }
});

Deno.test("the test task lints the docs of every entry point", () => {
  for (const file of Object.values(config.exports)) {
    assert.ok(
      config.tasks.test?.includes(` ${file.slice(2)}`),
      `${file} is missing from 'deno doc --lint' in the test task`,
    );
  }
});

Deno.test("every public file of a folder is exported by that folder's mod.ts", async () => {
  const folders = Object.values(config.exports)
    .filter((file) => file !== "./mod.ts" && file.endsWith("/mod.ts"))
    .map((file) => file.slice(2, -"/mod.ts".length));
  assert.ok(folders.includes("percpu"));
  for (const folder of folders) {
    const entries = await Array.fromAsync(Deno.readDir(new URL(`${folder}/`, root)));
    const mod = await Deno.readTextFile(new URL(`${folder}/mod.ts`, root));
    for (const { name } of entries) {
      if (!name.endsWith(".ts") || name.startsWith("_") || name === "mod.ts") continue;
      assert.ok(mod.includes(`"./${name}"`), `${folder}/mod.ts does not export ./${name}`);
    }
  }
});

Deno.test("the root mod.ts re-exports the core folders and no backend", async () => {
  const mod = await Deno.readTextFile(new URL("mod.ts", root));
  assert.ok(mod.includes(`export * from "./percpu/mod.ts";`));
  assert.ok(mod.includes(`export * from "./spin/mod.ts";`));
  assert.ok(
    !mod.includes(`from "./platform`),
    "backends are reachable only through their subpaths",
  );
});
