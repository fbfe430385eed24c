/**
 * The database toolset (opt-in: `ENABLE_DB_SCHEMA_TOOLS=true`), what a model
 * needs to find its way in a database it has never seen. Each tool needs the
 * `db:schema` scope; all of them see only what `sql_query` may read (the
 * role's privileges and `SQL_QUERY_ALLOWED_TABLES`). Adding one: a file
 * here exporting its factory, and one line in the list below.
 *
 * @module
 */
import type { Tool } from "../../define.ts";
import type { DbSchemaOptions } from "./catalog.ts";
import { createDescribeTableTool } from "./describe_table.ts";
import { createExplainQueryTool } from "./explain_query.ts";
import { createListSchemasTool } from "./list_schemas.ts";
import { createListTablesTool } from "./list_tables.ts";
import { createSampleRowsTool } from "./sample_rows.ts";

export type { DbSchemaOptions } from "./catalog.ts";
export { DB_SCHEMA_SCOPE } from "./catalog.ts";

/** The toolset, in the order a model would use it. */
const FACTORIES: readonly ((options: DbSchemaOptions) => Tool)[] = [
  createListSchemasTool,
  createListTablesTool,
  createDescribeTableTool,
  createSampleRowsTool,
  createExplainQueryTool,
];

/** Builds every tool of the set. */
export function createDbSchemaTools(options: DbSchemaOptions): Tool[] {
  return FACTORIES.map((create) => create(options));
}
