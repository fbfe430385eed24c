import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { BUILTIN_TOOLS } from "../../src/tools/builtin/mod.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import {
  createTestApp,
  MCP_HEADERS,
  PRIMARY_KEY,
  SECONDARY_KEY,
  serveOnLoopback,
} from "../harness.ts";

async function connect(url: string, key: string | null): Promise<Client> {
  const client = new Client({ name: "door-test", version: "1.0.0" });
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

Deno.test("MCP door with the SDK's own client over real HTTP", async (t) => {
  const app = await createTestApp({ tools: [...BUILTIN_TOOLS, ...TEST_TOOLS] });
  const server = serveOnLoopback(app);
  const client = await connect(server.url, PRIMARY_KEY);

  await t.step("initialize reports the server and its tools capability", () => {
    assert.equal(client.getServerVersion()?.name, "mcp-tool-server");
    assert.ok(client.getServerCapabilities()?.tools);
  });

  await t.step("tools/list returns every tool with description and JSON schema", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((x) => x.name),
      [...BUILTIN_TOOLS, ...TEST_TOOLS].map((x) => x.name),
    );
    const top = tools.find((x) => x.name === "get_top_customers")!;
    assert.equal(top.inputSchema.type, "object");
    assert.ok(top.description!.length > 10);
    assert.equal(top.annotations?.readOnlyHint, true);
  });

  await t.step("tools/call runs the tool and returns text and structured content", async () => {
    const result = await client.callTool({ name: "get_top_customers", arguments: { limit: 2 } });
    assert.notEqual(result.isError, true);
    const structured = result.structuredContent as { customers: unknown[]; total_count: number };
    assert.equal(structured.customers.length, 2);
    assert.equal(structured.total_count, 1000);
    const text = (result.content as { type: string; text: string }[])[0].text;
    assert.deepEqual(JSON.parse(text), structured);
  });

  await t.step("tools/call gives the same answer as the REST door", async () => {
    const mcp = await client.callTool({
      name: "get_top_customers",
      arguments: { limit: 5, offset: 7 },
    });
    const rest = await fetch(`${server.url}/v1/mcp/get_top_customers`, {
      method: "POST",
      headers: { authorization: `Bearer ${PRIMARY_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ limit: 5, offset: 7 }),
    });
    assert.deepEqual(mcp.structuredContent, await rest.json());
  });

  await t.step("a validation error is an isError result with the REST error body", async () => {
    const result = await client.callTool({ name: "get_top_customers", arguments: { limit: 0 } });
    assert.equal(result.isError, true);
    const body = JSON.parse((result.content as { text: string }[])[0].text);
    assert.equal(body.status, "invalid_input");
    assert.equal(body.details[0].field, "limit");
    assert.equal(typeof body.request_id, "string");
  });

  const outOfBounds: [string, Record<string, unknown>, string][] = [
    ["limit 1001", { limit: 1001 }, "limit"],
    ["limit -1", { limit: -1 }, "limit"],
    ['limit "10"', { limit: "10" }, "limit"],
    ["offset -1", { offset: -1 }, "offset"],
    ["an extra field", { limit: 5, drop: "orders" }, "drop"],
  ];
  for (const [label, args, field] of outOfBounds) {
    await t.step(`refuses ${label} as an isError result naming the field`, async () => {
      const result = await client.callTool({ name: "get_top_customers", arguments: args });
      assert.equal(result.isError, true);
      const body = JSON.parse((result.content as { text: string }[])[0].text);
      assert.equal(body.status, "invalid_input");
      assert.ok(
        body.details.some((d: { field: string }) => d.field === field),
        JSON.stringify(body),
      );
    });
  }

  await t.step("accepts the secondary key", async () => {
    const second = await connect(server.url, SECONDARY_KEY);
    const result = await second.callTool({ name: "echo", arguments: { text: "k2" } });
    assert.equal((result.structuredContent as { principal: string }).principal, "secondary");
    await second.close();
  });

  await t.step("a failing tool is an isError result without detail", async () => {
    const result = await client.callTool({ name: "boom", arguments: {} });
    assert.equal(result.isError, true);
    const text = (result.content as { text: string }[])[0].text;
    assert.ok(!text.includes("hunter2"));
    assert.equal(JSON.parse(text).error, "Internal server error");
  });

  await t.step("a tool past its deadline is an isError retry", async () => {
    const result = await client.callTool({ name: "slow", arguments: {} });
    assert.equal(result.isError, true);
    assert.equal(JSON.parse((result.content as { text: string }[])[0].text).status, "retry");
    await new Promise((r) => setTimeout(r, 350));
  });

  await t.step("an unknown tool is a JSON-RPC invalid-params error", async () => {
    await assert.rejects(
      client.callTool({ name: "no_such_tool", arguments: {} }),
      (e: Error & { code?: number }) =>
        e.code === -32602 && /Unknown tool: no_such_tool/.test(e.message),
    );
  });

  await t.step("a client without a key is refused with 401", async () => {
    await assert.rejects(connect(server.url, null), /401|Unauthorized/);
    await assert.rejects(connect(server.url, "wrong-key-wrong-key-wrong"), /401|Unauthorized/);
  });

  await t.step("answers 401 with WWW-Authenticate: Bearer and the JSON error body", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate")!, /^Bearer/);
    const body = await res.json();
    assert.equal(body.status, "unauthorized");
    assert.equal(body.request_id, res.headers.get("x-request-id"));
  });

  await t.step("refuses a Basic scheme with the same 401", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Basic ${btoa(`u:${PRIMARY_KEY}`)}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, "Unauthorized");
  });

  await t.step("a wrong content type is the SDK's 415", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: {
        ...MCP_HEADERS,
        "content-type": "text/plain",
        authorization: `Bearer ${PRIMARY_KEY}`,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(res.status, 415);
    await res.body?.cancel();
  });

  await t.step("GET /mcp is 405 (stateless: no standalone stream)", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      headers: { authorization: `Bearer ${PRIMARY_KEY}`, accept: "text/event-stream" },
    });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    await res.body?.cancel();
  });

  await t.step("a call without initialize works (stateless) and has no session id", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Bearer ${PRIMARY_KEY}` },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "hi" } },
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("mcp-session-id"), null);
    const body = await res.json();
    assert.equal(body.id, 7);
    assert.equal(body.result.structuredContent.text, "hi");
  });

  await t.step(
    "protocol errors stay the SDK's: bad JSON, wrong Accept, oversized body",
    async () => {
      const auth = { authorization: `Bearer ${PRIMARY_KEY}` };
      const badJson = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { ...MCP_HEADERS, ...auth },
        body: "{not json",
      });
      assert.equal(badJson.status, 400);
      assert.equal((await badJson.json()).error.code, -32700);
      const wrongAccept = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      assert.equal(wrongAccept.status, 406);
      await wrongAccept.body?.cancel();
      const big = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { ...MCP_HEADERS, ...auth },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "echo", arguments: { text: "x".repeat(2 * 1024 * 1024) } },
        }),
      });
      assert.equal(big.status, 413);
      await big.body?.cancel();
    },
  );

  await client.close();
  await server.stop();
  await app.close();
});
