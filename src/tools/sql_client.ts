/**
 * The SQL handle a tool handler holds: the source bound to one call's signal,
 * name and deadline, with database failures turned into answers the caller
 * can act on (503/504 retry, 403 read-only). Anything else stays a fault.
 *
 * @module
 */
import {
  DatabaseError,
  isSqlQuery,
  type SqlQuery,
  type SqlResult,
  type SqlSource,
} from "../sources/db/sql_source.ts";
import { ToolError } from "./errors.ts";

/** What `ctx.sql` offers a handler. */
export interface SqlClient {
  /**
   * Runs `query` (built with `sql`…`` or `namedQuery`) in a read-only
   * transaction; `name` (default: the tool's) labels it in logs and metrics.
   * The result carries `truncated` when the row or byte caps cut it.
   */
  query<R = Record<string, unknown>>(query: SqlQuery, name?: string): Promise<SqlResult<R>>;
}

/** Binds `source` to one call. `deadlineAt` is a `performance.now()` time. */
export function bindSqlClient(
  source: SqlSource,
  call: { readonly signal: AbortSignal; readonly name: string; readonly deadlineAt: number },
): SqlClient {
  return {
    async query<R>(query: SqlQuery, name?: string): Promise<SqlResult<R>> {
      if (!isSqlQuery(query)) {
        throw new TypeError("SQL must be built with the sql`` tagged template or namedQuery()");
      }
      try {
        return await source.query<R>(query, {
          signal: call.signal,
          name: name ?? call.name,
          timeoutMs: Math.max(1, call.deadlineAt - performance.now()),
        });
      } catch (error) {
        if (call.signal.aborted || !(error instanceof DatabaseError)) throw error;
        throw toToolError(error);
      }
    },
  };
}

/** The caller's view of a database failure; `query` errors stay faults (500). */
export function toToolError(error: DatabaseError): ToolError | DatabaseError {
  switch (error.kind) {
    case "unavailable":
      return new ToolError("retry", "Database unavailable: try again shortly", { cause: error });
    case "busy":
      return new ToolError("retry", "Database busy: no connection came free in time", {
        cause: error,
      });
    case "timeout":
      return new ToolError("retry", "Query took too long and was cancelled", {
        httpStatus: 504,
        cause: error,
      });
    case "read_only":
      return new ToolError("forbidden", "This server is read-only: the query tried to write", {
        cause: error,
      });
    case "query":
      return error;
  }
}
