/**
 * `explain_query` (database toolset): the planner's plan for a caller's
 * `SELECT`, as `EXPLAIN (FORMAT JSON)` — never `ANALYZE`, so the statement
 * is planned, not run. The text passes the same guard as `sql_query` (one
 * `SELECT`, analyst functions only, the table allow-list) and runs on the
 * same read-only layers (a rolled-back transaction, the statement timeout,
 * a session reset): planning folds constant expressions, so it is treated
 * as caller-written SQL.
 *
 * @module
 */
import { z } from "zod";
import { makeSqlQuery } from "../../../sources/db/sql_source.ts";
import { defineTool, type Tool } from "../../define.ts";
import {
  CallerParams,
  callerQueryFailure,
  guardCallerSql,
  MAX_SQL_LENGTH,
  refused,
} from "../caller_sql.ts";
import { DB_SCHEMA_SCOPE, type DbSchemaOptions, jsonValue } from "./catalog.ts";

/** Builds `explain_query`. */
export function createExplainQueryTool(options: DbSchemaOptions): Tool {
  return defineTool({
    name: "explain_query",
    scopes: [DB_SCHEMA_SCOPE],
    description:
      "Show how PostgreSQL would run one read-only SELECT (its plan as JSON: node types, estimated rows and costs, indexes used), without running it. Write the SELECT alone, with :name placeholders and params as for sql_query.",
    input: z.strictObject({
      query: z.string().min(1).max(MAX_SQL_LENGTH).describe(
        "One SELECT (or WITH / VALUES), e.g. SELECT * FROM orders WHERE customer_id = :id",
      ),
      params: CallerParams.describe("Values for the :name placeholders (they shape the plan)."),
    }),
    output: z.object({ plan: z.unknown() }),
    annotations: { title: "Explain a query", readOnlyHint: true, openWorldHint: false },
    async handler({ query, params = {} }, ctx) {
      const { bound, verdict } = guardCallerSql(options.guard, query, params);
      if (verdict.statement !== "select") {
        throw refused("Give one SELECT alone: explain_query adds EXPLAIN itself");
      }
      let result;
      try {
        result = await ctx.sql.query<Record<string, unknown>>(
          makeSqlQuery(`EXPLAIN (FORMAT JSON)\n${verdict.text}\n`, bound.values),
          { maxRows: 1, callerWritten: true },
        );
      } catch (error) {
        throw callerQueryFailure(error);
      }
      const plans = jsonValue<{ Plan: unknown }[]>(
        result.rows[0]?.["QUERY PLAN"],
        [],
      );
      return { plan: plans[0]?.Plan ?? null };
    },
  });
}
