/**
 * Micro-benchmark behind the choice of MCP engine (issue #28): CPU per
 * `tools/call` of a no-op tool, in one process, no sockets, each request a
 * `new Request` handed to the handler:
 * - our door, 2026-07-28 (hand-written codec) and handshake era (fast path,
 *   and the SDK 1.32 path with the fast path off);
 * - the official v2 server (`@modelcontextprotocol/server` 2.x,
 *   `createMcpHandler` with a per-request `McpServer`), both eras.
 *
 * Run: `deno run -A --config deno.dev.json scripts/bench/sdk_eras.ts [iterations]
 * [label part]` (e.g. `20000 ours` for our door alone). Prints CPU time per
 * request (user + system, the median of five interleaved rounds) and
 * requests per CPU second. Not a load test:
 * one request at a time, so it measures work, not concurrency.
 *
 * @module
 */
import process from "node:process";
import { z } from "zod";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { mcpDoor } from "../../src/mcp/door.ts";
import { createAdmission } from "../../src/http/admission.ts";
import { createRegistry } from "../../src/tools/registry.ts";
import { defineTool } from "../../src/tools/define.ts";
import { invokeTool } from "../../src/tools/invoke.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { RequestContext } from "../../src/http/context.ts";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";

const N = Number(Deno.args[0] ?? 5000);
const URL_ = "http://127.0.0.1:8000/mcp";
const log = createLogger({ level: "error", sinks: [] });

const noop = defineTool({
  name: "noop",
  description: "Does nothing.",
  input: z.strictObject({}),
  handler: () => Promise.resolve({ ok: true }),
});
const registry = createRegistry([noop]);
const noSql = {} as SqlSource;
const door = (fastPath: boolean) =>
  mcpDoor({
    registry,
    invoke: (tool, input, call) =>
      invokeTool({ sql: noSql, defaultTimeoutSeconds: 5 }, tool, input, call),
    maxBodyBytes: 64 * 1024,
    serverInfo: { name: "bench", version: "0" },
    admission: createAdmission({
      registry,
      rateLimit: { costOf: () => 1, enforce: () => undefined },
    }),
    fastPath,
  });
const ours = door(true);
const oursSdk = door(false);

const v2 = createMcpHandler(() => {
  const server = new McpServer({ name: "bench", version: "0" });
  server.registerTool(
    "noop",
    { description: "Does nothing.", inputSchema: z.object({}) },
    () => ({ content: [{ type: "text", text: '{"ok":true}' }], structuredContent: { ok: true } }),
  );
  return server;
}, { legacy: "stateless", responseMode: "json" });

const modernHeaders = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": "tools/call",
  "mcp-name": "noop",
};
const modernBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: {
    name: "noop",
    arguments: {},
    _meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientInfo": { name: "bench", version: "0" },
      "io.modelcontextprotocol/clientCapabilities": {},
    },
  },
});
const legacyHeaders = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};
const legacyBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "noop", arguments: {} },
});

function ctx(): RequestContext {
  return {
    requestId: "bench",
    startedAt: 0,
    url: new URL(URL_),
    remoteAddress: undefined,
    log,
    principal: { id: "bench" },
    rateLimit: undefined,
  };
}

type Send = (req: Request) => Promise<Response>;
const cases: [string, Send, Record<string, string>, string][] = [
  ["ours 2026-07-28", (r) => ours(r, ctx(), {}), modernHeaders, modernBody],
  ["ours 2025-11-25 fast path", (r) => ours(r, ctx(), {}), legacyHeaders, legacyBody],
  ["ours 2025-11-25 SDK 1.32", (r) => oursSdk(r, ctx(), {}), legacyHeaders, legacyBody],
  ["v2 SDK 2026-07-28", (r) => v2.fetch(r), modernHeaders, modernBody],
  ["v2 SDK 2025-11-25", (r) => v2.fetch(r), legacyHeaders, legacyBody],
];

const ONLY = Deno.args[1];
const chosen = ONLY ? cases.filter(([label]) => label.includes(ONLY)) : cases;
const runners = chosen.map(([label, send, headers, body]) => {
  const once = async () => {
    const res = await send(new Request(URL_, { method: "POST", headers, body }));
    const text = await res.text();
    if (res.status !== 200 || !text.includes('\\"ok\\":true')) {
      throw new Error(`${label}: ${res.status} ${text.slice(0, 200)}`);
    }
  };
  return { label, once, samples: [] as number[] };
});
// Every case is warmed before any is timed, then the cases take turns, round
// after round: timed one after another, the first case paid the JIT's
// warm-up of the code they share and read ~40% slower than it is.
for (const r of runners) for (let i = 0; i < Math.min(1000, N); i++) await r.once();
const ROUNDS = 5;
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runners) {
    const before = process.cpuUsage();
    for (let i = 0; i < N / ROUNDS; i++) await r.once();
    const used = process.cpuUsage(before);
    r.samples.push((used.user + used.system) / (N / ROUNDS));
  }
}
for (const r of runners) {
  const perRequestUs = r.samples.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
  console.log(
    `${r.label.padEnd(28)} ${perRequestUs.toFixed(1).padStart(7)} µs CPU/request  ${
      Math.round(1e6 / perRequestUs).toString().padStart(7)
    } req/CPU-s  (median of ${ROUNDS} rounds)`,
  );
}
await v2.close?.();
