/**
 * `kind: sql`: one read-only statement with `:name` parameters, on a
 * `postgres` or `embedded` source or the server's own database. At load the
 * statement is bound to its parameters and judged by the statement guard
 * (the real PostgreSQL parser); a call binds its values and runs what was
 * checked, with the server's row caps and, for a SELECT, a cursor for a
 * truncated result.
 *
 * @module
 */
import { z } from "zod";
import { ResultRows } from "../../result_rows.ts";
import { callerKey } from "../../../auth/principal.ts";
import { namedQuery, QueryTextError } from "../../../sources/db/named_query.ts";
import { DatabaseError, makeSqlQuery } from "../../../sources/db/sql_source.ts";
import type { GuardResult } from "../../../sources/db/statement_guard.ts";
import { defineTool } from "../../define.ts";
import { ToolError } from "../../errors.ts";
import { MAX_CURSOR_LENGTH } from "../../result_cursor.ts";
import { callValues, inputSchema, type ParameterSpec } from "../parameters.ts";
import { COMMON_FIELDS, commonDefinition } from "./common.ts";
import { defineKind } from "./kind.ts";

export const SqlToolSpec = z.strictObject({
  kind: z.literal("sql"),
  /** A source of kind postgres or embedded; default: the server's own database. */
  source: z.string().optional(),
  statement: z.string().trim().min(1).max(100_000),
  max_rows: z.int().min(1).max(1_000_000).optional(),
  ...COMMON_FIELDS,
});
export type SqlToolSpec = z.infer<typeof SqlToolSpec>;

/**
 * A SQL tool's statement, checked once at load: its text with `$n`
 * placeholders (the statement alone, as the guard's parse tree delimits it),
 * what kind of statement it is, and the parameter bound to each `$n`, so a
 * call binds its values without parsing the text again.
 */
export interface CheckedStatement {
  readonly text: string;
  readonly statement: "select" | "explain" | "show";
  /** `order[i]` is the parameter bound to `$(i + 1)`. */
  readonly order: readonly string[];
}

const SqlOutput = z.object({
  rows: ResultRows,
  row_count: z.int(),
  truncated: z.unknown().optional(),
  cursor: z.string().optional(),
});

/** The `sql` tool kind. */
export const sqlKind = defineKind({
  schema: SqlToolSpec,
  sourceKinds: ["postgres", "embedded"],
  check(spec, ctx) {
    const checked = checkStatement(spec.statement, spec.parameters, ctx.guard);
    if (typeof checked !== "string") return checked;
    ctx.problem(["statement"], checked);
    return undefined;
  },
  build(name, spec, checked: CheckedStatement, ctx) {
    // Without a source of its own the tool reads the server's database.
    const sources = ctx.source ?? { sql: ctx.sql };
    const maxRows = Math.min(spec.max_rows ?? Infinity, ctx.config.db.maxRows);
    // A SELECT's truncated result continues with a cursor (result_cursor.ts).
    const pages = checked.statement === "select" ? ctx.cursors : undefined;
    if (pages && "cursor" in spec.parameters) {
      throw new Error(
        `Tool "${name}": a sql tool's parameter may not be named "cursor" (it continues a truncated result)`,
      );
    }
    const input = inputSchema(spec.parameters);
    // The next page re-runs the statement after the rows already returned.
    const paged = `SELECT * FROM (\n${checked.text}\n) AS mcp_page OFFSET $${
      checked.order.length + 1
    }`;
    return defineTool({
      ...commonDefinition(name, spec),
      input: pages
        ? input.extend({
          cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional().describe(
            "The cursor of a truncated result, to get its next page (with the same other arguments).",
          ),
        })
        : input,
      output: SqlOutput,
      annotations: { readOnlyHint: true, openWorldHint: false, ...spec.annotations },
      sources,
      async handler(input, ctx) {
        const { cursor, ...args } = input as Record<string, unknown>;
        // A cursor is bound to the caller (and its end user) and the model's arguments.
        const call = { principal: callerKey(ctx.principal), tool: name, args };
        const offset = pages && typeof cursor === "string" ? await pages.open(cursor, call) : 0;
        const values = callValues(spec.parameters, args, ctx);
        // An optional parameter left out binds SQL NULL.
        const bound = checked.order.map((n) => values[n] ?? null);
        let result;
        try {
          result = await ctx.sql.query(
            offset === 0
              ? makeSqlQuery(checked.text, bound)
              : makeSqlQuery(paged, [...bound, offset]),
            { name, maxRows },
          );
        } catch (error) {
          // SQLSTATE class 22 (data exception: a date that does not exist, a
          // number out of range) comes from a value the caller sent. The
          // database's text may quote table data, so it is not passed on.
          if (error instanceof DatabaseError && error.code?.startsWith("22")) {
            throw new ToolError("invalid_input", "Invalid input: the database refused a value", {
              cause: error,
            });
          }
          throw error;
        }
        const next = pages && result.truncated && result.rows.length > 0
          ? await pages.issue(call, offset + result.rows.length)
          : undefined;
        return {
          rows: result.rows,
          row_count: result.rows.length,
          ...(result.truncated ? { truncated: result.truncated } : {}),
          ...(next !== undefined && { cursor: next }),
        };
      },
    });
  },
});

/** The statement as checked, or why it cannot be a tool. */
function checkStatement(
  statement: string,
  parameters: Readonly<Record<string, ParameterSpec>>,
  guard: (sql: string) => GuardResult,
): CheckedStatement | string {
  let bound;
  try {
    // Placeholders and declared parameters must match one to one; `${x}`,
    // `{x}`, `$1` and a second statement are refused. Each name bound as
    // its own value gives the parameter of each `$n`.
    const names = Object.fromEntries(Object.keys(parameters).map((name) => [name, name]));
    bound = namedQuery(statement, names);
  } catch (error) {
    if (error instanceof QueryTextError) return `statement: ${error.message}`;
    throw error;
  }
  const verdict = guard(bound.text);
  if (!verdict.ok) return `statement refused: ${verdict.reason}`;
  return {
    text: verdict.text,
    statement: verdict.statement,
    order: bound.values as string[],
  };
}
