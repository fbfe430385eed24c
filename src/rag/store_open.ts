/**
 * Opens the document store: the embedded PGlite with pgvector kept in
 * `RAG_PGLITE_DIR`, or PostgreSQL with pgvector at `RAG_DB_URL`.
 *
 * Two ways in. The server reads through a read-only `SqlSource` (every query
 * in a `READ ONLY` transaction, capped, under the call's deadline), like any
 * tool. The `ingest` command opens a {@linkcode WritableDatabase}: writing is
 * its job, and it is an operator's command, never reachable from a request.
 *
 * The embedded store lives in `<RAG_PGLITE_DIR>/pgdata`, beside a `lock`
 * file. PGlite is one Postgres in one process, so only one process may open
 * the folder at a time: whoever opens it holds an exclusive lock on `lock`
 * (released by the OS if the process dies), and a second opener is refused
 * at once with a message naming the folder, rather than corrupting it.
 * So with the embedded store, stop the server to ingest; PostgreSQL takes
 * ingests while the server runs.
 *
 * @module
 */
import postgres from "postgres";
import type { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { openPostgres } from "../sources/db/postgres.ts";
import { pgliteSource, startPglite } from "../sources/db/pglite.ts";
import type { ResultLimits } from "../sources/db/result_caps.ts";
import type { SqlQuery, SqlSource } from "../sources/db/sql_source.ts";
import {
  type Executor,
  SEARCH_SETTINGS,
  StoreError,
  type WritableDatabase,
} from "./vector_store.ts";

/** Where the documents are. */
export type StoreLocation =
  | { readonly kind: "pglite"; readonly dir: string }
  | { readonly kind: "postgres"; readonly url: string };

/** A PGlite instance in a folder, with the folder's lock held. */
interface LockedPglite {
  readonly db: PGlite;
  close(): Promise<void>;
}

/** Whether the folder holds a database already. */
async function hasDatabase(dir: string): Promise<boolean> {
  try {
    await Deno.stat(`${dir}/pgdata/PG_VERSION`);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Opens the embedded store in `dir`, creating it when `create` is set.
 * Throws a {@linkcode StoreError} when it is missing (and not to be created)
 * or another process holds it.
 */
async function openLockedPglite(dir: string, create: boolean): Promise<LockedPglite> {
  if (!create && !await hasDatabase(dir)) {
    throw new StoreError(
      `The embedded document store "${dir}" (RAG_PGLITE_DIR) holds no documents yet: ` +
        `run \`mcp-tool-server ingest <files or folders>\` (deno task ingest) first`,
    );
  }
  await Deno.mkdir(`${dir}/pgdata`, { recursive: true });
  const lock = await Deno.open(`${dir}/lock`, { read: true, write: true, create: true });
  if (!await lock.tryLock(true)) {
    lock.close();
    throw new StoreError(
      `The embedded document store "${dir}" is in use by another process (a running server or ` +
        `another ingest): stop it first, or keep the documents in PostgreSQL (RAG_DB_URL), ` +
        `which takes ingests while the server runs`,
    );
  }
  let db: PGlite;
  try {
    db = await startPglite({ directory: `${dir}/pgdata`, extensions: { vector } });
    // SEARCH_SETTINGS, for every search on this (single-session) database.
    await db.exec("SET hnsw.ef_search = 100; SET hnsw.iterative_scan = relaxed_order");
  } catch (error) {
    await lock.unlock().catch(() => {});
    lock.close();
    throw error;
  }
  return {
    db,
    async close() {
      try {
        if (!db.closed) await db.close();
      } finally {
        await lock.unlock().catch(() => {});
        lock.close();
      }
    },
  };
}

/**
 * The read side for the server: a read-only `SqlSource` on the store. The
 * embedded store must exist (ingest creates it); its lock is held until
 * `close()`.
 */
export async function openStoreReader(
  location: StoreLocation,
  limits: ResultLimits,
  postgresOptions: {
    poolSize: number;
    queryTimeoutSeconds: number;
    connectTimeoutSeconds: number;
  } = { poolSize: 5, queryTimeoutSeconds: 10, connectTimeoutSeconds: 5 },
): Promise<SqlSource> {
  if (location.kind === "postgres") {
    return openPostgres({
      url: location.url,
      poolSize: postgresOptions.poolSize,
      poolMaxOverflow: 0,
      recycleSeconds: 1800,
      idleTimeoutSeconds: 60,
      connectTimeoutSeconds: postgresOptions.connectTimeoutSeconds,
      queryTimeoutMs: postgresOptions.queryTimeoutSeconds * 1000,
      limits,
      settings: SEARCH_SETTINGS,
    });
  }
  const opened = await openLockedPglite(location.dir, false);
  const source = pgliteSource(opened.db, limits);
  return { ...source, kind: source.kind, close: () => opened.close() };
}

/** Opens the store for writing (the `ingest` command only), creating the embedded one if needed. */
export async function openStoreWriter(location: StoreLocation): Promise<WritableDatabase> {
  if (location.kind === "postgres") {
    const client = postgres(location.url, { max: 1, onnotice: () => {} });
    const run = <R>(on: postgres.Sql | postgres.TransactionSql, query: SqlQuery) =>
      on.unsafe(
        query.text,
        query.values as postgres.ParameterOrJSON<never>[],
      ) as unknown as Promise<
        R[]
      >;
    return {
      kind: "postgres",
      query: <R>(query: SqlQuery) => run<R>(client, query),
      async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
        return await client.begin((tx) =>
          fn({ query: <R>(query: SqlQuery) => run<R>(tx, query) })
        ) as T;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const opened = await openLockedPglite(location.dir, true);
  const { db } = opened;
  const run = async <R>(on: Pick<PGlite, "query">, query: SqlQuery) =>
    (await on.query<R>(query.text, query.values as unknown[])).rows;
  return {
    kind: "pglite",
    query: <R>(query: SqlQuery) => run<R>(db, query),
    transaction: <T>(fn: (tx: Executor) => Promise<T>) =>
      db.transaction((tx) => fn({ query: <R>(query: SqlQuery) => run<R>(tx, query) })),
    async close() {
      // A checkpoint leaves little WAL to replay at the next open.
      if (!db.closed) await db.exec("CHECKPOINT").catch(() => {});
      await opened.close();
    },
  };
}
