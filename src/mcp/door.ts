/**
 * The MCP door: Streamable HTTP at `/mcp`, stateless (no sessions, so any
 * replica can answer any request), JSON responses. Protocol handling stays
 * the SDK's; `tools/list` and `tools/call` are answered from the registry and
 * through the same pipeline as the REST door.
 *
 * The SDK refuses to reuse a stateless transport or connect a server twice,
 * so each request gets a low-level `Server` (two handlers; the tool list is
 * built once at start, not registered per request) and a shared JSON Schema
 * validator (building one per request halves throughput).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server"
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/validation/ajv"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/server/requestBody"
import {
  readRequestBody,
  requestBodyTooLargeMessage,
} from "@modelcontextprotocol/sdk/server/requestBody.js";
import type { Handler } from "../http/context.ts";
import type { RateLimitPolicy } from "../http/middleware/rate_limit.ts";
import type { CallContext, InvokeResult } from "../tools/invoke.ts";
import type { Tool } from "../tools/define.ts";
import { errorBody, ToolError } from "../tools/errors.ts";
import type { Registry } from "../tools/registry.ts";
import { TOOL_NAME_PATTERN } from "../tools/registry.ts";

/** What the MCP door needs. */
export interface McpDoorOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly maxBodyBytes: number;
  readonly serverInfo: { readonly name: string; readonly version: string };
  readonly rateLimit: RateLimitPolicy;
}

/** Builds the `/mcp` POST handler. */
export function mcpDoor(options: McpDoorOptions): Handler {
  const { registry, invoke } = options;
  const validator = new AjvJsonSchemaValidator();
  const serverOptions = {
    capabilities: { tools: { listChanged: false } },
    jsonSchemaValidator: validator,
  };

  return async function mcp(req, ctx) {
    // The body is read here (with the SDK's own capped reader) so the rate
    // limit can weigh the tool calls in it before anything runs; the parsed
    // message then goes to the SDK, which keeps every protocol check.
    const body = await readRequestBody(req, options.maxBodyBytes);
    if (body.tooLarge) {
      return jsonRpcError(413, -32000, requestBodyTooLargeMessage(options.maxBodyBytes), null);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      parsed = undefined;
    }
    try {
      await options.rateLimit.enforce(
        ctx,
        costOf(parsed, options.rateLimit, registry),
        toolsCalled(parsed, registry),
      );
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      return jsonRpcError(error.httpStatus, -32000, error.message, idOf(parsed), {
        ...errorBody(error, ctx.requestId),
      }, error.headers);
    }
    const server = new Server({ ...options.serverInfo }, serverOptions);
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: registry.descriptors }));
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
      const result = await invoke(tool, request.params.arguments ?? {}, {
        requestId: ctx.requestId,
        principal: ctx.principal!,
        log: ctx.log,
        signal: req.signal,
        door: "mcp",
        traceparent: req.headers.get("traceparent") ?? undefined,
      });
      ctx.audited = true;
      return toCallToolResult(result, ctx.requestId);
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.maxBodyBytes,
    });
    await server.connect(transport);
    try {
      return parsed === undefined
        // Not JSON: the SDK answers it exactly as it would have.
        ? await transport.handleRequest(
          new Request(req.url, { method: req.method, headers: req.headers, body: body.text }),
        )
        : await transport.handleRequest(req, { parsedBody: parsed });
    } finally {
      await server.close();
    }
  };
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
  const out: CallToolResult = { content: [{ type: "text", text: JSON.stringify(value) }] };
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    out.structuredContent = value as Record<string, unknown>;
  }
  return out;
}
