/**
 * What the database toolset shares: the relations a caller may see, as one
 * catalog CTE every tool's query starts with. A relation is visible when the
 * server's role may `SELECT` it (`has_table_privilege`) and use its schema,
 * it is not in a system schema, and — when `SQL_QUERY_ALLOWED_TABLES` is set
 * — the allow-list names it, with the statement guard's rule: a bare entry
 * stands for the `public` table, a qualified one for itself only.
 *
 * Every value reaches the catalog bound (`:name` placeholders): a table name
 * the model sends is compared, never spliced.
 *
 * @example An allow-list becomes three bound values
 * ```ts
 * import { visibilityParams } from "./catalog.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(visibilityParams(["orders", "sales.leads"]), {
 *   unrestricted: "no",
 *   qualified: "sales.leads",
 *   bare: "orders",
 * });
 * assert.equal(visibilityParams([]).unrestricted, "yes");
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { ColumnPolicy } from "../../../sources/db/column_policy.ts";
import type { GuardResult } from "../../../sources/db/statement_guard.ts";

/** What every tool of the set is built with. */
export interface DbSchemaOptions {
  /** The caller-SQL guard `sql_query` uses (function and table allow-lists). */
  readonly guard: (sql: string) => GuardResult;
  /** `SQL_QUERY_ALLOWED_TABLES` (lower-cased); empty: whatever the role may read. */
  readonly allowedTables: readonly string[];
  readonly maxRows: number;
  /** The result byte cap; one sampled row may have a sixteenth of it. */
  readonly maxBytes: number;
  /**
   * `SQL_COLUMN_POLICIES`, so `describe_table` can say what a caller will see
   * of each column (the source enforces them; this only informs).
   */
  readonly columnPolicies?: {
    readonly columns: readonly ColumnPolicy[];
    readonly liftedBy: string | undefined;
  };
}

/** The toolset's scope: a key needs it for every tool of the set. */
export const DB_SCHEMA_SCOPE = "db:schema";

/**
 * The `visible` CTE. Its placeholders `:unrestricted`, `:qualified` and
 * `:bare` come from {@linkcode visibilityParams}. Casts to `text` keep the
 * comparison the same on every engine (`name` vs `text`).
 */
export const VISIBLE_RELATIONS = `WITH visible AS (
  SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname::text <> 'information_schema'
    AND n.nspname::text NOT LIKE 'pg\\_%'
    AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
    AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
    AND (
      :unrestricted::text = 'yes'
      OR (n.nspname::text || '.' || c.relname::text)
        = ANY (pg_catalog.string_to_array(:qualified::text, ','))
      OR (n.nspname::text = 'public'
        AND c.relname::text = ANY (pg_catalog.string_to_array(:bare::text, ',')))
    )
)
`;

/** The bound values {@linkcode VISIBLE_RELATIONS} needs for `allowedTables`. */
export function visibilityParams(
  allowedTables: readonly string[],
): { unrestricted: string; qualified: string; bare: string } {
  const entries = allowedTables.map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
  return {
    unrestricted: entries.length === 0 ? "yes" : "no",
    qualified: entries.filter((t) => t.includes(".")).join(","),
    bare: entries.filter((t) => !t.includes(".")).join(","),
  };
}

/** `relkind` → the word a caller reads. */
export const RELATION_KINDS: Readonly<Record<string, string>> = {
  r: "table",
  p: "partitioned_table",
  v: "view",
  m: "materialized_view",
  f: "foreign_table",
};

/** A JSON column as the driver gave it (parsed by postgres.js, perhaps text elsewhere). */
export function jsonValue<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/** `name` as a quoted SQL identifier (`"` doubled), for a name read from the catalog. */
export { quoteIdent } from "../../../sources/db/column_policy.ts";

/**
 * A schema or relation name as input: the catalog's exact spelling (63
 * bytes at most in PostgreSQL; a NUL can never be part of one).
 */
export const CatalogName = z.string().min(1).max(63).regex(
  // deno-lint-ignore no-control-regex -- a NUL is what it refuses
  /^[^\u0000]+$/,
  "must not contain a NUL character",
);

/** Input fields naming one relation, exactly as the catalog spells it. */
export const TABLE_NAME_DESCRIPTION =
  "Table or view name exactly as list_tables returns it (case-sensitive, not quoted)";
