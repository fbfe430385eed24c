/**
 * `list_tables` (database toolset): tables and views the caller may see,
 * with their kind, an estimate of their rows and their comments.
 *
 * The estimate is the planner's (`pg_class.reltuples`, refreshed by
 * `ANALYZE`), or the statistics collector's live-row count for a table
 * never analyzed; `null` for a view. It costs nothing to read, unlike
 * `count(*)`.
 *
 * @module
 */
import { z } from "zod";
import { namedQuery } from "../../../sources/db/named_query.ts";
import { defineTool, type Tool } from "../../define.ts";
import {
  CatalogName,
  DB_SCHEMA_SCOPE,
  type DbSchemaOptions,
  RELATION_KINDS,
  visibilityParams,
  VISIBLE_RELATIONS,
} from "./catalog.ts";

const LIST_TABLES = VISIBLE_RELATIONS + `SELECT v.schema, v.name, v.kind,
  CASE
    WHEN v.kind IN ('v', 'f') THEN NULL
    WHEN c.reltuples >= 0 THEN c.reltuples::float8
    ELSE (SELECT s.n_live_tup::float8 FROM pg_catalog.pg_stat_all_tables s WHERE s.relid = v.oid)
  END AS row_estimate,
  pg_catalog.obj_description(v.oid, 'pg_class') AS comment
FROM visible v
JOIN pg_catalog.pg_class c ON c.oid = v.oid
WHERE :schema::text = '' OR v.schema = :schema::text
ORDER BY v.schema, v.name`;

/** Builds `list_tables`. */
export function createListTablesTool(options: DbSchemaOptions): Tool {
  return defineTool({
    name: "list_tables",
    scopes: [DB_SCHEMA_SCOPE],
    description:
      "List the tables and views you may query (optionally of one schema), with their kind, an estimated row count and their comments. Then call describe_table for columns and keys.",
    input: z.strictObject({
      schema: CatalogName.optional().describe(
        "Only this schema (exactly as list_schemas returns it)",
      ),
    }),
    output: z.object({
      tables: z.array(z.object({
        schema: z.string(),
        name: z.string(),
        kind: z.string(),
        row_estimate: z.number().nullable(),
        comment: z.string().nullable(),
      })),
      truncated: z.boolean(),
    }),
    annotations: { title: "List tables", readOnlyHint: true, openWorldHint: false },
    async handler({ schema }, ctx) {
      const result = await ctx.sql.query<{
        schema: string;
        name: string;
        kind: string;
        row_estimate: number | null;
        comment: string | null;
      }>(
        namedQuery(LIST_TABLES, {
          ...visibilityParams(options.allowedTables),
          schema: schema ?? "",
        }),
        { maxRows: options.maxRows },
      );
      return {
        tables: result.rows.map((row) => ({
          ...row,
          kind: RELATION_KINDS[row.kind] ?? row.kind,
          row_estimate: row.row_estimate === null ? null : Math.round(Number(row.row_estimate)),
        })),
        truncated: result.truncated !== undefined,
      };
    },
  });
}
