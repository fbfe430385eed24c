/**
 * A corpus of hostile 2026-07-28-style requests against `/mcp`, each with
 * the HTTP status and JSON-RPC error the 2026-07-28 transport page (and the
 * v2 SDK's validation ladder, which follows it) names, the request's id
 * wherever it could be read, and, for refusals of a `tools/call`, proof that
 * the tool never ran: a gateway may have routed on the headers while the
 * body names another tool.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "../../src/tools/define.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, MCP_HEADERS } from "../harness.ts";

let runs = 0;
const counted = defineTool({
  name: "counted",
  description: "Counts its runs.",
  input: z.strictObject({ n: z.int().optional() }),
  handler: () => Promise.resolve({ runs: ++runs }),
});

const REVISION = "2026-07-28";
const META = {
  "io.modelcontextprotocol/protocolVersion": REVISION,
  "io.modelcontextprotocol/clientInfo": { name: "corpus", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** A well-formed 2026 request: body and headers agree. */
function modern(
  method: string,
  params: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): { body: Record<string, unknown>; headers: Record<string, string> } {
  const headers: Record<string, string> = {
    ...MCP_HEADERS,
    "mcp-protocol-version": REVISION,
    "mcp-method": method,
  };
  if (method === "tools/call" && typeof params.name === "string") headers["mcp-name"] = params.name;
  return {
    body: { jsonrpc: "2.0", id: 42, method, params: { ...params, _meta: { ...META, ...meta } } },
    headers,
  };
}

const b64 = (s: string) =>
  `=?base64?${btoa(String.fromCharCode(...new TextEncoder().encode(s)))}?=`;

interface Case {
  readonly label: string;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  readonly status: number;
  /** The JSON-RPC error code; absent: a result. */
  readonly code?: number;
  /** The id the answer must carry (default 42). */
  readonly id?: number | null;
  /** Whether the `counted` tool runs. */
  readonly runs?: boolean;
  readonly check?: (body: Record<string, unknown>) => void;
}

const call = (name = "counted") => modern("tools/call", { name, arguments: {} });
const withHeaders = (
  m: ReturnType<typeof modern>,
  headers: Record<string, string | undefined>,
) => {
  const h: Record<string, string> = { ...m.headers };
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return { body: m.body, headers: h };
};

