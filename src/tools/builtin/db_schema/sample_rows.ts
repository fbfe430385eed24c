/**
 * `sample_rows` (database toolset): the first few rows of a table or view
 * the caller may see, read like `sql_query` reads them: a rolled-back
 * read-only transaction, rows in batches under the row and byte caps, and
 * any row wider than its share of the byte cap refused by the database
 * before it is sent.
 *
 * The relation is first found in the catalog with its name bound; the
 * statement then names it with the catalog's own spelling, quoted, so a
 * name holding quotes, dots or SQL stays one identifier.
 *
 * @module
 */
import { z } from "zod";
import { ResultRows } from "../../result_rows.ts";
import { namedQuery } from "../../../sources/db/named_query.ts";
import { DatabaseError, makeSqlQuery } from "../../../sources/db/sql_source.ts";
import { defineTool, type Tool } from "../../define.ts";
import { ToolError } from "../../errors.ts";
import { capRowWidth, ROW_CAP_SHARE, ROW_TOO_WIDE } from "../sql_query.ts";
import {
  CatalogName,
  DB_SCHEMA_SCOPE,
  type DbSchemaOptions,
  quoteIdent,
  TABLE_NAME_DESCRIPTION,
  visibilityParams,
  VISIBLE_RELATIONS,
} from "./catalog.ts";
import { notVisible } from "./describe_table.ts";

/** Most rows one call may ask for. */
export const MAX_SAMPLE_ROWS = 50;

const FIND_RELATION = VISIBLE_RELATIONS + `SELECT v.schema, v.name FROM visible v
WHERE v.schema = :schema::text AND v.name = :table::text`;

/** Builds `sample_rows`. */
export function createSampleRowsTool(options: DbSchemaOptions): Tool {
  const rowCap = Math.max(1024, Math.floor(options.maxBytes / ROW_CAP_SHARE));
  const most = Math.min(MAX_SAMPLE_ROWS, options.maxRows);
  return defineTool({
    name: "sample_rows",
    scopes: [DB_SCHEMA_SCOPE],
    description:
      "Show a few rows of a table or view you may query, to see what its values look like (no particular order). Results are capped like sql_query's.",
    input: z.strictObject({
      table: CatalogName.describe(TABLE_NAME_DESCRIPTION),
      schema: CatalogName.default("public").describe("Its schema (default public)"),
      limit: z.int().min(1).max(most).default(Math.min(5, most)).describe(
        `How many rows (1-${most}, default ${Math.min(5, most)})`,
      ),
    }),
    output: z.object({
      columns: z.array(z.string()),
      rows: ResultRows,
      row_count: z.int(),
      truncated: z.boolean(),
    }),
    annotations: { title: "Sample rows", readOnlyHint: true, openWorldHint: false },
    async handler({ schema, table, limit }, ctx) {
      const found = await ctx.sql.query<{ schema: string; name: string }>(
        namedQuery(FIND_RELATION, { ...visibilityParams(options.allowedTables), schema, table }),
        { maxRows: 1, name: "sample_rows_find" },
      );
      const relation = found.rows[0];
      if (relation === undefined) throw notVisible(schema, table);
      const from = `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`;
      let result;
      try {
        result = await ctx.sql.query(
          makeSqlQuery(capRowWidth(`SELECT * FROM ${from} LIMIT $1`, rowCap), [limit]),
          { maxRows: limit, callerWritten: true, rowCap },
        );
      } catch (error) {
        if (error instanceof DatabaseError && error.message.includes(ROW_TOO_WIDE)) {
          throw new ToolError(
            "invalid_input",
            `A row is wider than ${rowCap} bytes; use sql_query to select fewer or shorter columns`,
          );
        }
        throw error;
      }
      const rows = result.rows;
      return {
        columns: rows.length > 0 ? Object.keys(rows[0]) : [],
        rows,
        row_count: rows.length,
        truncated: result.truncated !== undefined,
      };
    },
  });
}
