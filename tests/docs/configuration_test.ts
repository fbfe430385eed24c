/**
 * docs/CONFIGURATION.md and .env.example cannot drift from the config schema
 * (src/config/env.ts): every variable it reads is documented in both, and
 * neither names one it does not read.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CONFIG_VARIABLES } from "../../src/config/env.ts";

const ROOT = new URL("../../", import.meta.url);

/** Names in the first column of the reference's tables (`| \`NAME\`, \`OTHER\` | ...`). */
function tableVariables(markdown: string): Set<string> {
  const rows = markdown.split("\n").filter((line) => line.startsWith("| `"));
  return new Set(
    rows.flatMap((row) => [...row.split("|")[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1])),
  );
}

/** Names assigned in .env.example, set (`NAME=`) or shown commented out (`# NAME=`). */
function envExampleVariables(text: string): Set<string> {
  return new Set([...text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
}

function assertSame(listed: Set<string>, where: string) {
  const missing = [...CONFIG_VARIABLES].filter((name) => !listed.has(name));
  assert.deepEqual(missing, [], `variables the server reads, missing from ${where}`);
  const unknown = [...listed].filter((name) => !CONFIG_VARIABLES.has(name));
  assert.deepEqual(unknown, [], `variables in ${where} the server does not read`);
}

Deno.test("docs/CONFIGURATION.md has a row for every variable the server reads, and no other", async () => {
  const page = await Deno.readTextFile(new URL("docs/CONFIGURATION.md", ROOT));
  assertSame(tableVariables(page), "docs/CONFIGURATION.md");
});

Deno.test(".env.example names every variable the server reads, and no other", async () => {
  const text = await Deno.readTextFile(new URL(".env.example", ROOT));
  assertSame(envExampleVariables(text), ".env.example");
});

Deno.test("the README points to the configuration reference instead of repeating it", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  assert.ok(readme.includes("(docs/CONFIGURATION.md)"));
  assert.equal(tableVariables(readme).size, 0, "a variable table in README.md");
});
