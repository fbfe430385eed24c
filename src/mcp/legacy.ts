/**
 * The handshake era (2025-11-25 and earlier) of `/mcp`: `initialize`, then
 * requests whose protocol version the `MCP-Protocol-Version` header names,
 * served statelessly with JSON responses. Protocol handling stays the SDK's
 * (1.32's low-level `Server` and web-standard transport); the plain forms of
 * the messages every session sends are answered without it, exactly as it
 * would answer them (see `fastRequest`; the differential test
 * tests/mcp/fast_path_test.ts compares the two).
 *
 * The SDK refuses to reuse a stateless transport or connect a server twice,
 * so each request off the fast path gets a low-level `Server` (two handlers;
 * the tool list is built once at start, not registered per request) and a
 * shared JSON Schema validator (building one per request halves throughput).
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
import type { CallToolResult as SdkCallToolResult } from "@modelcontextprotocol/sdk/types";
// @ts-types="@modelcontextprotocol/sdk/shared/mediaType"
import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js";
import { answerHeaders } from "../http/responses.ts";
import { tell } from "../http/answer.ts";
import type { RequestContext } from "../http/context.ts";
import { unknownTool } from "../http/admission.ts";
import { type CallContext, callContextOf, type InvokeResult } from "../tools/invoke.ts";
import type { Tool } from "../tools/define.ts";
import type { Registry } from "../tools/registry.ts";
import { callToolResultJson, toCallToolResult } from "./results.ts";
import { idOf, INVALID_PARAMS, SERVER_CAPABILITIES } from "./wire.ts";

/** What the handshake era needs. */
export interface LegacyEraOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly maxBodyBytes: number;
  readonly serverInfo: { readonly name: string; readonly version: string };
  /**
   * Answer plain `tools/call` and `tools/list` requests without building an
   * SDK server and transport (default true). Off only in the differential
   * test that proves both paths answer alike.
   */
  readonly fastPath?: boolean;
  /** Told which path answered each request (tests). */
  readonly onPath?: (path: "fast" | "sdk") => void;
}

/** Answers one admitted handshake-era body (`parsed`: `undefined` when not JSON). */
export type LegacyEra = (
  req: Request,
  ctx: RequestContext,
  parsed: unknown,
  body: { readonly text: string },
) => Promise<Response>;

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

/** What the SDK path uses, loaded once. */
interface Sdk {
  readonly Server: typeof SdkServer.Server;
  readonly Transport: typeof SdkTransport.WebStandardStreamableHTTPServerTransport;
  readonly types: typeof SdkTypes;
  readonly serverOptions: SdkServer.ServerOptions;
}

/** Builds the handshake era's answerer. */
export function legacyEra(options: LegacyEraOptions): LegacyEra {
  const { registry, invoke } = options;
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
        capabilities: SERVER_CAPABILITIES,
        // One validator for every request (building one per request halves throughput).
        jsonSchemaValidator: new ajv.AjvJsonSchemaValidator(),
      },
    }));

  return answer;

  /** The answer to a request that was admitted. */
  async function answer(
    req: Request,
    ctx: RequestContext,
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
    const { CallToolRequestSchema, ListToolsRequestSchema } = types;
    // A single (non-batch) call of a cacheable tool says `X-Cache` on the response.
    let cacheHeader: "hit" | "miss" | undefined;
    // Set once a tool call wrote its audit line; the answer carries it (see http/answer.ts).
    let audited = false;
    const server = new Server({ ...options.serverInfo }, serverOptions);
    server.setRequestHandler(
      ListToolsRequestSchema,
      () => ({ tools: registry.descriptorsFor(ctx.principal!) }),
    );
    server.setRequestHandler(CallToolRequestSchema, async (request): Promise<SdkCallToolResult> => {
      const name = request.params.name;
      const tool = registry.get(name);
      if (!tool) {
        // The SDK sends a thrown error's code and message verbatim; an
        // McpError's message would carry its own "MCP error -32602: " prefix,
        // which SDK clients then prefix again. The message is the admission
        // gate's (a hostile name is never echoed).
        throw Object.assign(new Error(unknownTool(name).message), { code: INVALID_PARAMS });
      }
      const result = await invoke(
        tool,
        request.params.arguments ?? {},
        callContextOf(req, ctx, "mcp"),
      );
      audited = true;
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
      return tell(await withReadableId(response, parsed), { audited });
    } finally {
      await server.close();
    }
  }

  /** The SDK's reply for a request `fastRequest` vouched for. */
  async function answerFast(
    fast: FastRequest,
    req: Request,
    ctx: RequestContext,
  ): Promise<Response> {
    // Only notifications: 202 and no body, as the transport answers them.
    if (fast.kind === "initialized") return new Response(null, { status: 202 });
    // The result as JSON text; a call's is written by hand so its value is
    // serialized once (see callToolResultJson).
    let result: string;
    // Key order and headers as the SDK's Protocol and transport write them.
    const headers: Record<string, string> = { "content-type": "application/json" };
    switch (fast.kind) {
      case "call": {
        const outcome = await invoke(
          fast.tool,
          fast.arguments ?? {},
          callContextOf(req, ctx, "mcp"),
        );
        result = callToolResultJson(outcome, ctx.requestId);
        if (outcome.ok && outcome.cache) headers["x-cache"] = outcome.cache;
        break;
      }
      case "list":
        result = JSON.stringify({ tools: registry.descriptorsFor(ctx.principal!) });
        break;
      case "initialize":
        // The SDK Server's own answer: the client's version if supported, else the latest.
        result = JSON.stringify({
          protocolVersion: FAST_PATH_PROTOCOL_VERSIONS.includes(fast.version)
            ? fast.version
            : FAST_PATH_LATEST_PROTOCOL_VERSION,
          capabilities: SERVER_CAPABILITIES,
          serverInfo: options.serverInfo,
        });
        break;
      case "ping":
        result = "{}";
        break;
    }
    // With the app's headers given at once (see answerHeaders in responses.ts).
    return tell(
      new Response(`{"result":${result},"jsonrpc":"2.0","id":${JSON.stringify(fast.id)}}`, {
        status: 200,
        headers: answerHeaders(ctx, headers),
      }),
      { stamped: true, audited: fast.kind === "call" },
    );
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

/**
 * The SDK's transport answers its own refusals (406, 415, a bad
 * `MCP-Protocol-Version`, an invalid message) with `"id": null` even when the
 * request's id was readable; a client then cannot tell which request failed.
 * Such an answer gets the id back; everything else passes untouched (only
 * error answers are read, so the ordinary path costs nothing).
 */
async function withReadableId(response: Response, parsed: unknown): Promise<Response> {
  if (response.status < 400) return response;
  const id = idOf(parsed);
  if (id === null || !response.headers.get("content-type")?.includes("application/json")) {
    return response;
  }
  const text = await response.text();
  let body: { id?: unknown } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const out = body && typeof body === "object" && body.id === null
    ? JSON.stringify({ ...body, id })
    : text;
  return new Response(out, { status: response.status, headers: response.headers });
}
