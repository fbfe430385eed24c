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
import type { Handler } from "../http/context.ts";
import type { CallContext, InvokeResult } from "../tools/invoke.ts";
import type { Tool } from "../tools/define.ts";
import { errorBody } from "../tools/errors.ts";
import type { Registry } from "../tools/registry.ts";
import { TOOL_NAME_PATTERN } from "../tools/registry.ts";

/** What the MCP door needs. */
export interface McpDoorOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly maxBodyBytes: number;
  readonly serverInfo: { readonly name: string; readonly version: string };
}

/** Builds the `/mcp` POST handler. */
export function mcpDoor(options: McpDoorOptions): Handler {
  const { registry, invoke } = options;
  const toolsList = { tools: registry.descriptors };
  const validator = new AjvJsonSchemaValidator();
  const serverOptions = {
    capabilities: { tools: { listChanged: false } },
    jsonSchemaValidator: validator,
  };

  return async function mcp(req, ctx) {
    const server = new Server({ ...options.serverInfo }, serverOptions);
    server.setRequestHandler(ListToolsRequestSchema, () => toolsList);
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
      return await transport.handleRequest(req);
    } finally {
      await server.close();
    }
  };
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
