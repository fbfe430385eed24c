/**
 * `kind: vector_search`: semantic search over the RAG store (`ENABLE_RAG`),
 * optionally over one ingested source only. Its input is fixed, `{query,
 * top_k}`, so it declares no parameters and names no source.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../../define.ts";
import { COMMON_FIELDS, commonDefinition } from "./common.ts";
import { defineKind } from "./kind.ts";

/** Semantic search over the RAG store (`ENABLE_RAG`); its input is fixed: `{query, top_k}`. */
export const VectorSearchToolSpec = z.strictObject({
  kind: z.literal("vector_search"),
  /** Only chunks of this ingested source (a file as ingested, or a folder's name). */
  documents: z.string().min(1).max(1000).optional(),
  /** Default and largest `top_k` a caller may ask for. */
  top_k: z.int().min(1).max(50).default(5),
  max_top_k: z.int().min(1).max(50).default(20),
  ...COMMON_FIELDS,
});
export type VectorSearchToolSpec = z.infer<typeof VectorSearchToolSpec>;

/** The `vector_search` tool kind. */
export const vectorSearchKind = defineKind({
  schema: VectorSearchToolSpec,
  check(spec, ctx): void {
    if (Object.keys(spec.parameters).length > 0) {
      ctx.problem(
        ["parameters"],
        "a vector_search tool takes no parameters: its input is {query, top_k}",
      );
    }
    if (spec.top_k > spec.max_top_k) ctx.problem(["top_k"], "top_k is over max_top_k");
  },
  build(name, spec, _checked, ctx) {
    const { rag } = ctx;
    if (rag === undefined) {
      throw new Error(`Tool "${name}": a vector_search tool needs ENABLE_RAG=true`);
    }
    return defineTool({
      ...commonDefinition(name, spec),
      input: z.strictObject({
        query: z.string().min(1).max(2000).describe("What to look for, in natural language"),
        top_k: z.int().min(1).max(spec.max_top_k).default(spec.top_k)
          .describe(`How many passages to return (1-${spec.max_top_k})`),
      }),
      annotations: {
        readOnlyHint: true,
        openWorldHint: false,
        idempotentHint: true,
        ...spec.annotations,
      },
      sources: { sql: rag.store },
      handler: ({ query, top_k }, ctx) =>
        rag.search(ctx.sql, { query, topK: top_k, source: spec.documents, signal: ctx.signal }),
    });
  },
});
