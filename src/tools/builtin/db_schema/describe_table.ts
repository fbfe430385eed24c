/**
 * `describe_table` (database toolset): one table or view the caller may see
 * — its columns (type, nullability, default, comment), primary key, unique
 * and check constraints, foreign keys both ways, and indexes — in one
 * catalog query. A foreign key is shown only when the table at its other
 * end is visible too, so the description never names a table the caller
 * may not see.
 *
 * @module
 */
import { z } from "zod";
import { namedQuery } from "../../../sources/db/named_query.ts";
import { defineTool, type Tool } from "../../define.ts";
import { ToolError } from "../../errors.ts";
import {
  CatalogName,
  DB_SCHEMA_SCOPE,
  type DbSchemaOptions,
  jsonValue,
  RELATION_KINDS,
  TABLE_NAME_DESCRIPTION,
  visibilityParams,
  VISIBLE_RELATIONS,
} from "./catalog.ts";

const COLUMNS_OF = `(SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.i)
  FROM pg_catalog.unnest(%KEYS%) WITH ORDINALITY AS k(num, i)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = %REL% AND a.attnum = k.num)`;

const DESCRIBE_TABLE = VISIBLE_RELATIONS + `SELECT v.schema, v.name, v.kind,
  pg_catalog.obj_description(v.oid, 'pg_class') AS comment,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', a.attname::text,
      'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
      'nullable', NOT a.attnotnull,
      'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid),
      'comment', pg_catalog.col_description(a.attrelid, a.attnum)) ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', con.conname::text,
      'type', con.contype::text,
      'columns', ${COLUMNS_OF.replace("%KEYS%", "con.conkey").replace("%REL%", "con.conrelid")},
      'definition', pg_catalog.pg_get_constraintdef(con.oid),
      'ref_schema', f.schema,
      'ref_table', f.name,
      'ref_columns', ${
  COLUMNS_OF.replace("%KEYS%", "con.confkey").replace("%REL%", "con.confrelid")
}) ORDER BY con.conname)
    FROM pg_catalog.pg_constraint con
    LEFT JOIN visible f ON f.oid = con.confrelid
    WHERE con.conrelid = v.oid AND con.contype IN ('p', 'u', 'f', 'c')
      AND (con.contype <> 'f' OR f.oid IS NOT NULL)) AS constraints,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', con.conname::text,
      'schema', r.schema,
      'table', r.name,
      'columns', ${COLUMNS_OF.replace("%KEYS%", "con.conkey").replace("%REL%", "con.conrelid")},
      'ref_columns', ${
  COLUMNS_OF.replace("%KEYS%", "con.confkey").replace("%REL%", "con.confrelid")
}) ORDER BY r.schema, r.name, con.conname)
    FROM pg_catalog.pg_constraint con
    JOIN visible r ON r.oid = con.conrelid
    WHERE con.confrelid = v.oid AND con.contype = 'f') AS referenced_by,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', i.relname::text,
      'unique', x.indisunique,
      'primary', x.indisprimary,
      'definition', pg_catalog.pg_get_indexdef(x.indexrelid)) ORDER BY i.relname)
    FROM pg_catalog.pg_index x
    JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = v.oid) AS indexes
FROM visible v
WHERE v.schema = :schema::text AND v.name = :table::text`;

interface ConstraintRow {
  name: string;
  type: "p" | "u" | "f" | "c";
  columns: string[] | null;
  definition: string;
  ref_schema: string | null;
  ref_table: string | null;
  ref_columns: string[] | null;
}

interface ReferenceRow {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  ref_columns: string[];
}

const Column = z.object({
  name: z.string(),
  type: z.string(),
  nullable: z.boolean(),
  default: z.string().nullable(),
  comment: z.string().nullable(),
  /** What the caller sees of it (`SQL_COLUMN_POLICIES`); absent: the value as it is. */
  policy: z.enum(["deny", "mask", "last4", "hash"]).optional(),
});

/**
 * Marks each policed column with its policy, unless the caller holds the
 * lifting scope. A policy without a schema is matched by table name alone:
 * this is information for the model, the source enforces the real thing.
 */
