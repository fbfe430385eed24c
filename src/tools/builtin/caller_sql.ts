/**
 * What every tool that takes SQL from the caller (`sql_query`,
 * `explain_query`) does the same way: the `params` schema, binding the
 * `:name` placeholders, the statement guard's verdict, and the refusals a
 * caller can act on (400 `invalid_input`, "Query refused: …").
 *
 * @example A second statement is refused before anything runs
 * ```ts
 * import { guardCallerSql } from "./caller_sql.ts";
 * import { createStatementGuard } from "../../sources/db/statement_guard.ts";
 * import { createPgParser } from "../../sources/db/pg_parser.ts";
 * import assert from "node:assert/strict";
 *
 * const guard = createStatementGuard(await createPgParser());
 * assert.throws(() => guardCallerSql(guard, "SELECT 1; DELETE FROM t", {}), /Query refused/);
 * assert.equal(guardCallerSql(guard, "SELECT :n::int", { n: 1 }).verdict.statement, "select");
 * ```
 *
 * @module
 */
import { z } from "zod";
import { namedQuery, QueryTextError } from "../../sources/db/named_query.ts";
import { DatabaseError, type SqlQuery } from "../../sources/db/sql_source.ts";
import type { GuardResult } from "../../sources/db/statement_guard.ts";
import { ToolError } from "../errors.ts";

/** Longest SQL text accepted. */
export const MAX_SQL_LENGTH = 10_000;

const ParamValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

/** The `params` a caller binds to its `:name` placeholders. */
export const CallerParams = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/), ParamValue)
  .optional();

/** A caller's mistake in its SQL: 400 `invalid_input`, the reason shown. */
export function refused(reason: string): ToolError {
  return new ToolError("invalid_input", `Query refused: ${reason}`);
}

/** `query` with `params` bound, and the guard's verdict on it; refused unless it is allowed. */
export function guardCallerSql(
  guard: (sql: string) => GuardResult,
  query: string,
  params: Readonly<Record<string, unknown>>,
): { readonly bound: SqlQuery; readonly verdict: Extract<GuardResult, { ok: true }> } {
  let bound;
  try {
    bound = namedQuery(query, params);
  } catch (error) {
    if (error instanceof QueryTextError) throw refused(error.message);
    throw error;
  }
  const verdict = guard(bound.text);
  if (!verdict.ok) throw refused(verdict.reason);
  return { bound, verdict };
}

/**
 * A failure of the caller's own SQL as the answer it can act on: the
 * database's complaint about the query (the caller wrote it, so its text is
 * the useful answer); anything else passes through unchanged.
 */
export function callerQueryFailure(error: unknown): unknown {
  return error instanceof DatabaseError && error.kind === "query"
    ? refused(`Query failed: ${error.message}`)
    : error;
}
