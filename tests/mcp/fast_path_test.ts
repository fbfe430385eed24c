/**
 * The differential test of the MCP door's fast path: one corpus of valid
 * and invalid JSON-RPC messages and headers goes to the door with the fast
 * path and to the same door answering everything through the SDK's own
 * server and transport; status, Content-Type and body must be the same.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { RateLimitPolicy } from "../../src/http/middleware/rate_limit.ts";
import { mcpDoor } from "../../src/mcp/door.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";
import { invokeTool } from "../../src/tools/invoke.ts";
import { createRegistry } from "../../src/tools/registry.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, MCP_HEADERS, requestContext } from "../harness.ts";

const registry = createRegistry(TEST_TOOLS.filter((t) => t.name !== "slow"));
const noSql = {
  kind: "postgres",
  query: () => Promise.reject(new Error("no database in this test")),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve(),
} as unknown as SqlSource;
const log = createLogger({ level: "error", sinks: [] });
const allowAll: RateLimitPolicy = { costOf: () => 1, enforce: () => Promise.resolve() };
const doorOptions = {
  registry,
  invoke: (
    tool: Parameters<typeof invokeTool>[1],
    input: unknown,
    call: Parameters<typeof invokeTool>[3],
  ) => invokeTool({ sql: noSql, defaultTimeoutSeconds: 5 }, tool, input, call),
  maxBodyBytes: 64 * 1024,
  serverInfo: { name: "test", version: "0" },
  rateLimit: allowAll,
};
let lastPath: "fast" | "sdk" | undefined;
const fast = mcpDoor({ ...doorOptions, onPath: (path) => lastPath = path });
const sdk = mcpDoor({ ...doorOptions, fastPath: false });

const ACCEPT = "application/json, text/event-stream";

interface Case {
  readonly label: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

const call = (extra: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", ...extra });

const CORPUS: Case[] = [
  { label: "tools/call echo", body: call({ params: { name: "echo", arguments: { text: "hi" } } }) },
  {
    label: "tools/call with a default",
    body: call({ params: { name: "echo", arguments: { text: "x", count: 3 } } }),
  },
  { label: "tools/call without arguments", body: call({ params: { name: "missing" } }) },
  {
    label: "tools/call invalid arguments",
    body: call({ params: { name: "echo", arguments: { text: 5 } } }),
  },
  {
    label: "tools/call unknown field",
    body: call({ params: { name: "echo", arguments: { text: "a", z: 1 } } }),
  },
  { label: "tools/call failing tool", body: call({ params: { name: "boom", arguments: {} } }) },
  { label: "tools/call not found", body: call({ params: { name: "missing", arguments: {} } }) },
  { label: "tools/call bad output", body: call({ params: { name: "bad_output", arguments: {} } }) },
  { label: "tools/call unknown tool", body: call({ params: { name: "nope", arguments: {} } }) },
  {
    label: "tools/call hostile tool name",
    body: call({ params: { name: "<script>", arguments: {} } }),
  },
  { label: "tools/call name not a string", body: call({ params: { name: 5 } }) },
  {
    label: "tools/call arguments an array",
    body: call({ params: { name: "echo", arguments: [] } }),
  },
  { label: "tools/call arguments null", body: call({ params: { name: "echo", arguments: null } }) },
  {
    label: "tools/call arguments a string",
    body: call({ params: { name: "echo", arguments: "x" } }),
  },
  { label: "tools/call params missing", body: call({}) },
  { label: "tools/call params an array", body: call({ params: ["echo"] }) },
  {
    label: "tools/call with _meta",
    body: call({ params: { name: "echo", arguments: { text: "m" }, _meta: { progressToken: 7 } } }),
  },
  {
    label: "tools/call extra params field",
    body: call({ params: { name: "echo", arguments: { text: "e" }, extra: 1 } }),
  },
  {
    label: "string id",
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: "abc",
      method: "tools/call",
      params: { name: "echo", arguments: { text: "s" } },
    }),
  },
  { label: "id 0", body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "tools/list" }) },
  { label: "negative id", body: JSON.stringify({ jsonrpc: "2.0", id: -4, method: "tools/list" }) },
  {
    label: "fractional id",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1.5, method: "tools/list" }),
  },
  { label: "null id", body: JSON.stringify({ jsonrpc: "2.0", id: null, method: "tools/list" }) },
  { label: "object id", body: JSON.stringify({ jsonrpc: "2.0", id: {}, method: "tools/list" }) },
  { label: "huge id", body: JSON.stringify({ jsonrpc: "2.0", id: 2 ** 60, method: "tools/list" }) },
  { label: "no id (notification)", body: JSON.stringify({ jsonrpc: "2.0", method: "tools/list" }) },
  { label: "jsonrpc 1.0", body: JSON.stringify({ jsonrpc: "1.0", id: 1, method: "tools/list" }) },
  { label: "no jsonrpc", body: JSON.stringify({ id: 1, method: "tools/list" }) },
  {
    label: "extra top-level field",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", x: 1 }),
  },
  { label: "tools/list", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) },
  {
    label: "tools/list empty params",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  },
  {
    label: "tools/list with cursor",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { cursor: "x" } }),
  },
  { label: "ping", body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }) },
  {
    label: "unknown method",
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "resources/list" }),
  },
  {
    label: "initialize",
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }),
  },
  {
    label: "initialized notification",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  },
  {
    label: "batch",
    body: JSON.stringify([
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "b" } },
      },
    ]),
  },
  { label: "empty batch", body: "[]" },
  { label: "invalid JSON", body: '{"jsonrpc":' },
  { label: "empty body", body: "" },
  { label: "JSON null", body: "null" },
  { label: "JSON number", body: "42" },
  {
    label: "missing Accept",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { accept: "" },
  },
  {
    label: "Accept json only",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { accept: "application/json" },
  },
  {
    label: "Accept */*",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { accept: "*/*" },
  },
  {
    label: "Content-Type text/plain",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { "content-type": "text/plain" },
  },
  {
    label: "Content-Type with charset",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { "content-type": "application/json; charset=utf-8" },
  },
  {
    label: "Content-Type json-ish",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { "content-type": "application/jsonx" },
  },
  {
    label: "protocol version supported",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    headers: { "mcp-protocol-version": "2025-06-18" },
  },
  {
    label: "protocol version unknown",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    headers: { "mcp-protocol-version": "2099-01-01" },
  },
  {
    label: "protocol version draft",
    body: call({ params: { name: "echo", arguments: { text: "a" } } }),
    headers: { "mcp-protocol-version": "2026-07-28" },
  },
];

async function send(
  door: typeof fast,
  c: Case,
): Promise<{ status: number; type: string | null; body: unknown }> {
  const headers = new Headers({ "content-type": "application/json", accept: ACCEPT, ...c.headers });
  if (c.headers?.accept === "") headers.delete("accept");
  const req = new Request("http://127.0.0.1:8000/mcp", { method: "POST", headers, body: c.body });
  const ctx = requestContext("http://127.0.0.1:8000/mcp");
  ctx.principal = { id: "primary" };
  ctx.log = log;
  const res = await door(req, ctx, {});
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? "" : JSON.parse(text);
  } catch {
    // Compared as text.
  }
  return { status: res.status, type: res.headers.get("content-type"), body };
}

for (const c of CORPUS) {
  Deno.test(`MCP fast path answers like the SDK: ${c.label}`, async () => {
    const [a, b] = [await send(fast, c), await send(sdk, c)];
    assert.deepEqual(a, b);
  });
}

/** The cases the fast path must take itself; every other one goes to the SDK. */
const FAST = new Set([
  "tools/call echo",
  "tools/call with a default",
  "tools/call without arguments",
  "tools/call invalid arguments",
  "tools/call unknown field",
  "tools/call failing tool",
  "tools/call not found",
  "tools/call bad output",
  "string id",
  "id 0",
  "negative id",
  "tools/list",
  "tools/list empty params",
  "Content-Type with charset",
  "protocol version supported",
]);

Deno.test("MCP fast path: takes exactly the plain tools/call and tools/list requests", async () => {
  for (const c of CORPUS) {
    lastPath = undefined;
    await send(fast, c);
    assert.equal(lastPath, FAST.has(c.label) ? "fast" : "sdk", c.label);
  }
});

Deno.test("the fast path's protocol versions are exactly the SDK's SUPPORTED_PROTOCOL_VERSIONS", async () => {
  const { FAST_PATH_PROTOCOL_VERSIONS } = await import("../../src/mcp/door.ts");
  // @ts-types="@modelcontextprotocol/sdk/types"
  const { SUPPORTED_PROTOCOL_VERSIONS } = await import("@modelcontextprotocol/sdk/types.js");
  assert.deepEqual([...FAST_PATH_PROTOCOL_VERSIONS], [...SUPPORTED_PROTOCOL_VERSIONS]);
});

Deno.test("the app loads the MCP SDK on warmUp() or on the first request off the fast path", async () => {
  const app = await createTestApp({ tools: [] });
  try {
    await app.warmUp();
    await app.warmUp(); // once is enough; twice is harmless
    const res = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "t", version: "1" },
        },
      }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).result.protocolVersion, "2025-06-18");
  } finally {
    await app.close();
  }
});
