import assert from "node:assert/strict";
import { isMcpContent, mcpContent } from "../../src/mcp/content.ts";
import { toCallToolResult } from "../../src/mcp/results.ts";

Deno.test("mcpContent() blocks go out on /mcp as they are, without structured content", () => {
  const image = { type: "image", data: "AAAA", mimeType: "image/png" } as const;
  const result = toCallToolResult({ ok: true, value: mcpContent([image]) }, "req-1");
  assert.deepEqual(result, { content: [image] });
});

Deno.test("isMcpContent() refuses a plain object that only looks like content", () => {
  const lookalike = { content: [{ type: "image", data: "AAAA", mimeType: "image/png" }] };
  assert.equal(isMcpContent(lookalike), false);
  assert.equal(isMcpContent(null), false);
  assert.equal(isMcpContent("content"), false);
  // A tool's ordinary result with a `content` field stays one JSON text block.
  const result = toCallToolResult({ ok: true, value: lookalike }, "req-1");
  assert.equal(result.content.length, 1);
  assert.equal(result.content[0].type, "text");
  assert.deepEqual(result.structuredContent, lookalike);
});
