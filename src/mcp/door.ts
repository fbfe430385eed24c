/**
 * The MCP door: Streamable HTTP at `/mcp`, stateless (no sessions, so any
 * replica can answer any request), JSON responses. Protocol handling stays
 * the SDK's; `tools/list` and `tools/call` are answered from the registry and
 * through the same pipeline as the REST door. The plain forms of the
 * messages every session sends are answered without the SDK, exactly as it
 * would answer them (see `fastRequest`; a differential test compares).
 *
 * The SDK refuses to reuse a stateless transport or connect a server twice,
 * so each request gets a low-level `Server` (two handlers; the tool list is
 * built once at start, not registered per request) and a shared JSON Schema
 * validator (building one per request halves throughput).
 *
 * @module
 */
// The SDK's server, transport, validator and protocol schemas are loaded on
// the first message off the fast path, not at start: they are ~100 ms of a
// cold start and several MB of memory, and an ordinary client session
// (initialize, the initialized notification, tools/list, tools/call, ping)
// needs none of them.
import type * as SdkServer from "@modelcontextprotocol/sdk/server";
import type * as SdkTransport from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp";
import type * as SdkAjv from "@modelcontextprotocol/sdk/validation/ajv";
import type * as SdkTypes from "@modelcontextprotocol/sdk/types";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
// @ts-types="@modelcontextprotocol/sdk/shared/mediaType"
import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js";
// @ts-types="@modelcontextprotocol/sdk/server/requestBody"
import { requestBodyTooLargeMessage } from "@modelcontextprotocol/sdk/server/requestBody.js";
import { type BodyDeadline, readBodyBytes } from "../http/body.ts";
import { answerHeaders } from "../http/responses.ts";
import type { Handler } from "../http/context.ts";
import type { RateLimitPolicy } from "../http/middleware/rate_limit.ts";
import type { ConcurrencyLimit } from "../ratelimit/concurrency.ts";
import { type CallContext, callContextOf, type InvokeResult } from "../tools/invoke.ts";
import type { Tool } from "../tools/define.ts";
import { errorBody, ToolError } from "../tools/errors.ts";
import { isMcpContent } from "./content.ts";
import { insufficientScope, mayCall } from "../auth/scopes.ts";
import type { Registry } from "../tools/registry.ts";
import { TOOL_NAME_PATTERN } from "../tools/registry.ts";

/** What the MCP door needs. */
export interface McpDoorOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly maxBodyBytes: number;
  /** `HTTP_BODY_TIMEOUT_SECONDS`: a body still arriving then is a 408. */
  readonly bodyDeadline?: BodyDeadline;
  readonly serverInfo: { readonly name: string; readonly version: string };
  readonly rateLimit: RateLimitPolicy;
  /** The per-key bound on calls running at once; absent: none (unit tests). */
  readonly concurrency?: ConcurrencyLimit;
  /**
   * Answer plain `tools/call` and `tools/list` requests without building an
   * SDK server and transport (default true). Off only in the differential
   * test that proves both paths answer alike.
   */
  readonly fastPath?: boolean;
  /** Told which path answered each request (tests). */
  readonly onPath?: (path: "fast" | "sdk") => void;
}

/**
 * The protocol versions the fast path accepts in `MCP-Protocol-Version`: the
 * SDK's `SUPPORTED_PROTOCOL_VERSIONS`, copied so the fast path does not load
 * the SDK's schemas (a test keeps the two equal).
 */
export const FAST_PATH_PROTOCOL_VERSIONS: readonly string[] = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
];

/**
 * The SDK's `LATEST_PROTOCOL_VERSION`: what `initialize` answers when the
 * client asks for a version the server does not support (a test keeps the
 * two equal).
 */
export const FAST_PATH_LATEST_PROTOCOL_VERSION = FAST_PATH_PROTOCOL_VERSIONS[0];

/**
 * What the server declares in `initialize`, on either path. `logging`:
 * `logging/setLevel` is accepted (the SDK's handler); the door answers with
 * JSON, so no log notification is ever sent.
 */
const CAPABILITIES = Object.freeze({
  tools: Object.freeze({ listChanged: false }),
  logging: Object.freeze({}),
});

/** What the SDK path uses, loaded once. */
interface Sdk {
  readonly Server: typeof SdkServer.Server;
  readonly Transport: typeof SdkTransport.WebStandardStreamableHTTPServerTransport;
  readonly types: typeof SdkTypes;
  readonly serverOptions: SdkServer.ServerOptions;
}

