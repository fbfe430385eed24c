/**
 * Column policies (`SQL_COLUMN_POLICIES`): what a caller may see of a
 * sensitive column, and the SQL expression that shows it so.
 *
 * A policy is applied by the database, not to rows after they arrive:
 * `column_masking.ts` puts each policed table behind a subquery that selects
 * these expressions, so a filter, a join, a sort, an error message or a
 * whole-row value (`row_to_json(c)`, `c::text`) only ever sees what the
 * caller is allowed to see.
 *
 * - `deny`: the column is left out; naming it is an unknown column.
 * - `mask`: the first character and `***` (an email keeps its domain:
 *   `j***@example.com`); the length is not shown.
 * - `last4`: `***` and the last four characters (phone, card numbers).
 * - `hash`: a keyed HMAC-SHA256 of the value's text, the same for the same
 *   value under the same key, so hashed columns still join and group.
 *
 * @example
 * ```ts
 * import { parseColumnPolicies } from "./column_policy.ts";
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

/** `"name"`, with embedded quotes doubled: one identifier whatever it holds. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The SQL expression that shows `column` (already quoted) under `kind`, or
 * undefined for `deny`. `hashKeys` are the placeholders of the HMAC's outer
 * and inner padded keys (`$n`), bound as hex text. Every function is
 * schema-qualified, so no function of the same name elsewhere on the search
 * path can stand in for it.
 */
export function policyExpression(
  column: string,
  kind: ColumnPolicyKind,
  hashKeys: { readonly outer: string; readonly inner: string },
): string | undefined {
  const text = `${column}::pg_catalog.text`;
  switch (kind) {
    case "deny":
      return undefined;
    case "mask":
      return `CASE WHEN ${column} IS NULL THEN NULL ` +
        `WHEN pg_catalog.strpos(${text}, '@') > 1 THEN pg_catalog.left(${text}, 1) || '***' || ` +
        `pg_catalog.substr(${text}, pg_catalog.strpos(${text}, '@')) ` +
        `ELSE pg_catalog.left(${text}, 1) || '***' END`;
    case "last4":
      return `CASE WHEN ${column} IS NULL THEN NULL ` +
        `WHEN pg_catalog.length(${text}) <= 4 THEN '***' ` +
        `ELSE '***' || pg_catalog.right(${text}, 4) END`;
    case "hash":
      return `pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(${unhex(hashKeys.outer)} || ` +
        `pg_catalog.sha256(${unhex(hashKeys.inner)} || ` +
        `pg_catalog.convert_to(${text}, 'UTF8'))), 'hex'), 32)`;
  }
}

/** A hex text parameter as bytes: text binds alike on every driver, `bytea` does not. */
function unhex(placeholder: string): string {
  return `pg_catalog.decode(${placeholder}::pg_catalog.text, 'hex')`;
}

/** HMAC-SHA256's block size: a longer key is hashed first, a shorter one padded. */
const BLOCK = 64;

/**
 * The HMAC's padded keys for `secret`, as hex text: HMAC(k, m) = H((k ⊕ opad) ‖ H((k ⊕ ipad) ‖ m)). The
 * database computes the two hashes; the key never appears in SQL text.
 */
export async function hmacPads(
  secret: string | Uint8Array,
): Promise<{ readonly outer: string; readonly inner: string }> {
  let key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (key.length > BLOCK) {
    key = new Uint8Array(await crypto.subtle.digest("SHA-256", key as Uint8Array<ArrayBuffer>));
  }
  const outer = new Uint8Array(BLOCK);
  const inner = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    const k = key[i] ?? 0;
    outer[i] = k ^ 0x5c;
    inner[i] = k ^ 0x36;
  }
  const hex = (bytes: Uint8Array) =>
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return { outer: hex(outer), inner: hex(inner) };
}
