/**
 * The test harness for tool authors: the whole server built around their
 * tools (auth, rate limit, deadlines, validation, both doors, the database),
 * driven without a socket. A call here goes through exactly the pipeline a
 * client's call goes through, so a test that passes here passes there.
 *
 * The database is the configuration's: the embedded demo database when the
 * environment names none, or PostgreSQL with `DB_URL`.
 *
 * @example A pure tool, through the REST door and the MCP door
 * ```ts
 * import { createTestServer } from "./test_server.ts";
 * import { defineTool } from "../tools/define.ts";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * const shout = defineTool({
 *   name: "shout",
 *   description: "Upper-cases a text.",
 *   input: z.strictObject({ text: z.string().max(100) }),
 *   handler: ({ text }) => Promise.resolve({ text: text.toUpperCase() }),
 * });
 * await using server = await createTestServer({ tools: [shout] });
 * assert.deepEqual(await server.call("shout", { text: "hi" }), {
 *   status: 200,
 *   body: { text: "HI" },
 * });
 * const refused = await server.call("shout", { text: 1 });
 * assert.equal(refused.status, 400);
 * const viaMcp = await server.callMcp("shout", { text: "mcp" });
 * assert.deepEqual(viaMcp.result?.structuredContent, { text: "MCP" });
 * ```
 *
 * @module
 */
import { createApp } from "../app.ts";
import { parseConfig } from "../config/env.ts";
import { createMemorySink } from "../observability/logger.ts";
import type { Tool } from "../tools/define.ts";
import type { SqlQuery, SqlResult } from "../sources/db/sql_source.ts";

/** What {@linkcode createTestServer} takes. */
export interface TestServerOptions {
  /** The tools under test: served instead of the built-in demo tools. */
  readonly tools: readonly Tool[];
  /**
   * Configuration, as the environment variables the server reads (nothing is
   * read from the process environment, so tests stay independent of it):
   * `DB_URL` for a real database, `TOOL_TIMEOUT_SECONDS`, `TOOLS_FILE`, …
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** The REST door's answer to one call. */
export interface ToolCallAnswer {
  /** 200 with the result; otherwise the error's HTTP status. */
  readonly status: number;
  /** The tool's result, or the error body `{ error, status, request_id, details? }`. */
  readonly body: unknown;
}

/** An MCP `tools/call` result (see the MCP specification). */
export interface McpToolResult {
  readonly content: readonly { readonly type: string; readonly [field: string]: unknown }[];
  readonly structuredContent?: unknown;
  /** True for an error the model should see (a `ToolError`, a bad input). */
  readonly isError?: boolean;
}

/** The MCP door's answer to one `tools/call`: a result, or a JSON-RPC error. */
export interface McpCallAnswer {
  readonly status: number;
  readonly result?: McpToolResult;
  readonly error?: { readonly code: number; readonly message: string };
}

/** One log line the server wrote during the test. */
export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly [property: string]: unknown;
}

/** A server built for a test; `await using` closes it. */
export interface TestServer extends AsyncDisposable {
  /** The API key every call sends (generated per server). */
  readonly key: string;
  /** The names of the tools served. */
  readonly tools: readonly string[];
  /** Calls `tool` through the REST door (`POST /v1/mcp/<tool>`). */
  call(tool: string, input: unknown): Promise<ToolCallAnswer>;
  /** Calls `tool` through the MCP door (`POST /mcp`, one `tools/call`). */
  callMcp(tool: string, args: unknown): Promise<McpCallAnswer>;
  /**
   * Sends any request (`path` is joined to `http://127.0.0.1`), with the key
   * unless `key` is null or another is given.
   */
  request(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  /**
   * Runs `query` on the server's database outside the pipeline (read-only,
   * no deadline): for a test's own independent look at the data.
   */
  query<R = Record<string, unknown>>(query: SqlQuery): Promise<SqlResult<R>>;
  /** What the server logged so far (a fault's details are here, not in the answer). */
  logs(): LogLine[];
  close(): Promise<void>;
}

/** Builds the server around `options.tools`; close it when done (or `await using`). */
export async function createTestServer(options: TestServerOptions): Promise<TestServer> {
  // A fresh key per server: nothing a test could leak is worth anything.
  const key = `test-${crypto.randomUUID().replaceAll("-", "")}`;
  const sink = createMemorySink();
  const config = parseConfig({ API_KEY_PRIMARY: key, ...options.env });
  const app = await createApp({
    config,
    logSinks: [sink],
    tools: options.tools,
    env: options.env,
    // prom-client's process metrics would load for nothing.
    processMetrics: false,
  });

  function request(
    path: string,
    init: RequestInit & { key?: string | null } = {},
  ): Promise<Response> {
    const { key: sent = key, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (sent !== null && !headers.has("authorization")) {
      headers.set("authorization", `Bearer ${sent}`);
    }
    return app.handler(new Request(new URL(path, "http://127.0.0.1"), { ...rest, headers }));
  }

  let closed: Promise<void> | undefined;
  const close = () => closed ??= app.close();
  return {
    key,
    tools: app.registry.tools.map((t) => t.name),
    async call(tool, input) {
      const res = await request(`/v1/mcp/${encodeURIComponent(tool)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: await res.json() };
    },
    async callMcp(tool, args) {
      const res = await request("/mcp", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          // The Streamable HTTP transport refuses a client that cannot take both.
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: tool, arguments: args },
        }),
      });
      const body = await res.json();
      return { status: res.status, result: body.result, error: body.error };
    },
    request,
    query: (query) => app.sql.query(query),
    logs: () =>
      sink.records.map((r) => ({ ...r.properties, level: r.level, message: String(r.rawMessage) })),
    close,
    [Symbol.asyncDispose]: close,
  };
}
