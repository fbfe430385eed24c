/**
 * The `search_documents` tool: embeds the query with the same model as the
 * documents and returns the nearest chunks by cosine similarity, read from
 * the document store through the read-only SQL path (so under the call's
 * deadline, capped, in a `READ ONLY` transaction).
 *
 * {@linkcode searchDocuments} is the operation itself, for any tool that
 * searches a store (the tools file's `vector_search` kind builds on it).
 *
 * @module
 */
import { z } from "zod";
import type { SqlQuery, SqlResult } from "../sources/db/sql_source.ts";
import { defineTool, type Tool } from "../tools/define.ts";
import type { SqlSource } from "../sources/db/sql_source.ts";
import type { Embedder } from "./embedder.ts";
import { searchQuery } from "./vector_store.ts";

/** What a search reads from: a tool's `ctx.sql`, or a `SqlSource`. */
export interface DocumentReader {
  query<R>(query: SqlQuery, options?: { readonly name?: string }): Promise<SqlResult<R>>;
}

/** One search. */
export interface SearchRequest {
  readonly query: string;
  readonly topK: number;
  /** Only chunks of this source or below it (`docs` matches `docs` and `docs/…`). */
  readonly source?: string;
  /** Never chunks of these sources or below them (what other tools reserve). */
  readonly exclude?: readonly string[];
  /** Stops before the database is asked when the call's deadline has passed. */
  readonly signal?: AbortSignal;
}

/** One found chunk. */
export interface SearchHit {
  readonly content: string;
  readonly source: string;
  readonly chunk_index: number;
  /** Cosine similarity, -1 to 1 (1: same direction). */
  readonly score: number;
}

/**
 * The `topK` chunks nearest to `request.query`, best first.
 *
 * @example With a stand-in embedder and store
 * ```ts
 * import { searchDocuments } from "./search_documents.ts";
 * import assert from "node:assert/strict";
 *
 * const embedder = {
 *   model: "fake",
 *   dimension: 2,
 *   embed: (texts: readonly string[]) => Promise.resolve(texts.map(() => Float32Array.of(1, 0))),
 *   close: () => Promise.resolve(),
 * };
 * const store = {
 *   query: <R>() =>
 *     Promise.resolve({
 *       rows: [{ content: "hello", source: "a.md", chunk_index: 0, score: 0.9 }] as R[],
 *     }),
 * };
 * const { results } = await searchDocuments(store, embedder, { query: "hi", topK: 1 });
 * assert.deepEqual(results, [{ content: "hello", source: "a.md", chunk_index: 0, score: 0.9 }]);
 * ```
 */
export async function searchDocuments(
  store: DocumentReader,
  embedder: Embedder,
  request: SearchRequest,
): Promise<{ results: SearchHit[] }> {
  const [vector] = await embedder.embed([request.query]);
  request.signal?.throwIfAborted();
  const { rows } = await store.query<SearchHit>(
    searchQuery(vector, request.topK, request.source, request.exclude),
    { name: "search_documents" },
  );
  return {
    results: rows.map((r) => ({
      content: r.content,
      source: r.source,
      chunk_index: Number(r.chunk_index),
      score: Number(r.score),
    })),
  };
}

const Input = z.strictObject({
  query: z.string().min(1).max(2000).describe("What to look for, in natural language"),
  top_k: z.int().min(1).max(50).default(5).describe("How many chunks to return (1-50)"),
  source: z.string().min(1).max(1000).optional().describe(
    "Only search this source: a file as ingested, or a folder's name (matches everything below it). " +
      "Documents reserved for other search tools are never returned",
  ),
});

const Output = z.object({
  results: z.array(z.object({
    content: z.string(),
    source: z.string(),
    chunk_index: z.int(),
    score: z.number(),
  })),
});

/** The scope a key needs to call `search_documents` (when it has a scope list at all). */
export const SEARCH_DOCUMENTS_SCOPE = "documents:read";

/**
 * Builds `search_documents` over `store` (the document store's read-only
 * source) and `embedder`.
 *
 * It is the open door to the whole store, so two things keep it from going
 * around the tools file's `vector_search` tools, whose `documents:` and
 * `scopes:` would otherwise be no boundary: it declares its own scope,
 * `documents:read` (a key with a scope list needs it; `tools:read` alone is
 * not enough), and it never returns a chunk of a source that a
 * `vector_search` tool reserves with `documents:` (that source and
 * everything below it), whatever `source` the caller names. `reserved` is
 * asked on every call: a tools-file reload changes it.
 */
export function createSearchDocumentsTool(
  options: {
    store: SqlSource;
    embedder: Embedder;
    reserved?: () => readonly string[];
  },
): Tool {
  const { store, embedder } = options;
  const reserved = options.reserved ?? (() => []);
  return defineTool({
    name: "search_documents",
    description:
      "Semantic search over the ingested documents: returns the passages most similar in meaning " +
      "to the query (cosine similarity of embeddings), best first, with their source file and " +
      "chunk index. Use it to find facts in the documentation before answering.",
    input: Input,
    output: Output,
    annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
    scopes: [SEARCH_DOCUMENTS_SCOPE],
    sources: { sql: store },
    handler: ({ query, top_k, source }, ctx) =>
      searchDocuments(ctx.sql, embedder, {
        query,
        topK: top_k,
        source,
        exclude: reserved(),
        signal: ctx.signal,
      }),
  });
}
