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
import type { Truncation } from "./result_caps.ts";

export type { Truncation };

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

/**
 * Brands `text` (with `$1…$n` placeholders) and a frozen copy of `values` as
 * a {@linkcode SqlQuery}, the same way {@linkcode sql} does. For query
 * builders in this package that write the placeholders themselves
 * (`named_query.ts`): the text is trusted, so it must never hold a value.
 */
export function makeSqlQuery(text: string, values: readonly unknown[]): SqlQuery {
  return Object.freeze({ text, values: Object.freeze([...values]), [QUERY_BRAND]: true });
}

/** Whether `value` was built by {@linkcode sql} (not a look-alike object). */
export function isSqlQuery(value: unknown): value is SqlQuery {
  return typeof value === "object" && value !== null && QUERY_BRAND in value;
}

/** Options for one query. */
export interface QueryOptions {
  /** Aborts the query (the tool's deadline); the database is told to cancel it. */
  readonly signal?: AbortSignal;
  /**
   * The caller answers its own caller when `signal` aborts (a tool call races
   * its handler against its deadline), so the source need not settle early
   * too: a running statement ends (bounded by the statement timeout) without
   * a race of its own, and a call waiting for a connection keeps its place
   * and, when its turn comes, gives the connection back having sent nothing.
   * Saves two abort listeners and ~2 KB of garbage per statement.
   */
  readonly callerAnswersOnAbort?: boolean;
  /** A stable name for logs and metrics (`db_query_duration_seconds{query_name}`). */
  readonly name?: string;
  /** Lowers the source's statement timeout for this query (the tool's remaining deadline). */
  readonly timeoutMs?: number;
  /** Lower the source's caps for this query. */
  readonly maxRows?: number;
  readonly maxBytes?: number;
  /**
   * Keep the statement prepared on the connection (default true; never for
   * `callerWritten` text). Off for the server's own one-off texts: every
   * distinct prepared text stays cached on each connection.
   */
  readonly prepare?: boolean;
  /**
   * The text was written by the caller (`sql_query`), not by the server's
   * code or its operator. Trusted text runs as one statement on a read-only
   * session; caller-written text runs in a rolled-back read-only transaction
   * with its rows read in batches, and the session is reset
   * (settings, advisory locks, listen channels, cursors, temporary tables)
   * before anyone else gets its connection; a session that cannot be reset
   * is closed.
   */
  readonly callerWritten?: boolean;
  /**
   * The most bytes one row can have because the statement itself refuses
   * larger ones (`sql_query` wraps the caller's text so): rows are then read
   * in batches no larger than the bytes left under the cap allow, however
   * wide the next row turns out to be.
   */
  readonly rowCap?: number;
  /**
   * The verified claims of the end user the call acts for. A source set up
   * with identity settings (row-level security) binds them as
   * transaction-local settings before the statement; others ignore them.
   */
  readonly identity?: Readonly<Record<string, unknown>>;
  /**
   * The caller's scopes. A source with column policies (`masked_source.ts`)
   * lifts them for a caller holding the lifting scope; others ignore them.
   */
  readonly scopes?: ReadonlySet<string>;
}

/** Rows of one query; `truncated` says when and why the caps cut it. */
export interface SqlResult<R> {
  readonly rows: R[];
  readonly truncated?: Truncation;
}

/** What went wrong in the database, in the categories callers act on. */
export type DatabaseErrorKind =
  /** The database cannot be reached or dropped the connection: try again later. */
  | "unavailable"
  /** No pooled connection came free in time. */
  | "busy"
  /** The statement timeout cut the query. */
  | "timeout"
  /** The query tried to write. */
  | "read_only"
  /** The query itself is wrong (syntax, unknown column…). */
  | "query"
  /** A policy of this server (column policies) refused the statement before it ran; the message says why. */
  | "refused";

/** SQLSTATE classes and codes that mean "the database is not there right now". */
const UNAVAILABLE_STATES = /^(08|57P0[1-5]|53300|53400)/;

/**
 * The kind of a failure the database reported with SQLSTATE `code`; both
 * sources use this one mapping, so a tool sees the same kinds on either.
 */
export function databaseErrorKind(code: string, message: string): DatabaseErrorKind {
  if (code === "57014") return "timeout";
  // 0A000 "data-modifying statements in WITH" is how a cursor refuses a write.
  if (code === "25006" || (code === "0A000" && /data-modifying/.test(message))) return "read_only";
  if (UNAVAILABLE_STATES.test(code)) return "unavailable";
  return "query";
}

/**
 * A database failure. `message` is the database's own text: fine for logs and
 * for a caller who wrote the SQL (`sql_query`), not for anyone else.
 */
export class DatabaseError extends Error {
  constructor(
    readonly kind: DatabaseErrorKind,
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DatabaseError";
  }
}

/**
 * A source's connections right now, read at each scrape for
 * `db_pool_connections{state}` and `db_pool_waiting`.
 */
export interface PoolStats {
  /** Connections lent to a query or ping that has not finished. */
  readonly inUse: number;
  /** Open connections nobody is using. */
  readonly idle: number;
  /** Callers waiting for a connection (they stop waiting at their deadline). */
  readonly waiting: number;
}

/** A database the server reads from. Every query runs read-only. */
export interface SqlSource {
  /** What is behind it, for logs and health. */
  readonly kind: "pglite" | "postgres";
  /**
   * Whether a statement still running at its deadline is stopped, not just
   * abandoned (PostgreSQL's `statement_timeout`; the embedded database in its
   * worker). `sql_query`, where the caller writes the SQL, requires it.
   */
  readonly stopsAtDeadline?: boolean;
  /** Runs one parameterized statement read-only; see {@linkcode QueryOptions}. */
  query<R = Record<string, unknown>>(
    query: SqlQuery,
    options?: QueryOptions,
  ): Promise<SqlResult<R>>;
  /** Resolves when the database answers `SELECT 1`. */
  ping(signal?: AbortSignal): Promise<void>;
  /** Its connections now (sources without a pool, such as test doubles, may omit it). */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}
