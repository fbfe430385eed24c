/**
 * Reads what column masking needs from a database's catalog: every relation
 * a statement can name (and whether the search path finds it by its bare
 * name), each policed table's columns in order, and every relation whose
 * rows come from a policed table — views and materialized views over it (at
 * any depth), its inheritance children and partitions, and its parents —
 * which a statement may then not read at all.
 *
 * The same queries run on PostgreSQL and the embedded database.
 *
 * @module
 */
import type { ColumnPolicy } from "./column_policy.ts";
import { type CatalogRelation, type MaskingCatalog, maskingCatalog } from "./column_masking.ts";
import { makeSqlQuery, type SqlSource } from "./sql_source.ts";

const RELATIONS = `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name,
  pg_catalog.pg_table_is_visible(c.oid) AS visible
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')`;

const COLUMNS = `SELECT a.attrelid::int8 AS oid, a.attname AS name
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ANY (pg_catalog.string_to_array($1::text, ',')::oid[])
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`;

const DERIVED = `WITH RECURSIVE policed AS (
  SELECT pg_catalog.unnest(pg_catalog.string_to_array($1::text, ',')::oid[]) AS oid
), down(oid, root) AS (
  SELECT oid, oid FROM policed
  UNION SELECT i.inhrelid, d.root FROM pg_catalog.pg_inherits i JOIN down d ON i.inhparent = d.oid
), up(oid, root) AS (
  SELECT oid, oid FROM policed
  UNION SELECT i.inhparent, u.root FROM pg_catalog.pg_inherits i JOIN up u ON i.inhrelid = u.oid
), reads(oid, root) AS (
  SELECT oid, root FROM down UNION SELECT oid, root FROM up
  UNION SELECT r.ev_class, s.root FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
    JOIN reads s ON d.refobjid = s.oid
  WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
    AND r.ev_class <> s.oid
)
SELECT DISTINCT oid::int8 AS oid, root::int8 AS root FROM reads
WHERE oid NOT IN (SELECT oid FROM policed)`;

interface RelationRow {
  oid: string | number;
  schema: string;
  name: string;
  visible: boolean;
}

/** A policy that names no table or column of the database: the start must stop. */
export class ColumnPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ColumnPolicyError";
  }
}

/**
 * Loads the catalog for `policies` through `source` (unmasked, trusted
 * statements). Throws {@linkcode ColumnPolicyError} when a policy names a
 * table or column the database does not have: a typo must not leave a
 * sensitive column unmasked.
 */
export async function loadMaskingCatalog(
  source: SqlSource,
  policies: readonly ColumnPolicy[],
  signal?: AbortSignal,
  /** Where the policies were written, for messages (`SQL_COLUMN_POLICIES`). */
  setting = "SQL_COLUMN_POLICIES",
): Promise<MaskingCatalog> {
  const options = { signal, maxRows: 1_000_000, maxBytes: 512 * 1024 * 1024, prepare: false };
  const relations = (await source.query<RelationRow>(
    makeSqlQuery(RELATIONS, []),
    { ...options, name: "masking_relations" },
  )).rows;
  const byOid = new Map<string, RelationRow>();
  const qualified = new Map<string, RelationRow>();
  const visible = new Map<string, RelationRow>();
  for (const row of relations) {
    byOid.set(String(row.oid), row);
    qualified.set(`${row.schema}\0${row.name}`, row);
    if (row.visible) visible.set(row.name, row);
  }
  const policed = new Map<string, ColumnPolicy[]>();
  for (const policy of policies) {
    const row = policy.schema === undefined
      ? visible.get(policy.table)
      : qualified.get(`${policy.schema}\0${policy.table}`);
    if (row === undefined) {
      throw new ColumnPolicyError(
        `${setting} names the table "${
          policy.schema === undefined ? "" : `${policy.schema}.`
        }${policy.table}", which the database role cannot see`,
      );
    }
    const key = String(row.oid);
    policed.set(key, [...(policed.get(key) ?? []), policy]);
  }
  const oids = [...policed.keys()].join(",");
  const columns = new Map<string, string[]>();
  const derived = new Map<string, string>();
  if (policed.size > 0) {
    for (
      const row of (await source.query<{ oid: string | number; name: string }>(
        makeSqlQuery(COLUMNS, [oids]),
        { ...options, name: "masking_columns" },
      )).rows
    ) {
      const key = String(row.oid);
      columns.set(key, [...(columns.get(key) ?? []), row.name]);
    }
    for (
      const row of (await source.query<{ oid: string | number; root: string | number }>(
        makeSqlQuery(DERIVED, [oids]),
        { ...options, name: "masking_derived" },
      )).rows
    ) {
      const root = byOid.get(String(row.root));
      if (root !== undefined) derived.set(String(row.oid), `${root.schema}.${root.name}`);
    }
  }
  const out: CatalogRelation[] = [];
  for (const [oid, row] of byOid) {
    const rules = policed.get(oid);
    if (rules !== undefined) {
      const names = columns.get(oid) ?? [];
      for (const rule of rules) {
        if (!names.includes(rule.column)) {
          throw new ColumnPolicyError(
            `${setting} names the column "${rule.column}" of "${row.schema}.${row.name}", ` +
              `which has no such column`,
          );
        }
      }
      out.push({
        schema: row.schema,
        name: row.name,
        visible: row.visible,
        columns: names.map((name) => {
          const kind = rules.find((r) => r.column === name)?.kind;
          return kind === undefined ? { name } : { name, kind };
        }),
      });
    } else {
      const from = derived.get(oid);
      out.push({
        schema: row.schema,
        name: row.name,
        visible: row.visible,
        ...(from === undefined ? {} : { derivedFrom: from }),
      });
    }
  }
  return maskingCatalog(out);
}
