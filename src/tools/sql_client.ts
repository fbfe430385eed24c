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
  type Truncation,
} from "../sources/db/sql_source.ts";
import { ToolError } from "./errors.ts";

/** Per-query options a handler may pass. */
export interface SqlClientOptions {
  /** Labels the query in logs and metrics (default: the tool's name). */
  readonly name?: string;
  /** Lower the configured row and byte caps for this query. */
  readonly maxRows?: number;
  readonly maxBytes?: number;
  /**
   * True when the caller wrote the SQL text (as in `sql_query`): it is rolled
   * back, never kept prepared, and the session reset after it (see
   * `QueryOptions.callerWritten`).
   */
  readonly callerWritten?: boolean;
  /** The most bytes one row can have, when the statement itself refuses wider rows. */
  readonly rowCap?: number;
}

/** What `ctx.sql` offers a handler. */
export interface SqlClient {
  /**
   * Runs `query` (built with `sql`…`` or `namedQuery`) in a read-only
   * transaction under the call's deadline. The result carries `truncated`
   * when the row or byte caps cut it.
   */
  query<R = Record<string, unknown>>(
    query: SqlQuery,
    options?: SqlClientOptions,
  ): Promise<SqlResult<R>>;
}

/** Binds `source` to one call. `deadlineAt` is a `performance.now()` time. */
export function bindSqlClient(
  source: SqlSource,
  call: {
    readonly signal: AbortSignal;
    readonly name: string;
    readonly deadlineAt: number;
    /** Records each query's duration by name (`db_query_duration_seconds`). */
    readonly observe?: (queryName: string, seconds: number) => void;
    /** Told the size of each successful result (the tool span's row counts). */
    readonly onResult?: (rows: number, truncated: Truncation | undefined) => void;
    /** The caller's verified claims (row-level security); a handler cannot replace them. */
    readonly identity?: Readonly<Record<string, unknown>>;
    /** The caller's scopes (column policies lifted by scope); a handler cannot replace them. */
    readonly scopes?: ReadonlySet<string>;
  },
): SqlClient {
  return {
    async query<R>(query: SqlQuery, options: SqlClientOptions = {}): Promise<SqlResult<R>> {
      if (!isSqlQuery(query)) {
        throw new TypeError("SQL must be built with the sql`` tagged template or namedQuery()");
      }
      const name = options.name ?? call.name;
      const started = performance.now();
      try {
        const result = await source.query<R>(query, {
          ...options,
          signal: call.signal,
          // invokeTool races the handler against this signal.
          callerAnswersOnAbort: true,
          name,
          timeoutMs: Math.max(1, call.deadlineAt - performance.now()),
          identity: call.identity,
          scopes: call.scopes,
        });
        call.onResult?.(result.rows.length, result.truncated);
        return result;
      } catch (error) {
        if (call.signal.aborted || !(error instanceof DatabaseError)) throw error;
        throw toToolError(error);
      } finally {
        call.observe?.(name, (performance.now() - started) / 1000);
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
    case "refused":
      return new ToolError("forbidden", error.message, { cause: error });
    case "query":
      return error;
  }
}
