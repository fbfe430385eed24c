/**
 * Column policies (`SQL_COLUMN_POLICIES`): which columns of the server's own
 * database callers may see only masked, hashed, or not at all. Parsed here
 * with the rest of the configuration; applied by `sources/db/masked_source.ts`.
 *
 * @example
 * ```ts
 * import { parseColumnPolicies } from "./column_policies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseColumnPolicies("customers.email=mask, sales.customers.tax_id=deny"), [
 *   { table: "customers", column: "email", kind: "mask" },
 *   { schema: "sales", table: "customers", column: "tax_id", kind: "deny" },
 * ]);
 * assert.throws(() => parseColumnPolicies("customers.email=hide"), /deny, mask, last4 or hash/);
 * ```
 *
 * @module
 */

/** What a caller sees of a policed column. */
export type ColumnPolicyKind = "deny" | "mask" | "last4" | "hash";

/** One policed column; names are as PostgreSQL folds unquoted names (lower case). */
export interface ColumnPolicy {
  /** Absent: the table the database's search path finds. */
  readonly schema?: string;
  readonly table: string;
  readonly column: string;
  readonly kind: ColumnPolicyKind;
}

const KINDS: ReadonlySet<string> = new Set(["deny", "mask", "last4", "hash"]);
/** An unquoted SQL name, as it is folded: what `SQL_QUERY_ALLOWED_TABLES` takes too. */
const NAME = /^[a-z_][a-z0-9_$]{0,62}$/;

/**
 * Parses `[schema.]table.column=policy, …`; throws with a message naming the
 * bad entry. A column named twice is an error: two policies for one column
 * would leave the reader guessing which one holds.
 */
export function parseColumnPolicies(raw: string): ColumnPolicy[] {
  const policies: ColumnPolicy[] = [];
  const seen = new Set<string>();
  for (const entry of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const eq = entry.indexOf("=");
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim().toLowerCase();
    const kind = eq < 0 ? "" : entry.slice(eq + 1).trim().toLowerCase();
    const parts = name.split(".");
    if (parts.length < 2 || parts.length > 3 || !parts.every((p) => NAME.test(p))) {
      throw new Error(
        `"${entry}": expected [schema.]table.column=policy with unquoted SQL names`,
      );
    }
    if (!KINDS.has(kind)) {
      throw new Error(`"${entry}": the policy must be deny, mask, last4 or hash`);
    }
    if (seen.has(name)) throw new Error(`"${name}" has two policies`);
    seen.add(name);
    const [column, table, schema] = parts.reverse();
    policies.push({
      ...(schema === undefined ? {} : { schema }),
      table,
      column,
      kind: kind as ColumnPolicyKind,
    });
  }
  return policies;
}
