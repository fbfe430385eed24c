import assert from "node:assert/strict";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { parseResponse } from "./raw_http.ts";

/**
 * Sends `head` and the start of a body that never ends, and reads one
 * response (Deno keeps the socket open after it: the body is still due).
 */
async function stalledBody(port: number, head: string, start: string, limitMs: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = performance.now();
  try {
    await conn.write(new TextEncoder().encode(head + start));
    const buf = new Uint8Array(8192);
    let text = "";
    const deadline = setTimeout(() => conn.close(), limitMs);
    try {
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return undefined;
        text += new TextDecoder().decode(buf.subarray(0, n));
        const split = text.indexOf("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(text)?.[1];
        if (split !== -1 && length && text.length >= split + 4 + Number(length)) {
          return { response: parseResponse(text), ms: performance.now() - started };
        }
      }
    } finally {
      clearTimeout(deadline);
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed at the limit */ }
  }
}

Deno.test("a slow body is a JSON 408 at HTTP_BODY_TIMEOUT_SECONDS on both doors, with or without Content-Length", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS, env: { HTTP_BODY_TIMEOUT_SECONDS: "0.5" } });
  const server = serveOnLoopback(app);
  const port = Number(new URL(server.url).port);
  try {
    const common = `Host: 127.0.0.1:${port}\r\nAuthorization: Bearer ${PRIMARY_KEY}\r\n` +
      "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n";
    for (const path of ["/v1/mcp/echo", "/mcp"]) {
      for (
        const [framing, start] of [
          ["Content-Length: 100\r\n\r\n", '{"text":'],
          ["Transfer-Encoding: chunked\r\n\r\n", '8\r\n{"text":\r\n'],
        ]
      ) {
        const got = await stalledBody(
          port,
          `POST ${path} HTTP/1.1\r\n${common}${framing}`,
          start,
          5_000,
        );
        assert.ok(got, `${path} ${framing.trim()}: no answer within 5 s`);
        assert.equal(got.response.status, 408, path);
        const body = JSON.parse(got.response.body);
        assert.match(body.error, /^Request body timeout/);
        assert.equal(body.request_id, got.response.headers["x-request-id"]);
        assert.ok(got.ms >= 400 && got.ms < 3_000, `${path}: answered after ${got.ms} ms`);
      }
    }
    assert.equal(
      app.lines().filter((l) => l.message === "request error" && l.status_code === 408).length,
      4,
    );
  } finally {
    await server.stop();
    await app.close();
  }
});
