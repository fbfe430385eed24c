import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CONFORMANCE_TOOLS } from "../../src/mcp/conformance_fixtures.ts";
import { createTestApp, MCP_HEADERS, postJson, serveOnLoopback } from "../harness.ts";

const FIXTURES = { MCP_CONFORMANCE_FIXTURES: "true" };
const listTools = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });

Deno.test("conformance fixtures: a keyless SDK client lists and calls them on /mcp", async () => {
  const app = await createTestApp({ env: FIXTURES });
  const server = serveOnLoopback(app);
  const client = new Client({ name: "fixture-test", version: "1.0.0" });
  try {
    // No Authorization header, as the conformance suite's client.
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    const { tools } = await client.listTools();
    for (const tool of CONFORMANCE_TOOLS) assert.ok(tools.some((t) => t.name === tool.name));
    assert.ok(tools.some((t) => t.name === "lookup_customer"), "the real tools are served too");

    const text = await client.callTool({ name: "test_simple_text" });
    assert.deepEqual(text.content, [{
      type: "text",
      text: "This is a simple text response for testing.",
    }]);
    assert.equal(text.structuredContent, undefined);

    const mixed = await client.callTool({ name: "test_multiple_content_types", arguments: {} });
    const blocks = mixed.content as { type: string; mimeType?: string; data?: string }[];
    assert.deepEqual(blocks.map((b) => b.type), ["text", "image", "resource"]);
    const png = Uint8Array.from(atob(blocks[1].data!), (c) => c.charCodeAt(0));
    assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47], "a PNG");

    const audio = await client.callTool({ name: "test_audio_content" });
    const [wav] = audio.content as { mimeType: string; data: string }[];
    assert.equal(wav.mimeType, "audio/wav");
    assert.equal(atob(wav.data).slice(0, 4), "RIFF");

    const failed = await client.callTool({ name: "test_error_handling" });
    assert.equal(failed.isError, true);
    const body = JSON.parse((failed.content as { text: string }[])[0].text);
    assert.equal(body.error, "This tool intentionally returns an error for testing");

    // No logging capability is declared (a JSON answer never carries a log
    // notification), so logging/setLevel is a method the server does not have.
    await assert.rejects(() => client.setLoggingLevel("info"), /-32601/);
  } finally {
    await client.close();
    await server.stop();
    await app.close();
  }
  // Through the real pipeline: audit lines name the fixed principal.
  const calls = app.lines().filter((l) => l.message === "tool call");
  assert.ok(calls.length >= 4);
  assert.ok(calls.every((l) => l.principal === "conformance" && l.door === "mcp"));
  assert.ok(
    app.lines().some((l) => l.level === "warning" && String(l.message).includes("TEST ONLY")),
  );
});

Deno.test("conformance fixtures: a wrong key is still refused, and REST gets JSON content", async () => {
  const app = await createTestApp({ env: FIXTURES });
  try {
    const wrong = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: listTools,
      key: "wrong-key-0123456789abcdef",
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();

    const rest = await postJson(app, "/v1/mcp/test_embedded_resource", {}, { key: null });
    assert.equal(rest.status, 200);
    assert.deepEqual(await rest.json(), {
      content: [{
        type: "resource",
        resource: {
          uri: "test://embedded-resource",
          mimeType: "text/plain",
          text: "This is an embedded resource content.",
        },
      }],
    });
  } finally {
    await app.close();
  }
});

Deno.test("conformance fixtures: off by default (no fixtures, no keyless access)", async () => {
  const app = await createTestApp();
  try {
    const keyless = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: listTools,
      key: null,
    });
    assert.equal(keyless.status, 401);
    await keyless.body?.cancel();
    const listed = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: listTools,
    });
    const { result } = await listed.json();
    assert.ok(result.tools.length > 0);
    assert.ok(!result.tools.some((t: { name: string }) => t.name.startsWith("test_")));
  } finally {
    await app.close();
  }
});
