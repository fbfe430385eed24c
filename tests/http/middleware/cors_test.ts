import assert from "node:assert/strict";
import { SQL_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, MCP_HEADERS, postJson } from "../../harness.ts";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.com";

function preflight(origin: string, method = "POST", path = "/v1/mcp/lookup_customer") {
  return {
    path,
    init: {
      method: "OPTIONS",
      key: null,
      headers: {
        origin,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type",
      },
    },
  };
}

Deno.test("CORS with CORS_ORIGINS set", async (t) => {
  const app = await createTestApp({ tools: SQL_TOOLS, env: { CORS_ORIGINS: APP } });
  try {
    await t.step(
      "a preflight from a listed origin gets 204 with exactly what is allowed",
      async () => {
        const { path, init } = preflight(APP);
        const res = await app.request(path, init);
        assert.equal(res.status, 204);
        assert.equal(res.headers.get("access-control-allow-origin"), APP);
        assert.equal(res.headers.get("access-control-allow-methods"), "GET, POST");
        assert.match(res.headers.get("access-control-allow-headers")!, /authorization/);
        assert.equal(res.headers.get("access-control-allow-credentials"), null);
        assert.equal(res.headers.get("vary"), "Origin");
      },
    );
    await t.step("a preflight from another origin, or for another method, is refused", async () => {
      for (const [origin, method] of [[EVIL, "POST"], [APP, "DELETE"], ["null", "POST"]]) {
        const { path, init } = preflight(origin, method);
        const res = await app.request(path, init);
        assert.equal(res.status, 403, `${origin} ${method}`);
        assert.equal(res.headers.get("access-control-allow-origin"), null);
        assert.equal((await res.json()).status, "forbidden");
      }
    });
    await t.step(
      "a call from the listed origin carries the CORS headers and exposes the request id",
      async () => {
        const res = await postJson(app, "/v1/mcp/lookup_customer", { id: 42 }, {
          headers: { origin: APP },
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("access-control-allow-origin"), APP);
        assert.match(res.headers.get("access-control-expose-headers")!, /x-request-id/);
        assert.equal(res.headers.get("access-control-allow-credentials"), null);
        await res.body?.cancel();
      },
    );
    await t.step(
      "a call from another origin is refused by the Origin check, with no CORS headers",
      async () => {
        const res = await postJson(app, "/v1/mcp/lookup_customer", { id: 42 }, {
          headers: { origin: EVIL },
        });
        assert.equal(res.status, 403);
        assert.equal(res.headers.get("access-control-allow-origin"), null);
        await res.body?.cancel();
      },
    );
    await t.step("the docs are covered; the MCP door is not", async () => {
      const docs = await app.request("/openapi.json", { key: null, headers: { origin: APP } });
      assert.equal(docs.headers.get("access-control-allow-origin"), APP);
      await docs.body?.cancel();
      const { init } = preflight(APP, "POST", "/mcp");
      const mcpPreflight = await app.request("/mcp", init);
      assert.equal(mcpPreflight.status, 405);
      await mcpPreflight.body?.cancel();
      const mcp = await app.request("/mcp", {
        method: "POST",
        headers: { ...MCP_HEADERS, origin: APP },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      assert.equal(mcp.headers.get("access-control-allow-origin"), null);
      await mcp.body?.cancel();
    });
  } finally {
    await app.close();
  }
});

Deno.test("CORS is off by default: no preflight answer, no CORS headers", async () => {
  const app = await createTestApp({ tools: SQL_TOOLS });
  try {
    const { path, init } = preflight(APP);
    const res = await app.request(path, init);
    assert.equal(res.status, 405);
    await res.body?.cancel();
    const call = await postJson(app, "/v1/mcp/lookup_customer", { id: 42 });
    assert.equal(call.headers.get("access-control-allow-origin"), null);
    await call.body?.cancel();
  } finally {
    await app.close();
  }
});
