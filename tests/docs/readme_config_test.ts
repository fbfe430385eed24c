import assert from "node:assert/strict";
import { CONFIG_VARIABLES } from "../../src/config/env.ts";

Deno.test("README's configuration table lists every variable the server reads", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Configuration"));
  const rows = section.slice(0, section.indexOf("\n## ", 1)).split("\n")
    .filter((line) => line.startsWith("| `"));
  const listed = new Set(
    rows.flatMap((row) => [...row.split("|")[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1])),
  );
  const missing = [...CONFIG_VARIABLES].filter((name) => !listed.has(name));
  assert.deepEqual(missing, [], "variables without a row in README's configuration table");
  const unknown = [...listed].filter((name) => !CONFIG_VARIABLES.has(name));
  assert.deepEqual(unknown, [], "rows for variables the server does not read");
});
