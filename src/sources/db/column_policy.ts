/**
 * The SQL expression that shows a policed column (`SQL_COLUMN_POLICIES`,
 * parsed in `config/column_policies.ts`) as its policy allows.
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
 * import { policyExpression } from "./column_policy.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = { outer: "$1", inner: "$2" };
 * assert.equal(policyExpression('"tax_id"', "deny", keys), undefined);
 * assert.match(policyExpression('"email"', "mask", keys)!, /pg_catalog\.left\("email"::pg_catalog\.text, 1\)/);
 * ```
 *
 * @module
 */

import type { ColumnPolicyKind } from "../../config/column_policies.ts";

export type { ColumnPolicy, ColumnPolicyKind } from "../../config/column_policies.ts";

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
