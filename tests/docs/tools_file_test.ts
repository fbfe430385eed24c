/**
 * docs/TOOLS_FILE.md cannot drift from the tools-file schema
 * (src/tools/file/spec.ts, each tool kind's in src/tools/file/kinds/): each
 * table of its reference lists exactly the fields the schema reads there,
 * and every registered kind has its table.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { TOOL_KINDS } from "../../src/tools/file/kinds/mod.ts";
import { ParameterSpec } from "../../src/tools/file/parameters.ts";
import { SourceSpec, ToolsFileSpec } from "../../src/tools/file/spec.ts";

const page = await Deno.readTextFile(new URL("../../docs/TOOLS_FILE.md", import.meta.url));

/** Names in the first column of the table under `### <heading>`, up to the next heading. */
function fieldsUnder(heading: string): string[] {
  const start = page.indexOf(`\n### ${heading}\n`);
  assert.ok(start >= 0, `docs/TOOLS_FILE.md has no "### ${heading}"`);
  const rest = page.slice(start + heading.length + 6);
  const section = rest.slice(0, rest.search(/\n#{1,3} /) >>> 0);
  return section.split("\n").filter((line) => line.startsWith("| `"))
    .flatMap((row) => [...row.split("|")[1].matchAll(/`([a-zA-Z_]+)`/g)].map((m) => m[1]))
    .sort();
}

const keys = (schema: z.ZodObject, omit: string[] = []) =>
  Object.keys(schema.shape).filter((k) => !omit.includes(k)).sort();

const sources = Object.fromEntries(
  SourceSpec.options.map((o) => [o.shape.kind.value, o as unknown as z.ZodObject]),
);
const tools = TOOL_KINDS.map((k) => k.schema) as unknown as z.ZodObject[];
const common = keys(tools[0]).filter((k) => tools.every((t) => k in t.shape));
const annotations = TOOL_KINDS[0].schema.shape.annotations.unwrap() as unknown as z.ZodObject;

Deno.test("docs/TOOLS_FILE.md: the top level, each source kind and each tool kind, field by field", () => {
  assert.deepEqual(fieldsUnder("Top level"), keys(ToolsFileSpec as unknown as z.ZodObject));
  for (const kind of ["postgres", "embedded", "http"]) {
    assert.deepEqual(fieldsUnder(`Source \`${kind}\``), keys(sources[kind], ["kind"]), kind);
  }
  assert.deepEqual(fieldsUnder("Every tool"), common);
  for (const tool of tools) {
    const kind = tool.shape.kind as unknown as z.ZodLiteral<string>;
    assert.deepEqual(fieldsUnder(`Tool \`${kind.value}\``), keys(tool, common), kind.value);
  }
});

Deno.test("docs/TOOLS_FILE.md: every parameter field and annotation", () => {
  assert.deepEqual(fieldsUnder("Parameters"), keys(ParameterSpec as unknown as z.ZodObject));
  assert.deepEqual(fieldsUnder("Annotations"), keys(annotations));
});

Deno.test("docs/TOOLS_FILE.md: the sql tool's output shape", () => {
  const output = /\*\*`sql`\*\*:\s+(`\{[^`]*\}`)/.exec(page)?.[1] ?? "";
  for (const field of ['"rows"', '"row_count"', '"truncated"?', '"cursor"?']) {
    assert.ok(output.includes(field), `${field} in ${output}`);
  }
});