function withPolicies(
  columns: z.output<typeof Column>[],
  schema: string,
  table: string,
  policies: DbSchemaOptions["columnPolicies"],
  scopes: ReadonlySet<string> | undefined,
): z.output<typeof Column>[] {
  if (policies === undefined || policies.columns.length === 0) return columns;
  if (policies.liftedBy !== undefined && scopes?.has(policies.liftedBy)) return columns;
  return columns.map((column) => {
    const policy = policies.columns.find((p) =>
      p.table === table && p.column === column.name && (p.schema ?? schema) === schema
    );
    return policy === undefined ? column : { ...column, policy: policy.kind };
  });
}

/** Builds `describe_table`. */
export function createDescribeTableTool(options: DbSchemaOptions): Tool {
  return defineTool({
    name: "describe_table",
    scopes: [DB_SCHEMA_SCOPE],
    description:
      "Describe one table or view you may query: columns (type, nullable, default, comment, and a policy when you see the column denied, masked or hashed), primary key, unique and check constraints, foreign keys (to and from other visible tables, for joins) and indexes.",
    input: z.strictObject({
      table: CatalogName.describe(TABLE_NAME_DESCRIPTION),
      schema: CatalogName.default("public").describe("Its schema (default public)"),
    }),
    output: z.object({
      schema: z.string(),
      name: z.string(),
      kind: z.string(),
      comment: z.string().nullable(),
      columns: z.array(Column),
      primary_key: z.array(z.string()).nullable(),
      unique: z.array(z.object({ name: z.string(), columns: z.array(z.string()) })),
      checks: z.array(z.object({ name: z.string(), definition: z.string() })),
      foreign_keys: z.array(z.object({
        name: z.string(),
        columns: z.array(z.string()),
        references: z.object({
          schema: z.string(),
          table: z.string(),
          columns: z.array(z.string()),
        }),
      })),
      referenced_by: z.array(z.object({
        name: z.string(),
        schema: z.string(),
        table: z.string(),
        columns: z.array(z.string()),
        references_columns: z.array(z.string()),
      })),
      indexes: z.array(z.object({
        name: z.string(),
        unique: z.boolean(),
        primary: z.boolean(),
        definition: z.string(),
      })),
    }),
    annotations: { title: "Describe a table", readOnlyHint: true, openWorldHint: false },
    async handler({ schema, table }, ctx) {
      const { rows } = await ctx.sql.query<Record<string, unknown>>(
        namedQuery(DESCRIBE_TABLE, { ...visibilityParams(options.allowedTables), schema, table }),
        { maxRows: 1 },
      );
      const row = rows[0];
      if (row === undefined) throw notVisible(schema, table);
      const constraints = jsonValue<ConstraintRow[]>(row.constraints, []);
      const primary = constraints.find((c) => c.type === "p");
      return {
        schema: String(row.schema),
        name: String(row.name),
        kind: RELATION_KINDS[String(row.kind)] ?? String(row.kind),
        comment: (row.comment as string | null) ?? null,
        columns: withPolicies(
          jsonValue<z.output<typeof Column>[]>(row.columns, []),
          String(row.schema),
          String(row.name),
          options.columnPolicies,
          ctx.principal.scopes,
        ),
        primary_key: primary?.columns ?? null,
        unique: constraints.filter((c) => c.type === "u").map((c) => ({
          name: c.name,
          columns: c.columns ?? [],
        })),
        checks: constraints.filter((c) => c.type === "c").map((c) => ({
          name: c.name,
          definition: c.definition,
        })),
        foreign_keys: constraints.filter((c) => c.type === "f").map((c) => ({
          name: c.name,
          columns: c.columns ?? [],
          references: {
            schema: c.ref_schema ?? "",
            table: c.ref_table ?? "",
            columns: c.ref_columns ?? [],
          },
        })),
        referenced_by: jsonValue<ReferenceRow[]>(row.referenced_by, []).map((r) => ({
          name: r.name,
          schema: r.schema,
          table: r.table,
          columns: r.columns,
          references_columns: r.ref_columns,
        })),
        indexes: jsonValue(row.indexes, []),
      };
    },
  });
}

/**
 * The one answer for a table that does not exist, is not allowed or may not
 * be read: the caller cannot tell them apart, so the allow-list does not
 * leak which tables exist.
 */
export function notVisible(schema: string, table: string): ToolError {
  return new ToolError(
    "not_found",
    `Table not found: ${JSON.stringify(schema)}.${
      JSON.stringify(table)
    } does not exist or may not be read (list_tables shows those that may)`,
  );
}
