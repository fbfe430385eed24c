/**
 * A file tool's parameter specs, checked at load whatever the tool's kind
 * (`parameterProblems()`), and compiled as JSON Schema clients compile them.
 * Identity-bound parameters (`from: claim`) have their own file,
 * `identity_bound_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadToolsFile } from "../../../src/tools/file/load.ts";
import { guard, problems, SQL_TOOL } from "./load_fixture.ts";

Deno.test("tools file: parameter specs are checked", () => {
  const cases: [string, RegExp][] = [
    ["{ type: string, description: x, min: 1 }", /min\/max apply/],
    ["{ type: integer, description: x, max_length: 3 }", /min_length\/max_length\/pattern apply/],
    ["{ type: integer, description: x, min: 5, max: 1 }", /min is greater than max/],
    ["{ type: string, description: x, pattern: '(' }", /not a valid regular expression/],
    ["{ type: integer, description: x, default: 'a' }", /not a valid integer/],
    ["{ type: integer, description: x, enum: [1, 2.5] }", /not a valid integer/],
    ["{ type: integer, description: x, required: true, default: 1 }", /cannot be required/],
    ["{ type: date, description: x }", /type/],
    ["{ type: string }", /description/],
  ];
  for (const [spec, pattern] of cases) {
    const text = SQL_TOOL("SELECT :a AS a", `    parameters:\n      a: ${spec}\n`);
    const found = problems(text);
    assert.ok(
      found.some((p) => p.line === 7 && pattern.test(p.message)),
      `${spec}: ${JSON.stringify(found)}`,
    );
  }
});

Deno.test("loadToolsFile() reads a pattern as JSON Schema clients do (the u flag): a trailing - in a class is a literal", () => {
  const text = `
tools:
  stock:
    kind: sql
    description: Stock of one item.
    statement: SELECT :sku::text AS sku
    parameters:
      sku: { type: string, description: sku, pattern: "^[A-Z0-9-]{1,32}$" }
`;
  const result = loadToolsFile(text, { env: {}, guard });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
});
