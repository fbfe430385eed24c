/**
 * `TOOL_KINDS` (src/tools/file/kinds/mod.ts): what the loader and the builder
 * rely on of every registered kind, so a new kind that breaks it fails here
 * rather than on some file.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { COMMON_FIELDS } from "../../../../src/tools/file/kinds/common.ts";
import { TOOL_KINDS, toolKind, ToolSpec } from "../../../../src/tools/file/kinds/mod.ts";
import { SourceSpec } from "../../../../src/tools/file/spec.ts";

const kindOf = (k: (typeof TOOL_KINDS)[number]) => k.schema.shape.kind.value;

Deno.test("TOOL_KINDS: each kind has its own kind value, and toolKind() finds it by that value", () => {
  const values = TOOL_KINDS.map(kindOf);
  assert.deepEqual(values, ["sql", "http", "vector_search"]);
  for (const kind of TOOL_KINDS) assert.equal(toolKind(kindOf(kind)), kind);
  assert.throws(() => toolKind("shell"), /Unknown tool kind "shell"/);
});

Deno.test("TOOL_KINDS: every kind's schema is strict and has every common field", () => {
  for (const kind of TOOL_KINDS) {
    const schema = kind.schema as unknown as z.ZodObject;
    for (const field of Object.keys(COMMON_FIELDS)) {
      assert.ok(field in schema.shape, `${kindOf(kind)} lacks ${field}`);
    }
    const extra = schema.safeParse({ kind: kindOf(kind), description: "d", run_as: "root" });
    assert.equal(extra.success, false, `${kindOf(kind)} refuses an unknown field`);
  }
});

Deno.test("TOOL_KINDS: a kind has a source field exactly when it names the source kinds it may use", () => {
  const sourceKinds = new Set(SourceSpec.options.map((o) => o.shape.kind.value));
  for (const kind of TOOL_KINDS) {
    const schema = kind.schema as unknown as z.ZodObject;
    assert.equal("source" in schema.shape, kind.sourceKinds !== undefined, kindOf(kind));
    for (const s of kind.sourceKinds ?? []) assert.ok(sourceKinds.has(s), `${kindOf(kind)}: ${s}`);
  }
});

Deno.test("ToolSpec: the union of the registered kinds, told apart by kind", () => {
  assert.equal(ToolSpec.options.length, TOOL_KINDS.length);
  const parsed = ToolSpec.parse({ kind: "http", description: "d", path: "/x" });
  assert.equal(parsed.kind === "http" && parsed.method, "GET");
  assert.equal(ToolSpec.safeParse({ kind: "shell", description: "d" }).success, false);
});
