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
import { createAdmission } from "../../src/http/admission.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";
import { invokeTool } from "../../src/tools/invoke.ts";
import { createRegistry } from "../../src/tools/registry.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
// @ts-types="@modelcontextprotocol/sdk/client"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
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
  admission: createAdmission({ registry, rateLimit: allowAll }),
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
  ...initializeCases(),
  {
    label: "ping with empty params",
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping", params: {} }),
  },
  {
    label: "ping with _meta",
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping", params: { _meta: {} } }),
  },
  {
    label: "ping with params an array",
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping", params: [] }),
  },
  { label: "ping string id", body: JSON.stringify({ jsonrpc: "2.0", id: "p", method: "ping" }) },
  {
    label: "ping unsupported protocol version",
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }),
    headers: { "mcp-protocol-version": "2099-01-01" },
  },
  {
    label: "initialized notification with params",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized", params: {} }),
  },
  {
    label: "initialized notification with null id",
    body: JSON.stringify({ jsonrpc: "2.0", id: null, method: "notifications/initialized" }),
  },
  {
    label: "initialized notification with an id",
    body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "notifications/initialized" }),
  },
  {
    label: "initialized notification, extra field",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized", x: 1 }),
  },
  {
    label: "initialized notification, unsupported protocol version",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    headers: { "mcp-protocol-version": "2099-01-01" },
  },
  {
    label: "initialized notification, supported protocol version",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    headers: { "mcp-protocol-version": "2025-11-25" },
  },
  {
    label: "initialized notification, Accept json only",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    headers: { accept: "application/json" },
  },
  {
    label: "cancelled notification",
    body: JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 1 },
    }),
  },
  {
    label: "unknown notification",
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/whatever" }),
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

/** `initialize` as clients send it, and the shapes around it the SDK's schema accepts or refuses. */
function initializeCases(): Case[] {
  const init = (params: unknown, id: unknown = 1) =>
    JSON.stringify({ jsonrpc: "2.0", id, method: "initialize", params });
  const ok = {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  };
  const withCaps = (capabilities: unknown) => init({ ...ok, capabilities });
  const withInfo = (clientInfo: unknown) => init({ ...ok, clientInfo });
  return [
    { label: "initialize latest", body: init({ ...ok, protocolVersion: "2025-11-25" }) },
    { label: "initialize oldest", body: init({ ...ok, protocolVersion: "2024-10-07" }) },
    {
      label: "initialize unsupported version",
      body: init({ ...ok, protocolVersion: "1999-01-01" }),
    },
    { label: "initialize empty version", body: init({ ...ok, protocolVersion: "" }) },
    { label: "initialize version a number", body: init({ ...ok, protocolVersion: 2025 }) },
    {
      label: "initialize without version",
      body: init({ capabilities: {}, clientInfo: ok.clientInfo }),
    },
    { label: "initialize string id", body: init(ok, "init-1") },
    { label: "initialize id 0", body: init(ok, 0) },
    { label: "initialize null id", body: init(ok, null) },
    {
      label: "initialize without params",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize" }),
    },
    { label: "initialize params an array", body: init([]) },
    { label: "initialize with _meta", body: init({ ...ok, _meta: { progressToken: 1 } }) },
    { label: "initialize extra params field", body: init({ ...ok, extra: true }) },
    {
      label: "initialize, an SDK client's capabilities",
      body: withCaps({ roots: { listChanged: true }, sampling: {}, elicitation: {} }),
    },
    { label: "initialize roots without listChanged", body: withCaps({ roots: {} }) },
    {
      label: "initialize roots listChanged a string",
      body: withCaps({ roots: { listChanged: "yes" } }),
    },
    {
      label: "initialize roots extra field",
      body: withCaps({ roots: { listChanged: true, x: 1 } }),
    },
    { label: "initialize roots null", body: withCaps({ roots: null }) },
    { label: "initialize sampling with context", body: withCaps({ sampling: { context: {} } }) },
    { label: "initialize sampling a string", body: withCaps({ sampling: "yes" }) },
    { label: "initialize elicitation form", body: withCaps({ elicitation: { form: {} } }) },
    { label: "initialize elicitation a number", body: withCaps({ elicitation: 1 }) },
    { label: "initialize experimental", body: withCaps({ experimental: { x: {} } }) },
    { label: "initialize experimental invalid", body: withCaps({ experimental: { x: 1 } }) },
    { label: "initialize tasks", body: withCaps({ tasks: {} }) },
    { label: "initialize unknown capability", body: withCaps({ custom: 1 }) },
    { label: "initialize capabilities null", body: withCaps(null) },
    { label: "initialize capabilities an array", body: withCaps([]) },
    {
      label: "initialize without capabilities",
      body: init({ protocolVersion: "2025-06-18", clientInfo: ok.clientInfo }),
    },
    {
      label: "initialize clientInfo with title and description",
      body: withInfo({
        name: "t",
        version: "1",
        title: "T",
        description: "d",
        websiteUrl: "https://x",
      }),
    },
    { label: "initialize clientInfo name a number", body: withInfo({ name: 1, version: "1" }) },
    { label: "initialize clientInfo without version", body: withInfo({ name: "t" }) },
    {
      label: "initialize clientInfo title a number",
      body: withInfo({ name: "t", version: "1", title: 2 }),
    },
    {
      label: "initialize clientInfo with icons",
      body: withInfo({ name: "t", version: "1", icons: [] }),
    },
    {
      label: "initialize clientInfo extra field",
      body: withInfo({ name: "t", version: "1", x: 1 }),
    },
    { label: "initialize clientInfo a string", body: withInfo("t") },
    {
      label: "initialize, unsupported protocol version header",
      body: init(ok),
      headers: { "mcp-protocol-version": "2099-01-01" },
    },
    {
      label: "initialize, Content-Type text/plain",
      body: init(ok),
      headers: { "content-type": "text/plain" },
    },
    {
      label: "initialize, Accept json only",
      body: init(ok),
      headers: { accept: "application/json" },
    },
    {
      label: "initialize in a batch",
      body: `[${init(ok)}]`,
    },
    {
      label: "initialize twice in a batch",
      body: `[${init(ok)},${init(ok, 2)}]`,
    },
  ];
}

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
  "ping",
  "ping with empty params",
  "ping string id",
  "initialize",
  "initialize latest",
  "initialize oldest",
  "initialize unsupported version",
  "initialize empty version",
  "initialize string id",
  "initialize id 0",
  "initialize, an SDK client's capabilities",
  "initialize roots without listChanged",
  "initialize clientInfo with title and description",
  "initialized notification",
  "initialized notification, supported protocol version",
]);

