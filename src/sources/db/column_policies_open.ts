/**
 * Puts a SQL source behind column policies and reads its catalog, the same
 * way for the server's own database (`SQL_COLUMN_POLICIES`) and for a tools
 * file's `postgres` source (its `column_policies`): a policy naming no table
 * or column throws `ColumnPolicyError` (the start or the reload stops); a
 * database that cannot be asked yet leaves SQL waiting for it, refused as
 * unavailable, never unmasked.
 *
 * Loaded only when some source has policies.
 *
 * @module
 */
import type { ColumnPolicy } from "../../config/column_policies.ts";
import type { Logger } from "../../observability/logger.ts";
import { maskColumns } from "./masked_source.ts";
import type { PgParser } from "./pg_parser.ts";
import type { SqlSource } from "./sql_source.ts";

import { ColumnPolicyError } from "./masking_catalog.ts";

export { ColumnPolicyError };

/** What {@linkcode openColumnPolicies} needs besides the source. */
export interface ColumnPoliciesOptions {
  readonly columns: readonly ColumnPolicy[];
  readonly liftedBy: string | undefined;
  readonly hashKey: string | Uint8Array;
  /** The parser, shared by every masked source of the server. */
  readonly parser: () => Promise<PgParser>;
  /** Where the policies were written, for messages and logs. */
  readonly setting: string;
  readonly log: Logger;
}

/** `source` behind `options.columns`, its catalog read (or to be read when the database answers). */
export async function openColumnPolicies(
  source: SqlSource,
  options: ColumnPoliciesOptions,
): Promise<SqlSource> {
  const masked = maskColumns(source, {
    policies: options.columns,
    liftedBy: options.liftedBy,
    hashKey: options.hashKey,
    parser: await options.parser(),
    setting: options.setting,
  });
  try {
    await masked.ready();
    options.log.info("column policies applied", {
      setting: options.setting,
      columns: options.columns.length,
      lifted_by: options.liftedBy,
    });
  } catch (error) {
    if (error instanceof ColumnPolicyError) throw error;
    options.log.warn("column policies not read yet: SQL waits for the database", {
      setting: options.setting,
      error: error instanceof Error ? error.message : String(error),
    });
  }
  return masked;
}
