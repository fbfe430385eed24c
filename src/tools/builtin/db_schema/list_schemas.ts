/**
 * `list_schemas` (database toolset): the schemas holding at least one table
 * or view the caller may see, with their comments and how many.
 *
 * @module
 */
import { z } from "zod";
import { namedQuery } from "../../../sources/db/named_query.ts";
import { defineTool, type Tool } from "../../define.ts";
import {
  DB_SCHEMA_SCOPE,
  type DbSchemaOptions,
  visibilityParams,
  VISIBLE_RELATIONS,
} from "./catalog.ts";

const LIST_SCHEMAS = VISIBLE_RELATIONS + `SELECT v.schema AS name,
  pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment,
  count(*)::int AS tables
FROM visible v
JOIN pg_catalog.pg_namespace n ON n.nspname::text = v.schema
GROUP BY v.schema, n.oid
ORDER BY v.schema`;

/** Builds `list_schemas`. */
export function createListSchemasTool(options: DbSchemaOptions): Tool {
  return defineTool({
    name: "list_schemas",
    scopes: [DB_SCHEMA_SCOPE],
    description:
      "List the database schemas that hold tables or views you may query, with their comments and how many tables or views each holds. Start here, then call list_tables.",
    input: z.strictObject({}),
    output: z.object({
      schemas: z.array(z.object({
        name: z.string(),
        comment: z.string().nullable(),
        tables: z.int(),
      })),
      truncated: z.boolean(),
    }),
    annotations: { title: "List schemas", readOnlyHint: true, openWorldHint: false },
    async handler(_input, ctx) {
      const result = await ctx.sql.query<{ name: string; comment: string | null; tables: number }>(
        namedQuery(LIST_SCHEMAS, visibilityParams(options.allowedTables)),
        { maxRows: options.maxRows },
      );
      return { schemas: result.rows, truncated: result.truncated !== undefined };
    },
  });
}
