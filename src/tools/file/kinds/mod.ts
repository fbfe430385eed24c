/**
 * The tool kinds a tools file may use: the one list, and what is derived
 * from it (the schema of a tool entry, the type of a checked one, the lookup
 * the loader and the builder dispatch through). A new kind is its own file
 * under `kinds/` and one line in {@linkcode TOOL_KINDS}.
 *
 * @example Every kind is found by its `kind:` value
 * ```ts
 * import { TOOL_KINDS, toolKind, ToolSpec } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * for (const kind of TOOL_KINDS) {
 *   assert.equal(toolKind(kind.schema.shape.kind.value), kind);
 * }
 * const spec = ToolSpec.parse({ kind: "vector_search", description: "Search the handbook." });
 * assert.equal(spec.kind, "vector_search");
 * assert.equal(toolKind(spec.kind).schema.shape.kind.value, "vector_search");
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { ToolKind } from "./kind.ts";
import { httpKind } from "./http.ts";
import { sqlKind } from "./sql.ts";
import { vectorSearchKind } from "./vector_search.ts";

/** Every tool kind, in the order the documentation lists them. */
export const TOOL_KINDS = [sqlKind, httpKind, vectorSearchKind] as const;

type Kinds = typeof TOOL_KINDS;
type SchemaOf<K> = K extends ToolKind<infer S, infer _C> ? S : never;
type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: SchemaOf<T[I]> };

/** One tool entry of a tools file: the union of every kind's schema, told apart by `kind`. */
export const ToolSpec = z.discriminatedUnion(
  "kind",
  TOOL_KINDS.map((k) => k.schema) as unknown as SchemasOf<Kinds>,
);
export type ToolSpec = z.infer<typeof ToolSpec>;

/** A checked entry of one kind: its spec and what its checks handed the build step. */
type CheckedOf<K> = K extends ToolKind<infer S, infer C>
  ? { readonly kind: z.output<S>["kind"]; readonly spec: z.output<S>; readonly checked: C }
  : never;
/** A checked tool entry; `kind` tells which kind's spec and checked value it holds. */
export type CheckedTool = CheckedOf<Kinds[number]>;

const BY_KIND: ReadonlyMap<string, ToolKind> = new Map(
  TOOL_KINDS.map((k) => [k.schema.shape.kind.value, k as unknown as ToolKind]),
);

/**
 * The kind of an entry's `kind:` value, for the loader and the builder. Typed
 * as any kind: which one an entry is shows only at run time, and the union
 * schema has already made each entry's spec fit the kind its `kind:` names.
 */
export function toolKind(kind: string): ToolKind {
  const found = BY_KIND.get(kind);
  if (found === undefined) throw new Error(`Unknown tool kind "${kind}"`);
  return found;
}
