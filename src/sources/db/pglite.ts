/**
 * PGlite (Postgres compiled to WASM) on the calling thread, and the
 * pre-initialized snapshot that holds the demo data. The server's embedded
 * database runs the same PGlite in a worker instead (`pglite_worker.ts`),
 * where a statement can be stopped at its deadline; this in-thread source
 * serves scripts, tests and the document store.
 *
 * Everything PGlite needs is imported as bytes (its WASM, its file-system
 * bundle, our snapshot), so it is part of the module graph: `deno compile`
 * and `deno bundle` embed it, and the server needs no file read permission.
 * Starting from the snapshot skips initdb (~3.4 s) and seeding; see
 * `scripts/make_demo_snapshot.ts`.
 *
 * @module
 */
import { type Extensions, PGlite } from "@electric-sql/pglite";
import pgliteWasm from "@electric-sql/pglite/pglite.wasm" with { type: "bytes" };
import initdbWasm from "@electric-sql/pglite/initdb.wasm" with { type: "bytes" };
import pgliteData from "@electric-sql/pglite/pglite.data" with { type: "bytes" };
import demoSnapshot from "./demo_snapshot.tar.gz" with { type: "bytes" };
import { runPgliteQuery } from "./pglite_query.ts";
import type { ResultLimits } from "./result_caps.ts";
import {
  type PoolStats,
  type QueryOptions,
  type SqlQuery,
  type SqlResult,
  type SqlSource,
} from "./sql_source.ts";

/** The gzip'd data directory with the demo data, as shipped. */
export const DEMO_SNAPSHOT: Uint8Array<ArrayBuffer> = demoSnapshot;

/**
 * Starts a PGlite instance. With `dataDir` (a tarball from `dumpDataDir`) it
 * starts from that state; without it, it runs initdb into an empty database.
 * With `directory` it keeps its files there (durably) instead of in memory,
 * resuming the database found there or running initdb into it.
 */
export async function startPglite(
  options: {
    dataDir?: Uint8Array<ArrayBuffer>;
    directory?: string;
    extensions?: Extensions;
  } = {},
): Promise<PGlite> {
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
    WebAssembly.compile(pgliteWasm),
    WebAssembly.compile(initdbWasm),
  ]);
  return await PGlite.create({
    pgliteWasmModule,
    initdbWasmModule,
    fsBundle: new Blob([pgliteData]),
    loadDataDir: options.dataDir ? new Blob([options.dataDir]) : undefined,
    dataDir: options.directory,
    extensions: options.extensions,
    // In memory there is nothing to make durable; on disk, commits are.
    relaxedDurability: options.directory === undefined,
  });
}

/** Default caps when none are given (the app passes the configured ones). */
const NO_LIMITS: ResultLimits = { maxRows: 1000, maxBytes: 10 * 1024 * 1024 };

/**
 * Wraps a PGlite instance as a {@linkcode SqlSource}.
 *
 * Its limit: PGlite runs each statement synchronously on the JavaScript
 * thread, so neither `statement_timeout` nor the caller's deadline can
 * interrupt a statement already running (`pg_sleep` or a huge aggregate
 * blocks the process until it ends), and it does not claim
 * `stopsAtDeadline`; `pglite_worker.ts` lifts that limit. Row caps do hold: statements
 * that return rows are read through a cursor, so a cartesian product stops at
 * the cap.
 *
 * Its pool is its one session: `poolStats()` reports it in use while any
 * call runs, idle otherwise (none once closed), and the other calls in
 * flight as waiting, since PGlite runs them one at a time.
 */
export function pgliteSource(db: PGlite, limits: ResultLimits = NO_LIMITS): SqlSource {
  /** Queries and pings started and not yet finished. */
  let calls = 0;

  /** One query in its own read-only transaction, capped. */
  function runQuery<R>(query: SqlQuery, options: QueryOptions): Promise<SqlResult<R>> {
    return runPgliteQuery<R>(db, query, {
      maxRows: Math.min(limits.maxRows, options.maxRows ?? Infinity),
      maxBytes: Math.min(limits.maxBytes, options.maxBytes ?? Infinity),
    }, options.rowCap);
  }

  return {
    kind: "pglite",
    async query<R>(query: SqlQuery, options: QueryOptions = {}): Promise<SqlResult<R>> {
      options.signal?.throwIfAborted();
      calls++;
      try {
        return await runQuery<R>(query, options);
      } finally {
        calls--;
      }
    },
    async ping(signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
      calls++;
      try {
        await db.query("SELECT 1");
      } finally {
        calls--;
      }
    },
    poolStats(): PoolStats {
      const inUse = Math.min(calls, 1);
      return { inUse, idle: db.closed ? 0 : 1 - inUse, waiting: calls - inUse };
    },
    async close(): Promise<void> {
      if (!db.closed) await db.close();
    },
  };
}
