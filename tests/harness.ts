/**
 * Shared test helpers: build an app with a test config and a memory log
 * sink, send it requests without a socket, and read its log lines.
 *
 * @module
 */
import { type App, createApp } from "../src/app.ts";
import { parseConfig } from "../src/config/env.ts";
import type { RequestContext } from "../src/http/context.ts";
import { createLogger, createMemorySink, type LogRecord } from "../src/observability/logger.ts";
import type { SqlSource } from "../src/sources/db/sql_source.ts";
import type { Tool } from "../src/tools/define.ts";

export const PRIMARY_KEY = "primary-test-key-0123456789";
export const SECONDARY_KEY = "secondary-test-key-9876543210";

/** What a test request adds to `RequestInit`. */
export interface TestRequestOptions {
  /** The bearer key (default: the primary test key; `null`: none). */
  key?: string | null;
  /** The peer address the request arrives from, as the socket would give it. */
  peer?: string;
}

/** An app plus the log records it wrote. */
export interface TestApp extends App {
  readonly records: LogRecord[];
  /**
   * Sends a request to the handler (no socket). `path` is joined to
   * http://127.0.0.1:8000; `peer` is the socket address the handler is told
   * the request came from (none by default).
   */
  request(path: string, init?: RequestInit & TestRequestOptions): Promise<Response>;
  /** The log lines' properties plus message, for assertions. */
  lines(): Record<string, unknown>[];
}

/** Builds an app from `env` on top of two test keys. */
export async function createTestApp(
  options: { env?: Record<string, string>; tools?: readonly Tool[]; sql?: SqlSource } = {},
): Promise<TestApp> {
  const sink = createMemorySink();
  const config = parseConfig({
    API_KEY_PRIMARY: PRIMARY_KEY,
    API_KEY_SECONDARY: SECONDARY_KEY,
    LOG_LEVEL: "debug",
    ...options.env,
  });
  const app = await createApp({
    config,
    logSinks: [sink],
    sql: options.sql,
    tools: options.tools,
    env: options.env,
    processMetrics: false,
  });
  return {
    ...app,
    records: sink.records,
    request(path, init = {}) {
      const { key = PRIMARY_KEY, peer, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key !== null && !headers.has("authorization")) {
        headers.set("authorization", `Bearer ${key}`);
      }
      const info = peer === undefined ? undefined : {
        remoteAddr: { transport: "tcp" as const, hostname: peer, port: 40_000 },
        completed: Promise.resolve(),
      };
      return app.handler(new Request(`http://127.0.0.1:8000${path}`, { ...rest, headers }), info);
    },
    lines() {
      return sink.records.map((r) => ({ message: r.rawMessage, level: r.level, ...r.properties }));
    },
  };
}

/** POSTs `body` as JSON to the REST door. */
export function postJson(
  app: TestApp,
  path: string,
  body: unknown,
  init: RequestInit & TestRequestOptions = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  return app.request(path, {
    ...init,
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The MCP Streamable HTTP headers a client must send. */
export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
} as const;

/** Calls `tool` with `args` through the MCP door (one `tools/call`, id 1). */
export function mcpToolCall(app: TestApp, tool: string, args: unknown): Promise<Response> {
  return app.request("/mcp", {
    method: "POST",
    headers: MCP_HEADERS,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: tool, arguments: args },
    }),
  });
}

/** Serves `app` on a free loopback port; returns its base URL and a stop function. */
export function serveOnLoopback(app: App): { url: string; stop(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stop: () => server.shutdown(),
  };
}

/** Reads the error body and checks its shape. */
export async function errorOf(
  res: Response,
): Promise<
  {
    error: string;
    status: string;
    request_id: string;
    details?: { field: string; message: string }[];
  }
> {
  const body = await res.json();
  if (
    typeof body.error !== "string" || typeof body.status !== "string" ||
    typeof body.request_id !== "string"
  ) {
    throw new Error(`Not an error body: ${JSON.stringify(body)}`);
  }
  return body;
}

/** A request context for driving one middleware directly, with a logger that drops lines. */
export function requestContext(url = "http://localhost:8000/v1/mcp"): RequestContext {
  return {
    requestId: "test-request",
    startedAt: 0,
    url: new URL(url),
    remoteAddress: "127.0.0.1",
    log: createLogger({ level: "error", sinks: [] }),
    principal: undefined,
    rateLimit: undefined,
  };
}