/** Builds the `/mcp` POST handler. */
export function mcpDoor(options: McpDoorOptions): Handler {
  const { registry, invoke } = options;
  // Stateless without `stream: true`: one for every request.
  const decoder = new TextDecoder();
  let sdk: Promise<Sdk> | undefined;
  const loadSdk = () =>
    sdk ??= Promise.all([
      import("@modelcontextprotocol/sdk/server/index.js") as Promise<typeof SdkServer>,
      import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js") as Promise<
        typeof SdkTransport
      >,
      import("@modelcontextprotocol/sdk/validation/ajv") as Promise<typeof SdkAjv>,
      import("@modelcontextprotocol/sdk/types.js") as Promise<typeof SdkTypes>,
    ]).then(([server, transport, ajv, types]) => ({
      Server: server.Server,
      Transport: transport.WebStandardStreamableHTTPServerTransport,
      types,
      serverOptions: {
        capabilities: CAPABILITIES,
        // One validator for every request (building one per request halves throughput).
        jsonSchemaValidator: new ajv.AjvJsonSchemaValidator(),
      },
    }));

  return async function mcp(req: Request, ctx: Parameters<Handler>[1]): Promise<Response> {
    // The body is read here (capped, as the SDK's reader caps it) so the rate
    // limit can weigh the tool calls in it before anything runs; the parsed
    // message then goes to the SDK, which keeps every protocol check.
    const bytes = await readBodyBytes(req, options.maxBodyBytes, options.bodyDeadline);
    if (bytes === undefined) {
      return jsonRpcError(413, -32000, requestBodyTooLargeMessage(options.maxBodyBytes), null);
    }
    // Decoded as the SDK's own reader does (not fatal: bad bytes become U+FFFD).
    const body = { text: decoder.decode(bytes) };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      parsed = undefined;
    }
    const called = toolsCalled(parsed, registry);
    let release: (() => void) | undefined;
    try {
      const limiting = options.rateLimit.enforce(
        ctx,
        costOf(parsed, options.rateLimit, registry),
        called,
      );
      if (limiting) await limiting;
      // Scopes are an HTTP-level refusal (403 + WWW-Authenticate), as the MCP
      // authorization spec has it, for the whole request, a batch included.
      for (const name of called) {
        const tool = registry.get(name);
        if (tool && !mayCall(ctx.principal!, tool)) throw insufficientScope(tool);
      }
      // One slot per tool call in the message (a batch's run at once), held
      // until the answer is built: with JSON responses, every call is over by then.
      if (called.length > 0) {
        release = options.concurrency?.acquire(ctx.principal!.id, called.length);
      }
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      return jsonRpcError(error.httpStatus, -32000, error.message, idOf(parsed), {
        ...errorBody(error, ctx.requestId),
      }, error.headers);
    }
    try {
      return await answer(req, ctx, parsed, body);
    } finally {
      release?.();
    }
  };

  /** The answer to a request that was admitted. */
  async function answer(
    req: Request,
    ctx: Parameters<Handler>[1],
    parsed: unknown,
    body: { readonly text: string },
  ): Promise<Response> {
    if (options.fastPath !== false) {
      const fast = fastRequest(req, parsed, registry);
      if (fast) {
        options.onPath?.("fast");
        return await answerFast(fast, req, ctx);
      }
    }
    options.onPath?.("sdk");
    const { Server, Transport, types, serverOptions } = await loadSdk();
    const { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } = types;
    // A single (non-batch) call of a cacheable tool says `X-Cache` on the response.
    let cacheHeader: "hit" | "miss" | undefined;
    const server = new Server({ ...options.serverInfo }, serverOptions);
    server.setRequestHandler(
      ListToolsRequestSchema,
      () => ({ tools: registry.descriptorsFor(ctx.principal!) }),
    );
    server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
      const name = request.params.name;
      const tool = registry.get(name);
      if (!tool) {
        // The SDK sends a thrown message verbatim: only ever a safe one.
        throw new McpError(
          ErrorCode.InvalidParams,
          TOOL_NAME_PATTERN.test(name) ? `Unknown tool: ${name}` : "Unknown tool",
        );
      }
      const result = await invoke(
        tool,
        request.params.arguments ?? {},
        callContextOf(req, ctx, "mcp"),
      );
      ctx.audited = true;
      if (result.ok && result.cache && !Array.isArray(parsed)) cacheHeader = result.cache;
      return toCallToolResult(result, ctx.requestId);
    });
    const transport = new Transport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.maxBodyBytes,
    });
    await server.connect(transport);
    try {
      const response = parsed === undefined
        // Not JSON: the SDK answers it exactly as it would have.
        ? await transport.handleRequest(
          new Request(req.url, { method: req.method, headers: req.headers, body: body.text }),
        )
        : await transport.handleRequest(req, { parsedBody: parsed });
      if (cacheHeader) response.headers.set("x-cache", cacheHeader);
      return response;
    } finally {
      await server.close();
    }
  }

  /** The SDK's reply for a request `fastRequest` vouched for. */
  async function answerFast(
    fast: FastRequest,
    req: Request,
    ctx: Parameters<Handler>[1],
  ): Promise<Response> {
    // Only notifications: 202 and no body, as the transport answers them.
    if (fast.kind === "initialized") return new Response(null, { status: 202 });
    let result: unknown;
    // Key order and headers as the SDK's Protocol and transport write them.
    const headers: Record<string, string> = { "content-type": "application/json" };
    switch (fast.kind) {
      case "call": {
        const outcome = await invoke(
          fast.tool,
          fast.arguments ?? {},
          callContextOf(req, ctx, "mcp"),
        );
        ctx.audited = true;
        result = toCallToolResult(outcome, ctx.requestId);
        if (outcome.ok && outcome.cache) headers["x-cache"] = outcome.cache;
        break;
      }
      case "list":
        result = { tools: registry.descriptorsFor(ctx.principal!) };
        break;
      case "initialize":
        // The SDK Server's own answer: the client's version if supported, else the latest.
        result = {
          protocolVersion: FAST_PATH_PROTOCOL_VERSIONS.includes(fast.version)
            ? fast.version
            : FAST_PATH_LATEST_PROTOCOL_VERSION,
          capabilities: CAPABILITIES,
          serverInfo: options.serverInfo,
        };
        break;
      case "ping":
        result = {};
        break;
    }
    // With the app's headers given at once (see answerHeaders in responses.ts).
    return new Response(JSON.stringify({ result, jsonrpc: "2.0", id: fast.id }), {
      status: 200,
      headers: answerHeaders(ctx, headers),
    });
  }
}

