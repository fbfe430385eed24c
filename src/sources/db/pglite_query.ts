/**
 * One query on a PGlite instance, the way every embedded source runs it: in
 * its own `READ ONLY` transaction, rolled back, read through a cursor in
 * batches sized under the caps when it is a query a cursor can hold, capped. Shared by the in-thread source (`pglite.ts`) and the worker
 * that runs the embedded database off the server's thread
 * (`pglite_worker_main.ts`), so this file imports no WASM or data bytes: the
 * worker's bundle is built from it.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { batchSize, type ResultLimits, RowCollector } from "./result_caps.ts";
import { DatabaseError, databaseErrorKind, type SqlQuery, type SqlResult } from "./sql_source.ts";

/**
 * Maps a PGlite failure (it carries the SQLSTATE in `code`) to a
 * {@linkcode DatabaseError}.
 *
 * @example A SQLSTATE decides the kind
 * ```ts
 * import { classifyPgliteError } from "./pglite_query.ts";
 * import assert from "node:assert/strict";
 *
 * const error = Object.assign(new Error("cannot execute DELETE in a read-only transaction"), {
 *   code: "25006",
 * });
 * assert.equal(classifyPgliteError(error).kind, "read_only");
 * assert.equal(classifyPgliteError(new Error("no code")).kind, "query");
 * ```
 */
export function classifyPgliteError(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  // PGlite has no connection to lose: a failure without a SQLSTATE is the query's.
  const kind = typeof code === "string" ? databaseErrorKind(code, message) : "query";
  return new DatabaseError(kind, message, typeof code === "string" ? code : undefined, {
    cause: error,
  });
}

/**
 * Runs `query` on `db` in its own read-only transaction, capped at `limits`,
 * and rolls it back (nothing to commit; functions with side effects are
 * undone). Failures are {@linkcode DatabaseError}s.
 *
 * A statement a cursor can hold (a `SELECT`, `VALUES`, `TABLE`, whatever
 * comments come first) is read in batches from `DECLARE … CURSOR`: whether
 * the database accepts the cursor decides, not a guess from the text. The
 * rest (`SHOW`, `EXPLAIN`: small results) run as they are.
 */
export async function runPgliteQuery<R>(
  db: PGlite,
  query: SqlQuery,
  limits: ResultLimits,
  rowCap?: number,
): Promise<SqlResult<R>> {
  const values = query.values as unknown[];
  const collector = new RowCollector<R>(limits);
  try {
    // PGlite has one session and serializes calls; each query gets its own
    // read-only transaction so no statement can write, whatever it says.
    await db.transaction(async (tx) => {
      await tx.query("SET TRANSACTION READ ONLY");
      await tx.query("SAVEPOINT mcp_cursor");
      let cursor = true;
      try {
        // deno-lint-ignore sql-safety/no-sql-interpolation -- wraps the caller's parameterized text; its values stay bound
        await tx.query(`DECLARE mcp_rows NO SCROLL CURSOR FOR\n${query.text}`, values);
      } catch (error) {
        // 42601: the statement is not one a cursor can hold. Anything else is its own failure.
        if ((error as { code?: unknown })?.code !== "42601") throw error;
        cursor = false;
        await tx.query("ROLLBACK TO SAVEPOINT mcp_cursor");
      }
      if (cursor) {
        for (;;) {
          const want = batchSize(limits, collector, rowCap);
          // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
          const batch = (await tx.query<R>(`FETCH FORWARD ${want} FROM mcp_rows`)).rows;
          if (!batch.every((row) => collector.add(row)) || batch.length < want) break;
        }
      } else {
        for (const row of (await tx.query<R>(query.text, values)).rows) {
          if (!collector.add(row)) break;
        }
      }
      await tx.rollback();
    });
  } catch (error) {
    throw classifyPgliteError(error);
  }
  return collector.truncated
    ? { rows: collector.rows, truncated: collector.truncated }
    : { rows: collector.rows };
}
