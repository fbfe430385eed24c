/**
 * Both MCP eras on one `/mcp`, driven by the real clients from npm over real
 * HTTP: the v2 client (`@modelcontextprotocol/client` 2.4.0) pinned to
 * 2026-07-28 and in auto mode, and the v1 SDK client (handshake era). Then
 * the differential: the same call through both eras returns the same content
 * and structured content.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
// @ts-types="@modelcontextprotocol/sdk/client"
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { BUILTIN_TOOLS } from "../../src/tools/builtin/mod.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";

const AUTH = { authorization: `Bearer ${PRIMARY_KEY}` };

/** One exchange as the client's fetch saw it. */
interface Exchange {
  readonly method: string | undefined;
  readonly headers: Headers;
  readonly status: number;
}

/** A fetch that records each POST's JSON-RPC method, headers and status. */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const req = new Request(input, init);
    const text = req.method === "POST" ? await req.clone().text() : "";
    const res = await fetch(req);
    let method: string | undefined;
    try {
      method = JSON.parse(text).method;
    } catch {
      method = undefined;
    }
    log.push({ method, headers: req.headers, status: res.status });
    return res;
  };
}

async function modernClient(
  url: string,
  mode: "auto" | { pin: string },
  log: Exchange[] = [],
): Promise<ModernClient> {
  const client = new ModernClient({ name: "eras-test", version: "1.0.0" }, {
    versionNegotiation: { mode },
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: AUTH },
      fetch: recordingFetch(log),
    }),
  );
  return client;
}

async function legacyClient(url: string): Promise<LegacyClient> {
  const client = new LegacyClient({ name: "eras-test", version: "1.0.0" });
  await client.connect(
    new LegacyTransport(new URL(`${url}/mcp`), { requestInit: { headers: AUTH } }),
  );
  return client;
}

Deno.test("v2 client pinned to 2026-07-28: discovers, lists and calls statelessly", async () => {
  const app = await createTestApp({ tools: [...BUILTIN_TOOLS, ...TEST_TOOLS] });
  const server = serveOnLoopback(app);
  const log: Exchange[] = [];
  const client = await modernClient(server.url, { pin: "2026-07-28" }, log);
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    assert.equal(client.getServerVersion()?.name, "mcp-tool-server");
    assert.deepEqual(client.getServerCapabilities(), { tools: { listChanged: false } });
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      [...BUILTIN_TOOLS, ...TEST_TOOLS].map((t) => t.name),
    );
    const result = await client.callTool({ name: "get_top_customers", arguments: { limit: 2 } });
    assert.notEqual(result.isError, true);
    assert.equal((result.structuredContent as { customers: unknown[] }).customers.length, 2);
    // No initialize in this era, and every request named its method (and tool) in headers.
    assert.ok(!log.some((e) => e.method === "initialize"));
    for (const e of log) {
      assert.equal(e.headers.get("mcp-protocol-version"), "2026-07-28");
      assert.equal(e.headers.get("mcp-method"), e.method);
    }
    assert.equal(
      log.find((e) => e.method === "tools/call")?.headers.get("mcp-name"),
      "get_top_customers",
    );
  } finally {
    await client.close();
    await server.stop();
    await app.close();
  }
});

Deno.test("v2 client pinned: an unknown tool is -32602 'Unknown tool: X', prefixed once", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  const server = serveOnLoopback(app);
  const client = await modernClient(server.url, { pin: "2026-07-28" });
  try {
    await assert.rejects(
      () => client.callTool({ name: "nope", arguments: {} }),
      (error: Error & { code?: number }) => {
        assert.equal(error.code, -32602);
        assert.ok((error.message.match(/-32602/g) ?? []).length <= 1, error.message);
        assert.match(error.message, /Unknown tool: nope$/);
        return true;
      },
    );
  } finally {
    await client.close();
    await server.stop();
    await app.close();
  }
});

Deno.test("v2 client in auto mode lands on 2026-07-28 with its first probe, and nothing failed", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  const server = serveOnLoopback(app);
  const log: Exchange[] = [];
  const client = await modernClient(server.url, "auto", log);
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    assert.equal(log[0].method, "server/discover");
    assert.deepEqual(log.map((e) => e.status).filter((s) => s >= 400), []);
    assert.ok(!log.some((e) => e.method === "initialize"), "fell back to initialize");
    const result = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.notEqual(result.isError, true);
  } finally {
    await client.close();
    await server.stop();
    await app.close();
  }
});

Deno.test("v1 SDK client: the handshake era answers as before", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  const server = serveOnLoopback(app);
  const client = await legacyClient(server.url);
  try {
    assert.equal(client.getServerVersion()?.name, "mcp-tool-server");
    assert.deepEqual(client.getServerCapabilities(), { tools: { listChanged: false } });
    const result = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.notEqual(result.isError, true);
    await client.ping();
    // The SDK prefixes the code once; our message adds no second one.
    await assert.rejects(
      () => client.callTool({ name: "nope", arguments: {} }),
      (error: Error) => error.message === "MCP error -32602: Unknown tool: nope",
    );
  } finally {
    await client.close();
    await server.stop();
    await app.close();
  }
});

/** A call result without what legitimately differs per request (the request id in error bodies). */
function comparable(result: Record<string, unknown>) {
  const text = JSON.stringify({
    content: result.content,
    structuredContent: result.structuredContent,
    isError: result.isError ?? false,
  });
  // Request ids appear escaped (in a text block's JSON) and plain (in structured content).
  return JSON.parse(
    text.replace(/\\"request_id\\":\\"[^\\"]*\\"/g, '\\"request_id\\":\\"-\\"')
      .replace(/"request_id":"[^"]*"/g, '"request_id":"-"'),
  );
}

Deno.test("differential: the same call through both eras returns the same content and structured content", async () => {
  const app = await createTestApp({ tools: [...BUILTIN_TOOLS, ...TEST_TOOLS] });
  const server = serveOnLoopback(app);
  const modern = await modernClient(server.url, { pin: "2026-07-28" });
  const legacy = await legacyClient(server.url);
  const calls: { name: string; arguments: Record<string, unknown> }[] = [
    { name: "get_top_customers", arguments: { limit: 3, offset: 2 } },
    { name: "lookup_customer", arguments: { id: 7 } },
    { name: "echo", arguments: { text: "héllo", count: 2 } },
    { name: "echo", arguments: { text: 5 } }, // invalid input: isError with the error body
    { name: "boom", arguments: {} }, // a fault: isError, generic message
    { name: "missing", arguments: {} }, // not found: isError
  ];
  try {
    for (const call of calls) {
      const [a, b] = await Promise.all([modern.callTool(call), legacy.callTool(call)]);
      assert.deepEqual(comparable(a), comparable(b), JSON.stringify(call));
    }
    const [listA, listB] = await Promise.all([modern.listTools(), legacy.listTools()]);
    assert.deepEqual(listA.tools, listB.tools);
  } finally {
    await modern.close();
    await legacy.close();
    await server.stop();
    await app.close();
  }
});
