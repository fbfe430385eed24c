/**
 * The document store: one table of embedded chunks in PostgreSQL with
 * pgvector (the embedded PGlite or a real server), and every statement that
 * touches it.
 *
 * ```sql
 * documents(id, source, chunk_index, content, metadata jsonb, content_hash,
 *           embedding vector(<dimension>))   -- UNIQUE (source, chunk_index)
 * documents_embedding_hnsw: HNSW on embedding (vector_cosine_ops)
 * rag_meta(model, dimension)                 -- one row: what the vectors are
 * ```
 *
 * Writes (schema, upserts, deletes) run on a {@linkcode WritableDatabase},
 * which only the `ingest` command opens; the search tool reads through the
 * server's read-only `SqlSource` with {@linkcode searchQuery}.
 *
 * @module
 */
import { makeSqlQuery, sql, type SqlQuery } from "../sources/db/sql_source.ts";

/** Runs statements that may write. */
export interface Executor {
  query<R = Record<string, unknown>>(query: SqlQuery): Promise<R[]>;
}

/**
 * A connection that may write to the document store. Only the `ingest`
 * command (an operator's command, never reachable from a request) opens one;
 * requests read through the read-only `SqlSource`.
 */
export interface WritableDatabase extends Executor {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction (committed when it resolves). */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The store cannot be used as it is; the message says what to do. */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** pgvector's HNSW index takes `vector` columns of at most this many dimensions. */
export const MAX_DIMENSION = 2000;

/**
 * pgvector search settings: a candidate list twice the largest `top_k`
 * (HNSW returns at most `ef_search` rows), and iterative scans so a `source`
 * filter still fills `top_k` (pgvector ≥ 0.8).
 */
export const SEARCH_SETTINGS: Readonly<Record<string, string | number>> = {
  "hnsw.ef_search": 100,
  "hnsw.iterative_scan": "relaxed_order",
};

/** What the stored vectors are. */
export interface StoreMeta {
  readonly model: string;
  readonly dimension: number;
}

/** The remedy for a store made with another model. */
export const REBUILD_HINT =
  "re-ingest everything with the new model: mcp-tool-server ingest --rebuild <files or folders>";

/** A store made for `found` cannot take vectors of `wanted`. */
export function mismatch(found: StoreMeta, wanted: StoreMeta): string | undefined {
  if (found.dimension !== wanted.dimension) {
    return `The document store holds ${found.dimension}-dimension embeddings (model "${found.model}"), ` +
      `but the configured model "${wanted.model}" makes ${wanted.dimension}-dimension ones: ` +
      REBUILD_HINT;
  }
  if (found.model !== wanted.model) {
    return `The document store holds embeddings from model "${found.model}", not the configured ` +
      `"${wanted.model}" (vectors of different models cannot be compared): ${REBUILD_HINT}`;
  }
  return undefined;
}

/** The DDL of the documents table for `dimension`. */
function createDocumentsTable(dimension: number): SqlQuery {
  if (!Number.isSafeInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
    throw new StoreError(
      `Cannot store ${dimension}-dimension embeddings: pgvector's HNSW index takes 1 to ${MAX_DIMENSION}`,
    );
  }
  // DDL takes no bound parameters; the one value spliced in is the integer
  // checked just above, never text.
  return makeSqlQuery(
    `CREATE TABLE IF NOT EXISTS documents (
      id bigserial PRIMARY KEY,
      source text NOT NULL,
      chunk_index integer NOT NULL CHECK (chunk_index >= 0),
      content text NOT NULL,
      metadata jsonb NOT NULL DEFAULT '{}',
      content_hash text NOT NULL,
      embedding vector(${dimension}) NOT NULL,
      UNIQUE (source, chunk_index)
    )`,
    [],
  );
}

/** Reads `rag_meta`, or undefined when the store has no schema yet. */
export async function readMeta(db: Executor): Promise<StoreMeta | undefined> {
  const [exists] = await db.query<{ present: boolean }>(
    sql`SELECT to_regclass('rag_meta') IS NOT NULL AND to_regclass('documents') IS NOT NULL AS present`,
  );
  if (!exists?.present) return undefined;
  const [row] = await db.query<{ model: string; dimension: number }>(
    sql`SELECT model, dimension FROM rag_meta`,
  );
  return row ? { model: row.model, dimension: Number(row.dimension) } : undefined;
}

/**
 * Creates the pgvector extension, the tables and the HNSW index when they are
 * missing (with `rebuild`, drops the old ones first). Throws a
 * {@linkcode StoreError} when the store holds vectors of another model, or
 * the database has no pgvector.
 */
export async function ensureSchema(
  db: WritableDatabase,
  wanted: StoreMeta,
  options: { rebuild?: boolean } = {},
): Promise<void> {
  const ddl = createDocumentsTable(wanted.dimension);
  try {
    await db.query(sql`CREATE EXTENSION IF NOT EXISTS vector`);
  } catch (error) {
    throw new StoreError(
      `The database has no pgvector: CREATE EXTENSION vector failed (${
        error instanceof Error ? error.message : String(error)
      }). Install pgvector on that PostgreSQL server (the pgvector/pgvector image, or the ` +
        `postgresql-<version>-pgvector package from the PostgreSQL apt repository), or leave ` +
        `RAG_DB_URL unset to use the embedded store`,
      { cause: error },
    );
  }
  await db.transaction(async (tx) => {
    if (options.rebuild) {
      await tx.query(sql`DROP TABLE IF EXISTS documents`);
      await tx.query(sql`DROP TABLE IF EXISTS rag_meta`);
    }
    const found = await readMeta(tx);
    if (found) {
      const problem = mismatch(found, wanted);
      if (problem) throw new StoreError(problem);
      return;
    }
    await tx.query(
      sql`CREATE TABLE IF NOT EXISTS rag_meta (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        model text NOT NULL,
        dimension integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    await tx.query(ddl);
    await tx.query(
      sql`CREATE INDEX IF NOT EXISTS documents_embedding_hnsw
          ON documents USING hnsw (embedding vector_cosine_ops)`,
    );
    await tx.query(
      sql`CREATE INDEX IF NOT EXISTS documents_content_hash ON documents (content_hash)`,
    );
    await tx.query(
      sql`INSERT INTO rag_meta (model, dimension) VALUES (${wanted.model}, ${wanted.dimension})
          ON CONFLICT (singleton) DO UPDATE SET model = EXCLUDED.model, dimension = EXCLUDED.dimension`,
    );
  });
}

/** pgvector's text form of a vector: `[0.1,0.2,…]`. */
export function vectorText(vector: ArrayLike<number>): string {
  return `[${Array.from(vector).join(",")}]`;
}

/** The stored chunks of one source: chunk index → content hash. */
export async function storedHashes(db: Executor, source: string): Promise<Map<number, string>> {
  const rows = await db.query<{ chunk_index: number; content_hash: string }>(
    sql`SELECT chunk_index, content_hash FROM documents WHERE source = ${source}`,
  );
  return new Map(rows.map((r) => [Number(r.chunk_index), r.content_hash]));
}

/** Stored embeddings (pgvector text) of any chunk with one of `hashes`. */
export async function embeddingsByHash(
  db: Executor,
  hashes: readonly string[],
): Promise<Map<string, string>> {
  if (hashes.length === 0) return new Map();
  const rows = await db.query<{ content_hash: string; embedding: string }>(
    sql`SELECT DISTINCT ON (content_hash) content_hash, embedding::text AS embedding
        FROM documents WHERE content_hash = ANY(${hashes}::text[])`,
  );
  return new Map(rows.map((r) => [r.content_hash, r.embedding]));
}

/** Deletes the chunks of `source` from `fromIndex` on; returns how many. */
export async function deleteChunksFrom(
  db: Executor,
  source: string,
  fromIndex: number,
): Promise<number> {
  const rows = await db.query(
    sql`DELETE FROM documents WHERE source = ${source} AND chunk_index >= ${fromIndex} RETURNING id`,
  );
  return rows.length;
}

/** One chunk to write. */
export interface ChunkRow {
  readonly source: string;
  readonly chunkIndex: number;
  readonly content: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly contentHash: string;
  /** pgvector text (see {@linkcode vectorText}). */
  readonly embedding: string;
}

/** Inserts or replaces chunks by (source, chunk_index), in one statement. */
export async function upsertChunks(db: Executor, rows: readonly ChunkRow[]): Promise<void> {
  if (rows.length === 0) return;
  const sources = rows.map((r) => r.source);
  const indexes = rows.map((r) => r.chunkIndex);
  const contents = rows.map((r) => r.content);
  const metadata = rows.map((r) => JSON.stringify(r.metadata));
  const hashes = rows.map((r) => r.contentHash);
  const embeddings = rows.map((r) => r.embedding);
  // Arrays of text, cast per column: PGlite serializes a JS array of vector
  // literals wrongly when the parameter is typed vector[], but fine as text[].
  await db.query(
    sql`INSERT INTO documents (source, chunk_index, content, metadata, content_hash, embedding)
        SELECT s, i, c, m::jsonb, h, e::vector
        FROM unnest(${sources}::text[], ${indexes}::integer[], ${contents}::text[],
                    ${metadata}::text[], ${hashes}::text[], ${embeddings}::text[])
             AS t(s, i, c, m, h, e)
        ON CONFLICT (source, chunk_index) DO UPDATE
        SET content = EXCLUDED.content, metadata = EXCLUDED.metadata,
            content_hash = EXCLUDED.content_hash, embedding = EXCLUDED.embedding`,
  );
}

/** Sources stored under `root`: `root` itself, or anything below `root/`. */
export async function sourcesUnder(db: Executor, root: string): Promise<string[]> {
  const rows = await db.query<{ source: string }>(
    sql`SELECT DISTINCT source FROM documents
        WHERE source = ${root} OR starts_with(source, ${`${root}/`}) ORDER BY source`,
  );
  return rows.map((r) => r.source);
}

/** Deletes every chunk of `sources`; returns how many chunks. */
export async function deleteSources(db: Executor, sources: readonly string[]): Promise<number> {
  if (sources.length === 0) return 0;
  const rows = await db.query(
    sql`DELETE FROM documents WHERE source = ANY(${sources}::text[]) RETURNING id`,
  );
  return rows.length;
}

/** How many chunks the store holds. */
export async function countChunks(db: Executor): Promise<number> {
  const [row] = await db.query<{ n: number | bigint | string }>(
    sql`SELECT count(*)::integer AS n FROM documents`,
  );
  return Number(row?.n ?? 0);
}

/**
 * The nearest chunks to `vector` by cosine distance (HNSW), with `score` =
 * cosine similarity. `source` keeps chunks of that source or below it
 * (`docs` matches `docs` and `docs/…`); `exclude` drops the chunks of each
 * of its sources and below them. The materialized CTE restores strict
 * order after pgvector's relaxed iterative scan.
 *
 * @example
 * ```ts
 * import { searchQuery } from "./vector_store.ts";
 * import assert from "node:assert/strict";
 *
 * const q = searchQuery([0.6, 0.8], 5, "docs");
 * assert.deepEqual(q.values, ["[0.6,0.8]", "docs", "docs/", 5]);
 * assert.match(q.text, /ORDER BY distance/);
 * ```
 */
export function searchQuery(
  vector: ArrayLike<number>,
  topK: number,
  source?: string,
  exclude: readonly string[] = [],
): SqlQuery {
  const v = vectorText(vector);
  if (exclude.length > 0) {
    // Reserved sources (and everything below them) are never candidates, so
    // the iterative scan still fills top_k from what may be shown.
    return sql`WITH nearest AS MATERIALIZED (
        SELECT content, source, chunk_index, embedding <=> ${v}::vector AS distance
        FROM documents
        WHERE (${source ?? null}::text IS NULL OR source = ${source ?? null}::text
            OR starts_with(source, ${source === undefined ? null : `${source}/`}::text))
          AND NOT EXISTS (SELECT 1 FROM unnest(${[...exclude]}::text[]) AS reserved(root)
            WHERE source = reserved.root OR starts_with(source, reserved.root || '/'))
        ORDER BY distance LIMIT ${topK})
      SELECT content, source, chunk_index, 1 - distance AS score
      FROM nearest ORDER BY distance, source, chunk_index`;
  }
  if (source === undefined) {
    return sql`WITH nearest AS MATERIALIZED (
        SELECT content, source, chunk_index, embedding <=> ${v}::vector AS distance
        FROM documents ORDER BY distance LIMIT ${topK})
      SELECT content, source, chunk_index, 1 - distance AS score
      FROM nearest ORDER BY distance, source, chunk_index`;
  }
  return sql`WITH nearest AS MATERIALIZED (
      SELECT content, source, chunk_index, embedding <=> ${v}::vector AS distance
      FROM documents WHERE source = ${source} OR starts_with(source, ${`${source}/`})
      ORDER BY distance LIMIT ${topK})
    SELECT content, source, chunk_index, 1 - distance AS score
    FROM nearest ORDER BY distance, source, chunk_index`;
}
