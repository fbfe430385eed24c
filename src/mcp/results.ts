/**
 * Results mapping: a tool's outcome as an MCP `CallToolResult`, the same for
 * both eras (the differential test holds them to it). Failures the model
 * should see are `isError: true` with the REST door's error body; server
 * faults never reach here (they are JSON-RPC or HTTP errors).
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
import type { InvokeResult } from "../tools/invoke.ts";
import { errorBody } from "../tools/errors.ts";
import { isMcpContent } from "./content.ts";

/**
 * A tool's outcome as an MCP result; failures are `isError` with the REST door's error body.
 *
 * @example
 * ```ts
 * import { toCallToolResult } from "./results.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(toCallToolResult({ ok: true, value: { n: 1 } }, "r1"), {
 *   content: [{ type: "text", text: '{"n":1}' }],
 *   structuredContent: { n: 1 },
 * });
 * ```
 */
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

/**
 * {@linkcode toCallToolResult} as JSON text, for the doors that write their
 * answers by hand. A structured value is serialized once: the same text is
 * the text content (as a JSON string) and the structured content (as JSON),
 * where serializing the result object would walk the value twice.
 *
 * @example The same JSON as serializing the result object
 * ```ts
 * import { callToolResultJson, toCallToolResult } from "./results.ts";
 * import assert from "node:assert/strict";
 *
 * const outcome = { ok: true as const, value: { rows: [{ id: 1, note: 'say "hi"' }] } };
 * assert.deepEqual(
 *   JSON.parse(callToolResultJson(outcome, "r1")),
 *   toCallToolResult(outcome, "r1"),
 * );
 * ```
 */
export function callToolResultJson(result: InvokeResult, requestId: string): string {
  if (result.ok) {
    const value = result.value;
    if (
      value !== null && typeof value === "object" && !Array.isArray(value) && !isMcpContent(value)
    ) {
      const text = JSON.stringify(value);
      return `{"content":[{"type":"text","text":${
        JSON.stringify(text)
      }}],"structuredContent":${text}}`;
    }
  }
  return JSON.stringify(toCallToolResult(result, requestId));
}
