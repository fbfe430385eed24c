import assert from "node:assert/strict";
import { answerHeaders, jsonAnswer } from "../../src/http/responses.ts";
import { factsOf } from "../../src/http/answer.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import {
  createTestApp,
  MCP_HEADERS,
  PRIMARY_KEY,
  requestContext,
  serveOnLoopback,
} from "../harness.ts";

Deno.test("answerHeaders() adds the request id and, once decided, the rate-limit headers", () => {
  const ctx = requestContext();
  const before = answerHeaders(ctx, { "content-type": "application/json" });
  assert.deepEqual(before, {
    "content-type": "application/json",
    "x-request-id": "test-request",
  });

  const limited = requestContext();
  limited.rateLimit = {
    allowed: true,
    limit: 100,
    remaining: 41,
    resetAtMs: 1_796_000_000_500,
    retryAfterSeconds: 0,
  };
  assert.deepEqual(answerHeaders(limited, {}), {
    "x-request-id": "test-request",
    "x-ratelimit-limit": "100",
    "x-ratelimit-remaining": "41",
    "x-ratelimit-reset": "1796000001",
  });
});

Deno.test("jsonAnswer() is a 200 JSON answer with the security headers and the extras", async () => {
  const ctx = requestContext();
  const res = jsonAnswer(ctx, { ok: true }, { "x-cache": "hit" });
  assert.equal(res.status, 200);
  assert.deepEqual(Object.fromEntries(res.headers), {
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
    "x-cache": "hit",
    "x-content-type-options": "nosniff",
    "x-request-id": "test-request",
  });
  assert.deepEqual(await res.json(), { ok: true });
  assert.deepEqual(factsOf(res), { stamped: true }, "the answer tells the kernel");
});

// Over a real socket: the headers a door gives at construction and those the
// app sets afterwards reach the caller through different paths in Deno.serve.
Deno.test("every success answer carries each app header once, on both doors", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  const server = serveOnLoopback(app);
  try {
    const auth = { authorization: `Bearer ${PRIMARY_KEY}`, "x-request-id": "req-once-1" };
    const mcp = (message: unknown) =>
      fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { ...MCP_HEADERS, ...auth },
        body: JSON.stringify(message),
      });
    const answers: [string, Response][] = [
      [
        "REST call",
        await fetch(`${server.url}/v1/mcp/echo`, {
          method: "POST",
          headers: { "content-type": "application/json", ...auth },
          body: JSON.stringify({ text: "hi" }),
        }),
      ],
      ["REST list", await fetch(`${server.url}/v1/mcp`, { headers: auth })],
      [
        "MCP call (fast path)",
        await mcp({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "echo", arguments: { text: "hi" } },
        }),
      ],
      [
        "MCP call (SDK path: _meta)",
        await mcp({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "echo", arguments: { text: "hi" }, _meta: { progressToken: 1 } },
        }),
      ],
    ];
    let remaining = Infinity;
    for (const [name, res] of answers) {
      await res.body?.cancel();
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("x-request-id"), "req-once-1", name);
      assert.equal(res.headers.get("x-ratelimit-limit"), "100", name);
      const left = Number(res.headers.get("x-ratelimit-remaining"));
      assert.ok(left < remaining, `${name}: ${left} after ${remaining}`);
      remaining = left;
      assert.match(res.headers.get("x-ratelimit-reset") ?? "", /^\d+$/, name);
      if (name.startsWith("REST")) {
        assert.equal(res.headers.get("cache-control"), "no-store", name);
        assert.equal(res.headers.get("x-content-type-options"), "nosniff", name);
      }
    }
  } finally {
    await server.stop();
    await app.close();
  }
});
