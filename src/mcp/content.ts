/**
 * A tool result that is already MCP content (images, audio, embedded
 * resources, several blocks): the MCP door sends its blocks as they are,
 * instead of the one JSON text block every other result becomes. The REST
 * door sends it as the JSON object `{"content": [...]}`.
 *
 * @module
 */

const BRAND: unique symbol = Symbol("mcp content");

/** One MCP content block (`text`, `image`, `audio`, `resource`, `resource_link`). */
export type ContentBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly data: string; readonly mimeType: string }
  | { readonly type: "audio"; readonly data: string; readonly mimeType: string }
  | {
    readonly type: "resource";
    readonly resource:
      | { readonly uri: string; readonly mimeType?: string; readonly text: string }
      | { readonly uri: string; readonly mimeType?: string; readonly blob: string };
  };

/** A result made of content blocks, told apart from plain values by a private brand. */
export interface McpContent {
  readonly content: readonly ContentBlock[];
  readonly [BRAND]: true;
}

/**
 * Wraps content blocks as a tool result.
 *
 * @example A text and an image block
 * ```ts
 * import { isMcpContent, mcpContent } from "./content.ts";
 * import assert from "node:assert/strict";
 *
 * const result = mcpContent([{ type: "text", text: "hi" }]);
 * assert.ok(isMcpContent(result));
 * assert.equal(JSON.stringify(result), '{"content":[{"type":"text","text":"hi"}]}');
 * assert.ok(!isMcpContent({ content: [] }));
 * ```
 */
export function mcpContent(blocks: readonly ContentBlock[]): McpContent {
  return Object.freeze({ content: blocks, [BRAND]: true as const });
}

/** Whether `value` came from {@linkcode mcpContent} (a look-alike object does not count). */
export function isMcpContent(value: unknown): value is McpContent {
  return typeof value === "object" && value !== null && BRAND in value;
}
