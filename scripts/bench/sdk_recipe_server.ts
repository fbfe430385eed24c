/**
 * The official TypeScript SDK's stateless recipe, as its documentation shows
 * it, for the benchmark: a new `McpServer` with its tools registered and a new
 * transport for every request. No auth, no logging.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import postgres from "postgres";
import { z } from "zod";

const url = Deno.env.get("DB_URL");
const db = url ? postgres(url, { max: 10, onnotice: () => {} }) : undefined;
const port = Number(Deno.env.get("PORT") ?? 8002);

function build(): McpServer {
  const server = new McpServer({ name: "sdk-recipe", version: "0" });
  const reply = (value: unknown) => ({
    content: [{ type: "text" as const, text: JSON.stringify(value) }],
    structuredContent: value as Record<string, unknown>,
  });
  server.registerTool("noop", { description: "noop", inputSchema: {} }, () => reply({ ok: true }));
  server.registerTool(
    "select_one",
    { description: "SELECT 1", inputSchema: {} },
    async () => reply((await db!`SELECT 1 AS one`)[0]),
  );
  server.registerTool(
    "lookup_customer",
    { description: "one customer", inputSchema: { id: z.number().int() } },
    async ({ id }) => reply((await db!`SELECT id, name, email FROM customers WHERE id = ${id}`)[0]),
  );
  return server;
}

Deno.serve(
  { hostname: "127.0.0.1", port, onListen: () => console.error(`listening ${port}`) },
  async (req) => {
    const server = build();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(req);
    } finally {
      await server.close();
    }
  },
);
