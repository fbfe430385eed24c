/**
 * One query on a PGlite instance, the way every embedded source runs it: in
 * its own `READ ONLY` transaction, read through a cursor when it returns
 * rows, capped. Shared by the in-thread source (`pglite.ts`) and the worker
 * that runs the embedded database off the server's thread
 * (`pglite_worker_main.ts`), so this file imports no WASM or data bytes: the
 * worker's bundle is built from it.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { capRows, fetchCount, isRowStatement, type ResultLimits } from "./result_caps.ts";
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
 * Runs `query` on `db` in its own read-only transaction, capped at `limits`.
 * Failures are {@linkcode DatabaseError}s.
 */
export async function runPgliteQuery<R>(
  db: PGlite,
  query: SqlQuery,
  limits: ResultLimits,
): Promise<SqlResult<R>> {
  const values = query.values as unknown[];
  let rows: R[] = [];
  try {
    // PGlite has one session and serializes calls; each query gets its own
    // read-only transaction so no statement can write, whatever it says.
    await db.transaction(async (tx) => {
      await tx.query("SET TRANSACTION READ ONLY");
      if (isRowStatement(query.text)) {
        // deno-lint-ignore sql-safety/no-sql-interpolation -- wraps the caller's parameterized text; its values stay bound
        await tx.query(`DECLARE mcp_rows NO SCROLL CURSOR FOR ${query.text}`, values);
        const fetch = fetchCount(limits.maxRows);
        // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
        rows = (await tx.query<R>(`FETCH FORWARD ${fetch} FROM mcp_rows`)).rows;
      } else {
        rows = (await tx.query<R>(query.text, values)).rows;
      }
    });
  } catch (error) {
    throw classifyPgliteError(error);
  }
  return capRows(rows, limits);
}
