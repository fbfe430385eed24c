import assert from "node:assert/strict";
import { jsonLineFormatter } from "../src/observability/logger.ts";
import { TEST_TOOLS } from "./fixtures/tools.ts";
import { createTestApp, errorOf, MCP_HEADERS, postJson } from "./harness.ts";

Deno.test("app", async (t) => {
  const app = await createTestApp({ tools: TEST_TOOLS });

  await t.step("echoes a sane X-Request-ID in the header, the body and the log", async () => {
    app.records.length = 0;
    const res = await postJson(app, "/v1/mcp/boom", {}, {
      headers: { "x-request-id": "abc.DEF_123-x" },
    });
    assert.equal(res.headers.get("x-request-id"), "abc.DEF_123-x");
    assert.equal((await errorOf(res)).request_id, "abc.DEF_123-x");
    assert.ok(app.lines().every((l) => l.request_id === "abc.DEF_123-x"));
  });

  await t.step("makes a UUID when there is no X-Request-ID", async () => {
    const res = await app.request("/health/live");
    assert.match(
      res.headers.get("x-request-id")!,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    await res.body?.cancel();
  });

  const hostile = [
    // Headers cannot carry newlines (fetch refuses them); quotes and braces can.
    'x"},{"level":"error","message":"forged',
    "a b",
    "x".repeat(129),
    "y".repeat(10 * 1024),
    "<script>",
    "caf\u00e9", // obs-text: legal in a header, not in an id
  ];
  for (const id of hostile) {
    await t.step(
      `replaces a hostile request id (${JSON.stringify(id.slice(0, 20))}…) everywhere`,
      async () => {
        app.records.length = 0;
        const res = await postJson(app, "/v1/mcp/boom", {}, { headers: { "x-request-id": id } });
        const echoed = res.headers.get("x-request-id")!;
        assert.notEqual(echoed, id);
        assert.match(echoed, /^[0-9a-f-]{36}$/);
        const body = await errorOf(res);
        assert.equal(body.request_id, echoed);
        const formatted = app.records.map(jsonLineFormatter).join("");
        assert.ok(!formatted.includes(id));
        assert.equal(formatted.split("\n").length - 1, app.records.length, "one line per record");
      },
    );
  }

  await t.step("answers an unknown path with a JSON 404", async () => {
    const res = await app.request("/nope/../../etc/passwd");
    assert.equal(res.status, 404);
    const body = await errorOf(res);
    assert.equal(body.status, "not_found");
  });

  await t.step("refuses a non-loopback Host on a loopback-bound server with 403", async () => {
    for (const host of ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"]) {
      const res = await postJson(app, "/v1/mcp/echo", { text: "x" }, { headers: { host } });
      assert.equal(res.status, 403, host);
      assert.equal((await errorOf(res)).status, "forbidden");
    }
    const mcp = await app.request("/mcp", {
      method: "POST",
      headers: { ...MCP_HEADERS, host: "evil.example" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(mcp.status, 403);
  });

  await t.step("refuses a foreign Origin with 403 and accepts its own", async () => {
    const foreign = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403);
    assert.equal((await errorOf(foreign)).error, "Forbidden: origin not allowed");
    const nullOrigin = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
      headers: { origin: "null" },
    });
    assert.equal(nullOrigin.status, 403);
    await nullOrigin.body?.cancel();
    const own = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
      headers: { origin: "http://127.0.0.1:8000" },
    });
    assert.equal(own.status, 200);
    await own.body?.cancel();
  });

  await t.step(
    "checks Host/Origin before auth, so a rebinding page learns nothing about keys",
    async () => {
      const res = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
        key: null,
        headers: { host: "evil.example" },
      });
      assert.equal(res.status, 403);
      await res.body?.cancel();
    },
  );

  await t.step("serves /health and /health/live without a key", async () => {
    const health = await app.request("/health", { key: null });
    assert.equal(health.status, 200);
    const body = await health.json();
    assert.equal(body.status, "healthy");
    assert.equal(body.database, "connected");
    assert.equal(body.upstream_api, "not_configured");
    const live = await app.request("/health/live", { key: null });
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: "alive" });
  });

  await t.step("writes one request-error line per refused request, naming no key", async () => {
    app.records.length = 0;
    const res = await app.request("/v1/mcp", { key: "wrong-key-wrong-key-wrong" });
    assert.equal(res.status, 401);
    await res.body?.cancel();
    assert.equal(app.records.length, 1);
    const [line] = app.lines();
    assert.equal(line.message, "request error");
    assert.equal(line.status_code, 401);
    assert.ok(!JSON.stringify(line).includes("wrong-key"));
  });

  await app.close();
});

Deno.test("app honours ALLOWED_HOSTS, ALLOWED_ORIGINS and TRUSTED_PROXIES", async () => {
  const app = await createTestApp({
    tools: TEST_TOOLS,
    env: {
      ALLOWED_HOSTS: "mcp.example.com",
      ALLOWED_ORIGINS: "https://app.example.com",
      TRUSTED_PROXIES: "10.0.0.0/8",
    },
  });
  try {
    const viaProxy = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
      peer: "10.1.2.3",
      headers: { "x-forwarded-host": "mcp.example.com", origin: "https://app.example.com" },
    });
    assert.equal(viaProxy.status, 200);
    await viaProxy.body?.cancel();
    const wrongHost = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
      peer: "10.1.2.3",
      headers: { "x-forwarded-host": "other.example.com" },
    });
    assert.equal(wrongHost.status, 403);
    await wrongHost.body?.cancel();
    // The same header from a peer that is no trusted proxy is the client's own word.
    const spoofed = await postJson(app, "/v1/mcp/echo", { text: "x" }, {
      peer: "203.0.113.5",
      headers: { "x-forwarded-host": "mcp.example.com" },
    });
    assert.equal(spoofed.status, 403);
    await spoofed.body?.cancel();
    // The listed host only: the loopback Host of the test request is not on the list.
    const direct = await postJson(app, "/v1/mcp/echo", { text: "x" });
    assert.equal(direct.status, 403);
    await direct.body?.cancel();
  } finally {
    await app.close();
  }
});
