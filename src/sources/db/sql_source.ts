/**
 * The capability tools depend on to read a SQL database, whichever database
 * is behind it (embedded PGlite or PostgreSQL). Tools never see a driver.
 *
 * SQL reaches a source only as a {@linkcode SqlQuery}: text with `$n`
 * placeholders plus bound values, built by the {@linkcode sql} tagged
 * template, so a value can never become SQL text.
 *
 * @module
 */

/** A parameterized statement: placeholders `$1…$n` and their values. */
export interface SqlQuery {
  readonly text: string;
  readonly values: readonly unknown[];
}

const QUERY_BRAND: unique symbol = Symbol("SqlQuery");

/**
 * Builds a {@linkcode SqlQuery}; every `${value}` becomes a bound parameter.
 *
 * @example A value is bound, never spliced into the text
 * ```ts
 * import { sql } from "./sql_source.ts";
 * import assert from "node:assert/strict";
 *
 * const q = sql`SELECT name FROM customers WHERE id = ${"1; DROP TABLE orders"}`;
 * assert.equal(q.text, "SELECT name FROM customers WHERE id = $1");
 * assert.deepEqual(q.values, ["1; DROP TABLE orders"]);
 * ```
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlQuery {
  let text = strings[0];
  for (let i = 1; i < strings.length; i++) text += `$${i}${strings[i]}`;
  return Object.freeze({ text, values: Object.freeze(values), [QUERY_BRAND]: true });
}

/** Whether `value` was built by {@linkcode sql} (not a look-alike object). */
export function isSqlQuery(value: unknown): value is SqlQuery {
  return typeof value === "object" && value !== null && QUERY_BRAND in value;
}

/** Options for one query. */
export interface QueryOptions {
  /** Aborts the query (the tool's deadline). */
  readonly signal?: AbortSignal;
  /** A stable name for logs and metrics (`db_query_duration_seconds{query_name}`). */
  readonly name?: string;
}

/** Rows of one query. */
export interface SqlResult<R> {
  readonly rows: R[];
}

/** A database the server reads from. Every query runs read-only. */
export interface SqlSource {
  /** What is behind it, for logs and health. */
  readonly kind: "pglite" | "postgres";
  /** Runs one parameterized statement in a read-only transaction. */
  query<R = Record<string, unknown>>(
    query: SqlQuery,
    options?: QueryOptions,
  ): Promise<SqlResult<R>>;
  /** Resolves when the database answers `SELECT 1`. */
  ping(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** What a tool handler holds: the source bound to its call's signal and name. */
export interface SqlClient {
  /** Runs `query` (built with {@linkcode sql}); `name` defaults to the tool's name. */
  query<R = Record<string, unknown>>(query: SqlQuery, name?: string): Promise<R[]>;
}

/** Binds a source to one call. */
export function bindSqlClient(
  source: SqlSource,
  signal: AbortSignal,
  defaultName: string,
): SqlClient {
  return {
    async query<R>(query: SqlQuery, name?: string): Promise<R[]> {
      if (!isSqlQuery(query)) {
        throw new TypeError("SQL must be built with the sql`` tagged template");
      }
      const result = await source.query<R>(query, { signal, name: name ?? defaultName });
      return result.rows;
    },
  };
}
