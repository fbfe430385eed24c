/**
 * The statement guard for SQL a caller writes (`sql_query`, `explain_query`):
 * the real PostgreSQL parser, the analyst function allow-list plus the
 * operator's additions, and the table allow-list. Built once at start; an
 * addition that no SQL may call stops the start.
 *
 * @module
 */
import { createPgParser, type PgParser } from "./pg_parser.ts";
import { ANALYST_FUNCTIONS, isDeniedFunction } from "./sql_functions.ts";
import { createStatementGuard, type GuardResult } from "./statement_guard.ts";

/** What the guard allows beyond its built-in rules (`SQL_QUERY_ALLOWED_*`). */
export interface CallerGuardOptions {
  readonly allowedTables: readonly string[];
  readonly allowedFunctions: readonly string[];
}

/**
 * Builds the guard; throws when `allowedFunctions` names a denied function.
 * `parser`: the server's one parser when it already has one (column policies
 * use it too); else one is loaded.
 */
export async function createCallerGuard(
  options: CallerGuardOptions,
  parser?: () => Promise<PgParser>,
): Promise<(sql: string) => GuardResult> {
  const denied = options.allowedFunctions.filter(isDeniedFunction);
  if (denied.length > 0) {
    throw new Error(
      `Cannot start: SQL_QUERY_ALLOWED_FUNCTIONS lists "${
        denied.join('", "')
      }", which no SQL may call (it writes, locks, signals, reads server files or runs SQL text)`,
    );
  }
  return createStatementGuard(await (parser ?? createPgParser)(), {
    allowedTables: options.allowedTables,
    allowedFunctions: new Set([...ANALYST_FUNCTIONS, ...options.allowedFunctions]),
  });
}
