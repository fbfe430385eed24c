/**
 * The public surface of mod.ts, held still: a tool author's program breaks
 * when a name it imports disappears, so any change to this list is a
 * versioned decision (see the semver promise in mod.ts), made here on
 * purpose and never by accident.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as mod from "../mod.ts";

/** The values mod.ts exports (what exists at run time). */
const VALUES = [
  "SERVER_VERSION",
  "ToolError",
  "apiPath",
  "createTestServer",
  "defineTool",
  "mcpContent",
  "namedQuery",
  "serve",
  "sql",
  "z",
];

/** The types mod.ts exports (erased at run time: checked by the compiler below). */
const TYPES = [
  "ApiClient",
  "ApiGetOptions",
  "ApiPath",
  "ContentBlock",
  "Deprecation",
  "ErrorStatus",
  "FieldProblem",
  "LogLine",
  "Logger",
  "McpCallAnswer",
  "McpContent",
  "McpToolResult",
  "Principal",
  "ServeOptions",
  "SqlClient",
  "SqlClientOptions",
  "SqlQuery",
  "SqlResult",
  "TestServer",
  "TestServerOptions",
  "Tool",
  "ToolAnnotations",
  "ToolCallAnswer",
  "ToolContext",
  "ToolDefinition",
  "ToolErrorOptions",
];

// A type removed or renamed in mod.ts fails the type check `deno test` runs
// before any test: the run-time list above cannot see types.
type _PublicTypes = [
  mod.ApiClient,
  mod.ApiGetOptions,
  mod.ApiPath,
  mod.ContentBlock,
  mod.Deprecation,
  mod.ErrorStatus,
  mod.FieldProblem,
  mod.LogLine,
  mod.Logger,
  mod.McpCallAnswer,
  mod.McpContent,
  mod.McpToolResult,
  mod.Principal,
  mod.ServeOptions,
  mod.SqlClient,
  mod.SqlClientOptions,
  mod.SqlQuery,
  mod.SqlResult<Record<string, unknown>>,
  mod.TestServer,
  mod.TestServerOptions,
  mod.Tool,
  mod.ToolAnnotations,
  mod.ToolCallAnswer,
  mod.ToolContext,
  mod.ToolDefinition<mod.z.ZodObject, unknown>,
  mod.ToolErrorOptions,
];

const source = await Deno.readTextFile(new URL("../mod.ts", import.meta.url));

/** Every name in mod.ts's `export { … } from` lists, split into values and types. */
function declaredExports(text: string): { values: string[]; types: string[] } {
  const values: string[] = [];
  const types: string[] = [];
  for (const [, typeOnly, list] of text.matchAll(/^export (type )?\{([^}]*)\}/gm)) {
    for (const raw of list.split(",").map((s) => s.trim()).filter(Boolean)) {
      const isType = typeOnly !== undefined || raw.startsWith("type ");
      // `a as b` exports b: the name the author imports.
      const name = raw.replace(/^type /, "").split(/\s+as\s+/).at(-1)!;
      (isType ? types : values).push(name);
    }
  }
  return { values: values.sort(), types: types.sort() };
}

Deno.test("mod.ts exports exactly the listed values", () => {
  assert.deepEqual(Object.keys(mod).sort(), [...VALUES].sort());
});

Deno.test("mod.ts declares exactly the listed values and types", () => {
  const declared = declaredExports(source);
  assert.deepEqual(declared.values, [...VALUES].sort());
  assert.deepEqual(declared.types, [...TYPES].sort());
});

Deno.test("mod.ts's module doc names every export", () => {
  const doc = source.slice(0, source.indexOf("@module"));
  const missing = [...VALUES, ...TYPES].filter((name) => !new RegExp(`\\b${name}\\b`).test(doc));
  assert.deepEqual(missing, [], "list them in the table of mod.ts's module doc");
});

Deno.test("mod.ts's SERVER_VERSION is deno.json's version (the semver promise is about it)", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(mod.SERVER_VERSION, config.version);
});

Deno.test("docs/TOOL_AUTHORS.md names every value mod.ts exports", async () => {
  const page = await Deno.readTextFile(new URL("../docs/TOOL_AUTHORS.md", import.meta.url));
  const missing = VALUES.filter((name) => !page.includes(`\`${name}\``));
  assert.deepEqual(missing, [], "list them in the page's table of what is public");
});
