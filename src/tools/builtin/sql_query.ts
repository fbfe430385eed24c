/**
 * `sql_query` (opt-in: `ENABLE_SQL_QUERY_TOOL=true`): lets the model run its
 * own read-only query. The feature most database MCP servers offer, and the
 * one where the best-known ones let writes through; here every layer holds:
 *
 * 1. `:name` parameters are bound, never spliced (`namedQuery`), and the text
 *    may hold only one statement;
 * 2. the real PostgreSQL parser classifies it: one SELECT / VALUES / SHOW /
 *    EXPLAIN (no ANALYZE), no data-modifying CTE, no locking clause, no
 *    transaction control, only analyst functions (no locks, large objects,
 *    notifications, settings, server files or SQL run from text),
 *    optionally only allow-listed tables;
 * 3. it runs in a READ ONLY transaction that is rolled back, with a statement
 *    timeout, on a session that is itself read-only and is reset after the
 *    call; rows come in batches that stop at the row and byte caps, and the
 *    database refuses any one row wider than a sixteenth of the byte cap,
 *    so a call holds at most about twice the byte cap.
 *
 * A truncated `SELECT` result carries a `cursor`; the same call with it
 * returns the next page (see `result_cursor.ts`: signed, bound to the key,
 * the tool and the arguments, re-run with an offset).
 *
 * @module
 */
import { callerKey } from "../../auth/principal.ts";
import { z } from "zod";
import { ResultRows } from "../result_rows.ts";
import { DatabaseError, makeSqlQuery } from "../../sources/db/sql_source.ts";
import type { GuardResult } from "../../sources/db/statement_guard.ts";
import { defineTool, type Tool } from "../define.ts";
import {
  CallerParams,
  callerQueryFailure,
  guardCallerSql,
  MAX_SQL_LENGTH,
  refused,
} from "./caller_sql.ts";
import { type CursorCodec, MAX_CURSOR_LENGTH } from "../result_cursor.ts";

export { MAX_SQL_LENGTH } from "./caller_sql.ts";

/** Builds the tool around a statement guard (made at start from the parser and config). */
export function createSqlQueryTool(options: {
  readonly guard: (sql: string) => GuardResult;
  readonly maxRows: number;
  /** The result's byte cap (`MAX_RESULT_BYTES`); one row may have a sixteenth of it. */
  readonly maxBytes: number;
  /** Issues and opens the cursors of truncated results; without it, results do not continue. */
  readonly cursors?: CursorCodec;
}): Tool {
  const rowCap = Math.max(1024, Math.floor(options.maxBytes / ROW_CAP_SHARE));
  return defineTool({
    name: "sql_query",
    // Caller-written SQL reaches any table the role may read: its own scope,
    // so a key can be given the fixed tools without it.
    scopes: ["sql:query"],
    description:
      "Run one read-only SQL query (PostgreSQL dialect: SELECT, WITH, VALUES, SHOW or EXPLAIN) and get its rows. Bind values with :name placeholders and the params object instead of writing them into the text. Results are capped; truncated says when, and cursor (when given) fetches the next page: call again with the same arguments plus cursor. Use ORDER BY on a unique key for stable pages.",
    input: z.strictObject({
      query: z.string().min(1).max(MAX_SQL_LENGTH).describe(
        "One SQL statement, e.g. SELECT name FROM customers WHERE id = :id",
      ),
      params: CallerParams.describe("Values for the :name placeholders."),
      max_rows: z.int().min(1).max(options.maxRows).optional().describe(
        `Most rows to return (at most ${options.maxRows}).`,
      ),
      cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional().describe(
        "The cursor of a truncated result, to get its next page (with the same other arguments).",
      ),
    }),
    output: z.object({
      columns: z.array(z.string()),
      rows: ResultRows,
      row_count: z.int(),
      truncated: z.boolean(),
      truncated_reason: z.string().optional(),
      cursor: z.string().optional(),
    }),
    annotations: { title: "Read-only SQL", readOnlyHint: true, openWorldHint: false },
    async handler({ query, params = {}, max_rows, cursor }, ctx) {
      const call = {
        // Bound to the end user too: one user's cursor never pages for another.
        principal: callerKey(ctx.principal),
        tool: "sql_query",
        args: { query, params, max_rows: max_rows ?? null },
      };
      const { bound, verdict } = guardCallerSql(options.guard, query, params);
      const select = verdict.statement === "select";
      if (cursor !== undefined && (!select || !options.cursors)) {
        throw refused("Only a SELECT's truncated result has a cursor");
      }
      const offset = cursor === undefined ? 0 : await options.cursors!.open(cursor, call);
      // The next page: the rows after those already returned (bound, after the caller's values).
      const text = offset === 0
        ? capRowWidth(verdict.text, rowCap)
        : `${capRowWidth(verdict.text, rowCap)}\nOFFSET $${bound.values.length + 1}`;
      let result;
      try {
        result = await ctx.sql.query(
          select
            ? makeSqlQuery(text, offset === 0 ? bound.values : [...bound.values, offset])
            : bound,
          {
            maxRows: max_rows,
            callerWritten: true,
            ...(select && { rowCap }),
          },
        );
      } catch (error) {
        if (error instanceof DatabaseError && error.message.includes(ROW_TOO_WIDE)) {
          throw refused(`A row is wider than ${rowCap} bytes; select fewer or shorter columns`);
        }
        throw callerQueryFailure(error);
      }
      const rows = result.rows;
      const next = result.truncated && select && options.cursors && rows.length > 0
        ? await options.cursors.issue(call, offset + rows.length)
        : undefined;
      return {
        columns: rows.length > 0 ? Object.keys(rows[0]) : [],
        rows,
        row_count: rows.length,
        truncated: result.truncated !== undefined,
        ...(result.truncated && {
          truncated_reason: result.truncated.reason === "max_rows"
            ? `Stopped at ${result.truncated.limit} rows`
            : `Stopped at ${result.truncated.limit} bytes`,
        }),
        ...(next !== undefined && { cursor: next }),
      };
    },
  });
}

/** One row may be this fraction of the byte cap, so a batch sized from it stays near the cap. */
export const ROW_CAP_SHARE = 16;

/** Marks the database's refusal of a row wider than the cap (its text names the value cast). */
export const ROW_TOO_WIDE = "mcp:row_too_wide:";

/**
 * The caller's statement (the guard's `text`, one `SELECT`) wrapped so the
 * database itself refuses a row whose text is wider than `rowCap` bytes,
 * before sending it: without this, one `repeat('x', 1e9)` would be read
 * whole into the server's memory before any cap could look at it. The cast
 * fails only for such a row (its operand is not a constant, so the planner
 * cannot fold it early). `ROW(mcp_q.*)` names the subquery's columns, never a
 * column the caller called `mcp_q`; the newlines end a trailing `--` comment.
 */
export function capRowWidth(text: string, rowCap: number): string {
  const width = "pg_catalog.octet_length(ROW(mcp_q.*)::text)";
  return `SELECT mcp_q.* FROM (\n${text}\n) AS mcp_q WHERE CASE WHEN ${width} <= ${
    Math.floor(rowCap)
  } THEN true ELSE ('${ROW_TOO_WIDE}' || ${width})::int IS NULL END`;
}
