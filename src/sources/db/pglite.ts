/**
 * The embedded default database: PGlite (Postgres compiled to WASM) in
 * memory, started from a pre-initialized snapshot that already holds the
 * demo data.
 *
 * Everything PGlite needs is imported as bytes (its WASM, its file-system
 * bundle, our snapshot), so it is part of the module graph: `deno compile`
 * and `deno bundle` embed it, and the server needs no file read permission.
 * Starting from the snapshot skips initdb (~3.4 s) and seeding; see
 * `scripts/make_demo_snapshot.ts`.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import pgliteWasm from "@electric-sql/pglite/pglite.wasm" with { type: "bytes" };
import initdbWasm from "@electric-sql/pglite/initdb.wasm" with { type: "bytes" };
import pgliteData from "@electric-sql/pglite/pglite.data" with { type: "bytes" };
import demoSnapshot from "./demo_snapshot.tar.gz" with { type: "bytes" };
import { fetchCount, isRowStatement, type ResultLimits, RowCollector } from "./result_caps.ts";
import {
  DatabaseError,
  databaseErrorKind,
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
 */
export async function startPglite(
  options: { dataDir?: Uint8Array<ArrayBuffer> } = {},
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
    // In memory: there is nothing to make durable.
    relaxedDurability: true,
  });
}

/** Default caps when none are given (the app passes the configured ones). */
const NO_LIMITS: ResultLimits = { maxRows: 1000, maxBytes: 10 * 1024 * 1024 };

/** Maps a PGlite failure (it carries the SQLSTATE in `code`) to a {@linkcode DatabaseError}. */
function classifyPgliteError(error: unknown): DatabaseError {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  // PGlite has no connection to lose: a failure without a SQLSTATE is the query's.
  const kind = typeof code === "string" ? databaseErrorKind(code, message) : "query";
  return new DatabaseError(kind, message, typeof code === "string" ? code : undefined, {
    cause: error,
  });
}

/**
 * Wraps a PGlite instance as a {@linkcode SqlSource}.
 *
 * Limits of the embedded database: PGlite runs each statement synchronously
 * on the JavaScript thread, so neither `statement_timeout` nor the caller's
 * deadline can interrupt a statement already running (`pg_sleep` or a huge
 * aggregate blocks the process until it ends). Row caps do hold: statements
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
  async function runQuery<R>(query: SqlQuery, options: QueryOptions): Promise<SqlResult<R>> {
    const collector = new RowCollector<R>({
      maxRows: Math.min(limits.maxRows, options.maxRows ?? Infinity),
      maxBytes: Math.min(limits.maxBytes, options.maxBytes ?? Infinity),
    });
    const values = query.values as unknown[];
    try {
      // PGlite has one session and serializes calls; each query gets its own
      // read-only transaction so no statement can write, whatever it says.
      await db.transaction(async (tx) => {
        await tx.query("SET TRANSACTION READ ONLY");
        let rows: R[];
        if (isRowStatement(query.text)) {
          // deno-lint-ignore sql-safety/no-sql-interpolation -- wraps the caller's parameterized text; its values stay bound
          await tx.query(`DECLARE mcp_rows NO SCROLL CURSOR FOR ${query.text}`, values);
          const fetch = fetchCount(collector.limits.maxRows);
          // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
          rows = (await tx.query<R>(`FETCH FORWARD ${fetch} FROM mcp_rows`)).rows;
        } else {
          rows = (await tx.query<R>(query.text, values)).rows;
        }
        for (const row of rows) if (!collector.add(row)) break;
      });
    } catch (error) {
      throw classifyPgliteError(error);
    }
    return collector.truncated
      ? { rows: collector.rows, truncated: collector.truncated }
      : { rows: collector.rows };
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

/** The zero-configuration database: PGlite in memory with the demo data. */
export async function openEmbeddedDatabase(limits?: ResultLimits): Promise<SqlSource> {
  return pgliteSource(await startPglite({ dataDir: DEMO_SNAPSHOT }), limits);
}
