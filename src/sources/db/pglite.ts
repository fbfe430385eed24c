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
import type { QueryOptions, SqlQuery, SqlResult, SqlSource } from "./sql_source.ts";

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

/** Wraps a PGlite instance as a {@linkcode SqlSource}. */
export function pgliteSource(db: PGlite): SqlSource {
  return {
    kind: "pglite",
    async query<R>(query: SqlQuery, options: QueryOptions = {}): Promise<SqlResult<R>> {
      options.signal?.throwIfAborted();
      // PGlite has one session and serializes calls; each query gets its own
      // read-only transaction so no statement can write, whatever it says.
      return await db.transaction(async (tx) => {
        await tx.query("SET TRANSACTION READ ONLY");
        const result = await tx.query<R>(query.text, query.values as unknown[]);
        return { rows: result.rows };
      });
    },
    async ping(signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
      await db.query("SELECT 1");
    },
    async close(): Promise<void> {
      if (!db.closed) await db.close();
    },
  };
}

/** The zero-configuration database: PGlite in memory with the demo data. */
export async function openEmbeddedDatabase(): Promise<SqlSource> {
  return pgliteSource(await startPglite({ dataDir: DEMO_SNAPSHOT }));
}
