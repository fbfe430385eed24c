import assert from "node:assert/strict";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, errorOf, postJson, PRIMARY_KEY } from "../harness.ts";

Deno.test("refused requests are logged with method, route, path, client address and reason", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS, env: { TRUSTED_PROXIES: "10.0.0.0/8" } });
  try {
    const cases: [string, RequestInit & { key?: string | null }, number, string][] = [
      ["/v1/mcp/echo", { method: "POST", key: null }, 401, "unauthorized: Unauthorized"],
      ["/nowhere", { method: "GET" }, 404, "not_found: Not found"],
      ["/health", { method: "DELETE" }, 405, "invalid_input: Method not allowed"],
      [
        "/v1/mcp/echo",
        { method: "POST", headers: { "content-type": "text/plain" }, body: "x" },
        415,
        "invalid_input:",
      ],
    ];
    for (const [path, init, status, reason] of cases) {
      const res = await app.request(path, {
        ...init,
        peer: "10.0.0.2",
        headers: { ...init.headers as Record<string, string>, "x-forwarded-for": "198.51.100.4" },
      });
      assert.equal(res.status, status, path);
      await res.body?.cancel();
      const line = app.lines().findLast((l) => l.message === "request error");
      assert.equal(line?.status_code, status);
      assert.equal(line?.method, init.method);
      assert.equal(line?.path, path);
      assert.equal(typeof line?.route, "string");
      assert.equal(line?.client_address, "198.51.100.4", path);
      assert.ok(String(line?.reason).startsWith(reason), `${path}: ${line?.reason}`);
    }
  } finally {
    await app.close();
  }
});

Deno.test("the auth-failure lockout is told apart from a key's rate limit: body, log, metric", async () => {
  const app = await createTestApp({
    tools: TEST_TOOLS,
    env: { AUTH_FAILURE_LIMIT: "2", RATE_LIMIT_RPM: "1" },
  });
  const call = (key: string, peer: string) =>
    postJson(app, "/v1/mcp/echo", { text: "hi" }, { key, peer });
  try {
    for (let i = 0; i < 2; i++) {
      await (await call("wrong-key-wrong-key-wrong", "192.0.2.1")).body?.cancel();
    }
    const locked = await call(PRIMARY_KEY, "192.0.2.1");
    assert.equal(locked.status, 429);
    assert.equal((await errorOf(locked)).status, "auth_locked");
    assert.ok(
      app.lines().some((l) =>
        l.message === "auth lockout: address refused before its key is checked" &&
        l.client_address === "192.0.2.1"
      ),
    );
    // A key's own rate limit stays `rate_limited`.
    await (await call(PRIMARY_KEY, "192.0.2.2")).body?.cancel();
    const limited = await call(PRIMARY_KEY, "192.0.2.2");
    assert.equal(limited.status, 429);
    assert.equal((await errorOf(limited)).status, "rate_limited");
    const metrics = await app.metrics.registry.metrics();
    assert.match(metrics, /^auth_lockout_hits_total 1$/m);
  } finally {
    await app.close();
  }
});
