/**
 * RAG in the server (`ENABLE_RAG=true`): opens the embedding model and the document store (read-only), checks that
 * the store's vectors come from the same model, and builds
 * `search_documents`. The app loads this module only when RAG is on, through
 * `load.ts`, which first checks the RAG permission profile.
 *
 * @module
 */
import type { Config } from "../config/env.ts";
import { redactUrl } from "../config/redact.ts";
import type { Logger } from "../observability/logger.ts";
import type { SqlSource } from "../sources/db/sql_source.ts";
import type { Tool } from "../tools/define.ts";
import { type Embedder, EmbedderError, openLocalEmbedder } from "./embedder.ts";
import { missingRagPermissions, permissionError } from "./permissions.ts";
import {
  createSearchDocumentsTool,
  type DocumentReader,
  searchDocuments,
  type SearchHit,
  type SearchRequest,
} from "./search_documents.ts";
import { openStoreReader, type StoreLocation } from "./store_open.ts";
import { countChunks, mismatch, readMeta, StoreError } from "./vector_store.ts";

/** RAG as the server holds it. */
export interface RagService {
  readonly tool: Tool;
  /** A search over the store through `reader` (a tool's `ctx.sql`), for other tools (tools-file vector_search). */
  search(reader: DocumentReader, request: SearchRequest): Promise<{ results: SearchHit[] }>;
  readonly embedder: Embedder;
  readonly store: SqlSource;
  close(): Promise<void>;
}

/** Where the config puts the documents. */
export function storeLocation(config: Config): StoreLocation {
  return config.rag.dbUrl === undefined
    ? { kind: "pglite", dir: config.rag.pgliteDir }
    : { kind: "postgres", url: config.rag.dbUrl };
}

/** Checks the permission profile; throws the message to print when a grant is missing. */
export async function assertRagPermissions(config: Config, what: string): Promise<void> {
  const missing = await missingRagPermissions({
    modelDir: config.rag.modelDir,
    allowDownload: config.rag.allowDownload,
    pgliteDir: config.rag.dbUrl === undefined ? config.rag.pgliteDir : undefined,
  });
  if (missing.length > 0) throw permissionError(what, missing);
}

/**
 * Opens RAG for the server. Throws an `Error` whose message starts with
 * "Cannot start:" and says what to do.
 */
export async function openRag(
  config: Config,
  log: Logger,
  /** Sources `search_documents` must not return (the tools file's vector_search `documents:`). */
  reserved?: () => readonly string[],
): Promise<RagService> {
  const fail = (error: unknown): never => {
    const known = error instanceof EmbedderError || error instanceof StoreError;
    const message = (error as Error).message;
    throw new Error(
      `Cannot start: ENABLE_RAG=true: ${known ? message : `RAG failed to open: ${message}`}`,
      { cause: error },
    );
  };
  const location = storeLocation(config);
  let embedder: Embedder | undefined;
  let store: SqlSource | undefined;
  try {
    embedder = await openLocalEmbedder({
      modelDir: config.rag.modelDir,
      allowDownload: config.rag.allowDownload,
      model: config.rag.model,
    });
    store = await openStoreReader(
      location,
      { maxRows: 50, maxBytes: config.db.maxResultBytes },
      {
        poolSize: config.db.poolSize,
        queryTimeoutSeconds: config.db.queryTimeoutSeconds,
        connectTimeoutSeconds: config.db.connectTimeoutSeconds,
      },
    );
    const reader = {
      query: async <R>(q: Parameters<SqlSource["query"]>[0]) => (await store!.query<R>(q)).rows,
    };
    const meta = await readMeta(reader);
    if (!meta) {
      throw new StoreError(
        `The document store (${describe(location)}) holds no documents yet: run ` +
          `\`mcp-tool-server ingest <files or folders>\` (deno task ingest) first`,
      );
    }
    const problem = mismatch(meta, { model: embedder.model, dimension: embedder.dimension });
    if (problem) throw new StoreError(problem);
    const chunks = await countChunks(reader);
    log.info("RAG enabled: search_documents serves the document store", {
      model: embedder.model,
      dimension: embedder.dimension,
      store: describe(location),
      chunks,
    });
  } catch (error) {
    await store?.close().catch(() => {});
    await embedder?.close().catch(() => {});
    return fail(error);
  }
  const ready = { embedder, store };
  return {
    tool: createSearchDocumentsTool({ store: ready.store, embedder: ready.embedder, reserved }),
    search: (reader, request) => searchDocuments(reader, ready.embedder, request),
    embedder: ready.embedder,
    store: ready.store,
    async close() {
      await ready.store.close();
      await ready.embedder.close();
    },
  };
}

function describe(location: StoreLocation): string {
  return location.kind === "pglite"
    ? `embedded, RAG_PGLITE_DIR "${location.dir}"`
    : `PostgreSQL ${redactUrl(location.url)}`;
}