const CORPUS: Case[] = [
  {
    label: "server/discover: versions, capabilities, serverInfo, cache hints",
    ...modern("server/discover"),
    status: 200,
    check: (b) => {
      const r = b.result as Record<string, unknown>;
      assert.deepEqual(r.supportedVersions, [REVISION]);
      assert.deepEqual(r.capabilities, { tools: { listChanged: false } });
      assert.equal(r.resultType, "complete");
      assert.equal(r.cacheScope, "private");
      assert.equal(typeof r.ttlMs, "number");
      assert.equal(
        (r._meta as Record<string, { name: string }>)["io.modelcontextprotocol/serverInfo"].name,
        "mcp-tool-server",
      );
    },
  },
  {
    label: "tools/list: resultType, ttlMs, cacheScope private, serverInfo",
    ...modern("tools/list"),
    status: 200,
    check: (b) => {
      const r = b.result as Record<string, unknown>;
      assert.ok(Array.isArray(r.tools));
      assert.equal(r.resultType, "complete");
      assert.equal(r.cacheScope, "private");
      assert.ok(Number.isInteger(r.ttlMs) && (r.ttlMs as number) > 0);
      assert.ok((r._meta as Record<string, unknown>)["io.modelcontextprotocol/serverInfo"]);
    },
  },
  {
    label: "tools/call runs",
    ...call(),
    status: 200,
    runs: true,
    check: (b) => assert.equal((b.result as Record<string, unknown>).resultType, "complete"),
  },
  {
    label: "Mcp-Name base64-encoded, canonical",
    ...withHeaders(call(), { "mcp-name": b64("counted") }),
    status: 200,
    runs: true,
  },
  {
    label: "Mcp-Name names another tool than the body",
    ...withHeaders(call(), { "mcp-name": "echo" }),
    status: 400,
    code: -32020,
  },
  {
    label: "Mcp-Name base64 of another tool",
    ...withHeaders(call(), { "mcp-name": b64("echo") }),
    status: 400,
    code: -32020,
  },
  {
    label: "Mcp-Name base64 not canonical (no padding)",
    ...withHeaders(call(), { "mcp-name": "=?base64?Y291bnRlZA?=" }),
    status: 400,
    code: -32020,
  },
  {
    label: "Mcp-Name base64 of bytes that are not UTF-8",
    ...withHeaders(call(), { "mcp-name": "=?base64?/w==?=" }),
    status: 400,
    code: -32020,
  },
  {
    label: "Mcp-Name missing on tools/call",
    ...withHeaders(call(), { "mcp-name": undefined }),
    status: 400,
    code: -32020,
  },
  {
    label: "Mcp-Method missing",
    ...withHeaders(call(), { "mcp-method": undefined }),
    status: 400,
    code: -32020,
  },
  {
    label: "Mcp-Method names another method",
    ...withHeaders(call(), { "mcp-method": "tools/list" }),
    status: 400,
    code: -32020,
  },
  {
    label: "MCP-Protocol-Version missing",
    ...withHeaders(call(), { "mcp-protocol-version": undefined }),
    status: 400,
    code: -32020,
  },
  {
    label: "MCP-Protocol-Version header disagrees with _meta",
    ...withHeaders(call(), { "mcp-protocol-version": "2025-11-25" }),
    status: 400,
    code: -32020,
  },
  {
    label: "a revision we do not serve: -32022 with supported and requested",
    ...withHeaders(
      modern("tools/call", { name: "counted", arguments: {} }, {
        "io.modelcontextprotocol/protocolVersion": "2027-01-01",
      }),
      { "mcp-protocol-version": "2027-01-01" },
    ),
    status: 400,
    code: -32022,
    check: (b) =>
      assert.deepEqual((b.error as Record<string, unknown>).data, {
        supported: [REVISION],
        requested: "2027-01-01",
      }),
  },
  {
    label: "a 2026 header without the _meta envelope",
    body: { jsonrpc: "2.0", id: 42, method: "tools/list" },
    headers: modern("tools/list").headers,
    status: 400,
    code: -32602,
    check: (b) =>
      assert.deepEqual((b.error as Record<string, unknown>).data, {
        envelope: { missing: ["_meta"] },
      }),
  },
  {
    label: "_meta without clientCapabilities",
    ...modern("tools/list", {}, { "io.modelcontextprotocol/clientCapabilities": undefined }),
    status: 400,
    code: -32602,
  },
  {
    label: "_meta protocolVersion is a number",
    ...modern("tools/list", {}, { "io.modelcontextprotocol/protocolVersion": 20260728 }),
    status: 400,
    code: -32602,
  },
  {
    label: "_meta clientCapabilities is a string",
    ...modern("tools/list", {}, { "io.modelcontextprotocol/clientCapabilities": "all" }),
    status: 400,
    code: -32602,
  },
  {
    label: "_meta clientInfo without a string name",
    ...modern("tools/list", {}, {
      "io.modelcontextprotocol/clientInfo": { name: 1, version: "1" },
    }),
    status: 400,
    code: -32602,
  },
  {
    label: "_meta logLevel not a level",
    ...modern("tools/list", {}, { "io.modelcontextprotocol/logLevel": "loud" }),
    status: 400,
    code: -32602,
  },
  {
    label: "_meta logLevel a level: accepted",
    ...modern("tools/list", {}, { "io.modelcontextprotocol/logLevel": "debug" }),
    status: 200,
  },
  {
    label: "a batch with a 2026 request",
    body: [call().body, { jsonrpc: "2.0", id: 43, method: "ping" }],
    headers: call().headers,
    status: 400,
    code: -32600,
    id: null,
  },
  {
    label: "initialize with a 2026 header",
    body: {
      jsonrpc: "2.0",
      id: 42,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "x", version: "1" },
      },
    },
    headers: modern("initialize").headers,
    status: 400,
    code: -32020,
  },
  { label: "ping is gone in 2026-07-28", ...modern("ping"), status: 404, code: -32601 },
  {
    label: "logging/setLevel is gone",
    ...modern("logging/setLevel", { level: "info" }),
    status: 404,
    code: -32601,
  },
  {
    label: "resources/list: tools-only server",
    ...modern("resources/list"),
    status: 404,
    code: -32601,
  },
  {
    label: "unknown tool: -32602 in a 200, the text without a code prefix",
    ...call("nope"),
    status: 200,
    code: -32602,
    check: (b) => assert.equal((b.error as Record<string, unknown>).message, "Unknown tool: nope"),
  },
  {
    label: "tools/call name not a string",
    ...modern("tools/call", { name: 5 }),
    status: 200,
    code: -32602,
  },
  {
    label: "tools/call arguments an array",
    ...modern("tools/call", { name: "counted", arguments: [] }),
    status: 200,
    code: -32602,
  },
  {
    label: "Content-Type text/plain",
    ...withHeaders(call(), { "content-type": "text/plain" }),
    status: 415,
    code: -32000,
  },
  {
    label: "Accept without text/event-stream",
    ...withHeaders(call(), { accept: "application/json" }),
    status: 406,
    code: -32000,
  },
];