/** A message the fast path answers. */
type FastRequest =
  | {
    readonly kind: "call";
    readonly id: string | number;
    readonly tool: Tool;
    readonly arguments: Record<string, unknown> | undefined;
  }
  | { readonly kind: "list" | "ping"; readonly id: string | number }
  | { readonly kind: "initialize"; readonly id: string | number; readonly version: string }
  | { readonly kind: "initialized" };

const PLAIN_REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const PLAIN_CALL_KEYS = new Set(["name", "arguments"]);
const INITIALIZE_KEYS = new Set(["protocolVersion", "capabilities", "clientInfo"]);
const CLIENT_INFO_KEYS = new Set(["name", "version", "title", "websiteUrl", "description"]);

/**
 * The fast path takes only what the SDK would certainly accept and answer in
 * one known way, and headers the transport accepts (Accept listing both
 * types, a JSON Content-Type, a supported or absent MCP-Protocol-Version):
 * - one JSON-RPC request (no batch) with no fields beyond `jsonrpc`, `id`,
 *   `method`, `params`, and an id the SDK takes (a string or safe integer);
 * - `tools/call` with only `name` (a registered tool) and an object `arguments`;
 * - `tools/list` and `ping` without params, or with `{}`;
 * - `initialize` as clients send it (see `plainInitialize`);
 * - the `notifications/initialized` notification without params.
 * Everything else, including `_meta`, cursors and every error, goes to the
 * SDK, so protocol behaviour stays exactly its own. With `initialize` and
 * the notification here, an ordinary client session never loads the SDK.
 */