/**
 * Not handshake-era traffic, so neither path sees them: an
 * `MCP-Protocol-Version` header naming a 2026-era revision (2026-07-28, or a
 * later one like 2099-01-01) makes a message modern. An `initialize` with it
 * is a header/body disagreement (400, -32020); a request without the `_meta`
 * envelope is 400, -32602 naming the missing keys; a notification goes to the
 * 2026 era, which refuses the unserved revision (400, -32022). As the
 * 2026-07-28 transport page and the v2 SDK's classifier have it; the
 * hostile-request corpus (tests/mcp/modern_corpus_test.ts) checks the answers.
 */
const REFUSED = new Set([
  "initialize, unsupported protocol version header",
  "ping unsupported protocol version",
  "initialized notification, unsupported protocol version",
  "protocol version unknown",
  "protocol version draft",
]);

Deno.test("MCP fast path: takes exactly the plain requests it vouches for", async () => {
  for (const c of CORPUS) {
    lastPath = undefined;
    await send(fast, c);
    const expected = REFUSED.has(c.label) ? undefined : FAST.has(c.label) ? "fast" : "sdk";
    assert.equal(lastPath, expected, c.label);
  }
});

Deno.test("the fast path's protocol versions are exactly the SDK's SUPPORTED_PROTOCOL_VERSIONS", async () => {
  const { FAST_PATH_PROTOCOL_VERSIONS } = await import("../../src/mcp/door.ts");
  // @ts-types="@modelcontextprotocol/sdk/types"
  const { SUPPORTED_PROTOCOL_VERSIONS } = await import("@modelcontextprotocol/sdk/types.js");
  assert.deepEqual([...FAST_PATH_PROTOCOL_VERSIONS], [...SUPPORTED_PROTOCOL_VERSIONS]);
});

Deno.test("the fast path's latest protocol version is the SDK's LATEST_PROTOCOL_VERSION", async () => {
  const { FAST_PATH_LATEST_PROTOCOL_VERSION } = await import("../../src/mcp/door.ts");
  // @ts-types="@modelcontextprotocol/sdk/types"
  const { LATEST_PROTOCOL_VERSION } = await import("@modelcontextprotocol/sdk/types.js");
  assert.equal(FAST_PATH_LATEST_PROTOCOL_VERSION, LATEST_PROTOCOL_VERSION);
});

Deno.test("an SDK client's whole session stays on the fast path: the SDK is never needed", async () => {
  const paths: string[] = [];
  const door = mcpDoor({ ...doorOptions, onPath: (path) => paths.push(path) });
  // The SDK's own client, its requests handed to the door as the router would
  // (POST /mcp to the door; the GET for a standalone stream gets 405).
  const fetchToDoor = async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    if (req.method !== "POST") return new Response(null, { status: 405 });
    const ctx = requestContext(req.url);
    ctx.principal = { id: "primary" };
    ctx.log = log;
    return await door(req, ctx, {});
  };
  const client = new Client({ name: "fast-path-test", version: "1.0.0" }, {
    capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL("http://127.0.0.1:8000/mcp"), {
      fetch: fetchToDoor,
    }),
  );
  try {
    assert.equal(client.getServerVersion()?.name, "test");
    // No `logging`: a JSON answer can never carry a log notification.
    assert.deepEqual(client.getServerCapabilities(), { tools: { listChanged: false } });
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === "echo"));
    const result = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.notEqual(result.isError, true);
    await client.ping();
    // initialize, notifications/initialized, tools/list, tools/call, ping.
    assert.deepEqual(paths, ["fast", "fast", "fast", "fast", "fast"]);
  } finally {
    await client.close();
  }
});

Deno.test("the app answers a message off the fast path by loading the SDK then", async () => {
  const app = await createTestApp({ tools: [] });
  try {
    await app.warmUp();
    const res = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "ping" },
        { jsonrpc: "2.0", id: 2, method: "ping" },
      ]),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [
      { result: {}, jsonrpc: "2.0", id: 1 },
      { result: {}, jsonrpc: "2.0", id: 2 },
    ]);
  } finally {
    await app.close();
  }
});