Deno.test("hostile 2026-07-28 requests: each answered with the status and error the spec names", async (t) => {
  const app = await createTestApp({ tools: [...TEST_TOOLS, counted] });
  try {
    for (const c of CORPUS) {
      await t.step(c.label, async () => {
        const before = runs;
        const res = await app.request("/mcp", {
          method: "POST",
          headers: c.headers,
          body: JSON.stringify(c.body),
        });
        const body = await res.json();
        assert.equal(res.status, c.status, JSON.stringify(body));
        assert.equal(body.jsonrpc, "2.0");
        assert.equal(body.id, c.id === undefined ? 42 : c.id, "the request's id");
        if (c.code === undefined) assert.ok(body.result, JSON.stringify(body));
        else assert.equal(body.error?.code, c.code, JSON.stringify(body));
        assert.equal(runs - before, c.runs ? 1 : 0, "tool runs");
        c.check?.(body);
      });
    }
  } finally {
    await app.close();
  }
});

Deno.test("a 2026 notification is accepted with 202 and no body", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    const res = await app.request("/mcp", {
      method: "POST",
      headers: {
        ...MCP_HEADERS,
        "mcp-protocol-version": REVISION,
        "mcp-method": "notifications/cancelled",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: 1 },
      }),
    });
    assert.equal(res.status, 202);
    assert.equal(await res.text(), "");
  } finally {
    await app.close();
  }
});

Deno.test("server/discover costs one rate-limit point, never a tool call's weight", async () => {
  const app = await createTestApp({
    tools: [...TEST_TOOLS, counted],
    env: { RATE_LIMIT_RPM: "100", RATE_LIMIT_TOOL_COSTS: "counted:10" },
  });
  const remaining = async (m: ReturnType<typeof modern>) => {
    const res = await app.request("/mcp", {
      method: "POST",
      headers: m.headers,
      body: JSON.stringify(m.body),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    return Number(res.headers.get("x-ratelimit-remaining"));
  };
  try {
    const first = await remaining(modern("server/discover"));
    assert.equal(first, 99);
    assert.equal(await remaining(modern("tools/list")), 98);
    assert.equal(await remaining(call()), 88);
    assert.equal(await remaining(modern("server/discover")), 87);
  } finally {
    await app.close();
  }
});

Deno.test("a handshake-era error carries the request's id where the SDK wrote null", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    const res = await app.request("/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
    });
    assert.equal(res.status, 406);
    assert.equal((await res.json()).id, 9);
  } finally {
    await app.close();
  }
});