function fastRequest(req: Request, message: unknown, registry: Registry): FastRequest | undefined {
  if (message === null || typeof message !== "object" || Array.isArray(message)) return undefined;
  const msg = message as Record<string, unknown>;
  if (msg.jsonrpc !== "2.0") return undefined;
  const id = msg.id;
  // No id at all (JSON has no undefined): a notification.
  const notification = !("id" in msg);
  if (!notification && typeof id !== "string" && !Number.isSafeInteger(id)) return undefined;
  for (const key in msg) if (!PLAIN_REQUEST_KEYS.has(key)) return undefined;
  const accept = req.headers.get("accept");
  if (!accept?.includes("application/json") || !accept.includes("text/event-stream")) {
    return undefined;
  }
  if (!isJsonContentType(req.headers.get("content-type"))) return undefined;
  const version = req.headers.get("mcp-protocol-version");
  if (version !== null && !FAST_PATH_PROTOCOL_VERSIONS.includes(version)) return undefined;
  const params = msg.params;
  if (notification) {
    return msg.method === "notifications/initialized" && params === undefined
      ? { kind: "initialized" }
      : undefined;
  }
  const requestId = id as string | number;
  switch (msg.method) {
    case "tools/call": {
      if (!isPlainObject(params)) return undefined;
      for (const key in params) if (!PLAIN_CALL_KEYS.has(key)) return undefined;
      const { name, arguments: args } = params;
      if (typeof name !== "string" || (args !== undefined && !isPlainObject(args))) {
        return undefined;
      }
      const tool = registry.get(name);
      if (!tool) return undefined;
      return {
        kind: "call",
        id: requestId,
        tool,
        arguments: args as Record<string, unknown> | undefined,
      };
    }
    case "tools/list":
    case "ping":
      if (params !== undefined && !isEmptyObject(params)) return undefined;
      return { kind: msg.method === "ping" ? "ping" : "list", id: requestId };
    case "initialize":
      return plainInitialize(params)
        ? { kind: "initialize", id: requestId, version: params.protocolVersion }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * `initialize` params the SDK's `InitializeRequestSchema` certainly accepts,
 * in the shapes clients send: exactly `protocolVersion` (a string),
 * `capabilities` and `clientInfo`. Capabilities may only be `roots` (with
 * an optional boolean `listChanged`), an empty `sampling` or an empty
 * `elicitation`; `clientInfo` a string `name` and `version` and optional
 * string `title`, `websiteUrl`, `description`. Anything richer (icons,
 * experimental or task capabilities, `_meta`) goes to the SDK, whose schema
 * then decides. The answer never depends on them: only on the version.
 */
function plainInitialize(params: unknown): params is { protocolVersion: string } {
  if (!isPlainObject(params)) return false;
  let count = 0;
  for (const key in params) {
    if (!INITIALIZE_KEYS.has(key)) return false;
    count++;
  }
  if (count !== INITIALIZE_KEYS.size || typeof params.protocolVersion !== "string") return false;
  const { capabilities, clientInfo } = params;
  if (!isPlainObject(capabilities) || !isPlainObject(clientInfo)) return false;
  for (const key in capabilities) {
    const value = capabilities[key];
    if (key === "sampling" || key === "elicitation") {
      if (!isEmptyObject(value)) return false;
    } else if (key === "roots") {
      if (!isPlainObject(value)) return false;
      for (const k in value) if (k !== "listChanged") return false;
      if (value.listChanged !== undefined && typeof value.listChanged !== "boolean") return false;
    } else {
      return false;
    }
  }
  for (const key in clientInfo) {
    if (!CLIENT_INFO_KEYS.has(key) || typeof clientInfo[key] !== "string") return false;
  }
  return typeof clientInfo.name === "string" && typeof clientInfo.version === "string";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isEmptyObject(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const _ in value) return false;
  return true;
}

/** Points a JSON-RPC message (or batch) costs: each tools/call its tool's weight, anything else 1. */
function costOf(message: unknown, policy: RateLimitPolicy, registry: Registry): number {
  const one = (m: unknown): number => {
    const msg = m as { method?: unknown; params?: { name?: unknown } } | null;
    return msg?.method === "tools/call" && typeof msg.params?.name === "string"
      ? policy.costOf(msg.params.name, registry.get(msg.params.name)?.rateLimitCost)
      : 1;
  };
  return Array.isArray(message)
    ? Math.max(1, message.reduce((sum, m) => sum + one(m), 0))
    : one(message);
}

/** The registered tools a message (or batch) calls. */
function toolsCalled(message: unknown, registry: Registry): string[] {
  const names: string[] = [];
  for (const m of Array.isArray(message) ? message : [message]) {
    const msg = m as { method?: unknown; params?: { name?: unknown } } | null;
    const name = msg?.method === "tools/call" ? msg.params?.name : undefined;
    if (typeof name === "string" && registry.get(name)) names.push(name);
  }
  return names;
}

function idOf(message: unknown): string | number | null {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}

/** A JSON-RPC error response, shaped like the SDK's own. */
function jsonRpcError(
  status: number,
  code: number,
  message: string,
  id: string | number | null,
  data?: Record<string, unknown>,
  headers?: Readonly<Record<string, string>>,
): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code, message, ...(data && { data }) }, id }),
    { status, headers: { "content-type": "application/json", ...headers } },
  );
}

/** A tool's outcome as an MCP result; failures are `isError` with the REST door's error body. */
export function toCallToolResult(result: InvokeResult, requestId: string): CallToolResult {
  if (!result.ok) {
    return {
      content: [{ type: "text", text: JSON.stringify(errorBody(result.error, requestId)) }],
      isError: true,
    };
  }
  const value = result.value;
  if (isMcpContent(value)) return { content: [...value.content] };
  const out: CallToolResult = { content: [{ type: "text", text: JSON.stringify(value) }] };
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    out.structuredContent = value as Record<string, unknown>;
  }
  return out;
}
