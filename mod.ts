/**
 * mcp-tool-server for tool authors: write tools in your own project, test
 * them through the real server, and serve them, without a fork of this
 * repository. Start from `examples/tool-author/` and read
 * `docs/TOOL_AUTHORS.md`.
 *
 * ## The public surface
 *
 * Everything this module exports, and nothing else, is public:
 *
 * | export | what it is |
 * |---|---|
 * | {@linkcode defineTool} | defines a tool (name, description, zod input, handler) |
 * | {@linkcode z} | the zod the server validates with (use it for `input`/`output`) |
 * | {@linkcode sql}, {@linkcode namedQuery} | the only ways to build SQL for `ctx.sql.query` |
 * | {@linkcode apiPath} | the only way to build a path for `ctx.api.get`/`post` |
 * | {@linkcode ToolError} | an expected failure with a message safe to show the caller |
 * | {@linkcode mcpContent} | a result made of MCP content blocks (images, resources…) |
 * | {@linkcode serve} | the whole server, configured from the environment, with your tools |
 * | {@linkcode createTestServer} | the test harness: your tools through the real pipeline |
 * | {@linkcode SERVER_VERSION} | this server's version |
 * | types | `Tool`, `ToolDefinition`, `ToolContext`, `ToolAnnotations`, `Principal`, `Deprecation`, `SqlClient`, `SqlClientOptions`, `SqlQuery`, `SqlResult`, `ApiClient`, `ApiGetOptions`, `ApiPath`, `Logger`, `ErrorStatus`, `ToolErrorOptions`, `FieldProblem`, `ContentBlock`, `McpContent`, `ServeOptions`, `TestServer`, `TestServerOptions`, `ToolCallAnswer`, `McpCallAnswer`, `McpToolResult`, `LogLine` |
 *
 * Files under `src/` are not public: they change without notice.
 *
 * ## Versions
 *
 * This surface follows semantic versioning from the `version` in this
 * repository's `deno.json` ({@linkcode SERVER_VERSION}): an export removed or
 * renamed, a required field added to an option, or a behaviour a tool can see
 * changed incompatibly (the answer shapes of both doors, the `ToolError`
 * statuses) takes a new major version (a new minor while the major is 0).
 * Additions take a minor. `tests/mod_test.ts` holds the list of export names
 * and fails when one disappears or changes name.
 *
 * Your project's `deno.json` needs the same `unstable` features as this
 * server's (`raw-imports`, `no-legacy-abort`, `net`): the server embeds its
 * database and docs assets as bytes imports.
 *
 * @example A tool, and a test of it through both doors
 * ```ts ignore
 * import { createTestServer, defineTool, sql, z } from "@mcp-tool-server/server";
 *
 * export const customerName = defineTool({
 *   name: "customer_name",
 *   description: "The name of one customer, by id.",
 *   input: z.strictObject({ id: z.int().min(1) }),
 *   async handler({ id }, ctx) {
 *     const { rows } = await ctx.sql.query<{ name: string }>(
 *       sql`SELECT name FROM customers WHERE id = ${id}`,
 *     );
 *     return { name: rows[0]?.name };
 *   },
 * });
 *
 * Deno.test("customer_name", async () => {
 *   await using server = await createTestServer({ tools: [customerName] });
 *   const { status, body } = await server.call("customer_name", { id: 1 });
 *   // …
 * });
 * ```
 *
 * @module
 */

export { z } from "zod";

export {
  defineTool,
  type Deprecation,
  type Principal,
  type Tool,
  type ToolAnnotations,
  type ToolContext,
  type ToolDefinition,
} from "./src/tools/define.ts";
export {
  type ErrorStatus,
  type FieldProblem,
  ToolError,
  type ToolErrorOptions,
} from "./src/tools/errors.ts";
export { sql, type SqlQuery, type SqlResult } from "./src/sources/db/sql_source.ts";
export { namedQuery } from "./src/sources/db/named_query.ts";
export type { SqlClient, SqlClientOptions } from "./src/tools/sql_client.ts";
export type { ApiClient, ApiGetOptions } from "./src/tools/api_client.ts";
export { type ApiPath, apiPath } from "./src/sources/http/path.ts";
export type { Logger } from "./src/observability/logger.ts";
export { type ContentBlock, type McpContent, mcpContent } from "./src/mcp/content.ts";
export { serve, type ServeOptions } from "./main.ts";
export {
  createTestServer,
  type LogLine,
  type McpCallAnswer,
  type McpToolResult,
  type TestServer,
  type TestServerOptions,
  type ToolCallAnswer,
} from "./src/authoring/test_server.ts";
export { SERVER_VERSION } from "./src/version.ts";
