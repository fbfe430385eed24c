/**
 * `sql_query` (opt-in: `ENABLE_SQL_QUERY_TOOL=true`): lets the model run its
 * own read-only query. The feature most database MCP servers offer, and the
 * one where the best-known ones let writes through; here every layer holds:
 *
 * 1. `:name` parameters are bound, never spliced (`namedQuery`), and the text
 *    may hold only one statement;
 * 2. the real PostgreSQL parser classifies it: one SELECT / VALUES / SHOW /
 *    EXPLAIN (no ANALYZE), no data-modifying CTE, no locking clause, no
 *    transaction control, optionally only allow-listed tables;
 * 3. it runs in a READ ONLY transaction with a statement timeout, on a
 *    session that is itself read-only, with row and byte caps.
 *
 * @module
 */
import { z } from "zod";
import { namedQuery, QueryTextError } from "../../sources/db/named_query.ts";
import { DatabaseError } from "../../sources/db/sql_source.ts";
import type { GuardResult } from "../../sources/db/statement_guard.ts";
import { defineTool, type Tool } from "../define.ts";
import { ToolError } from "../errors.ts";

/** Longest SQL text accepted. */
export const MAX_SQL_LENGTH = 10_000;

const ParamValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

/** Builds the tool around a statement guard (made at start from the parser and config). */
export function createSqlQueryTool(options: {
  readonly guard: (sql: string) => GuardResult;
  readonly maxRows: number;
}): Tool {
  return defineTool({
    name: "sql_query",
    // Caller-written SQL reaches any table the role may read: its own scope,
    // so a key can be given the fixed tools without it.
    scopes: ["sql:query"],
    description:
      "Run one read-only SQL query (PostgreSQL dialect: SELECT, WITH, VALUES, SHOW or EXPLAIN) and get its rows. Bind values with :name placeholders and the params object instead of writing them into the text. Results are capped; truncated says when.",
    input: z.strictObject({
      query: z.string().min(1).max(MAX_SQL_LENGTH).describe(
        "One SQL statement, e.g. SELECT name FROM customers WHERE id = :id",
      ),
      params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/), ParamValue).optional()
        .describe("Values for the :name placeholders."),
      max_rows: z.int().min(1).max(options.maxRows).optional().describe(
        `Most rows to return (at most ${options.maxRows}).`,
      ),
    }),
    output: z.object({
      columns: z.array(z.string()),
      rows: z.array(z.record(z.string(), z.unknown())),
      row_count: z.int(),
      truncated: z.boolean(),
      truncated_reason: z.string().optional(),
    }),
    annotations: { title: "Read-only SQL", readOnlyHint: true, openWorldHint: false },
    async handler({ query, params = {}, max_rows }, ctx) {
      let bound;
      try {
        bound = namedQuery(query, params);
      } catch (error) {
        if (error instanceof QueryTextError) throw refused(error.message);
        throw error;
      }
      const verdict = options.guard(bound.text);
      if (!verdict.ok) throw refused(verdict.reason);
      let result;
      try {
        result = await ctx.sql.query(bound, { maxRows: max_rows, prepare: false });
      } catch (error) {
        // The caller wrote this SQL: the database's own complaint is the useful answer.
        if (error instanceof DatabaseError && error.kind === "query") {
          throw refused(`Query failed: ${error.message}`);
        }
        throw error;
      }
      const rows = result.rows;
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
      };
    },
  });
}

function refused(reason: string): ToolError {
  return new ToolError("invalid_input", `Query refused: ${reason}`);
}
