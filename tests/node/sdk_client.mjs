// An MCP client under Node (not Deno), with the official SDK: lists the
// tools and calls one, printing one JSON line. Usage: node sdk_client.mjs <url> <key>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key] = process.argv.slice(2);
const client = new Client({ name: "node-sdk-client", version: "1.0.0" });
await client.connect(
  new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  }),
);
const { tools } = await client.listTools();
const result = await client.callTool({ name: "get_top_customers", arguments: { limit: 2 } });
console.log(JSON.stringify({
  node: process.version,
  server: client.getServerVersion(),
  tools: tools.map((t) => t.name),
  result: result.structuredContent,
}));
await client.close();
