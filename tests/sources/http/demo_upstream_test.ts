import assert from "node:assert/strict";
import { API_TOOLS, BUILTIN_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, errorOf, postJson } from "../../harness.ts";

Deno.test("without API_BASE_URL in development, REST tools read the demo upstream end to end", async (t) => {
  const app = await createTestApp({ tools: BUILTIN_TOOLS });
  try {
    const started = app.lines().find((l) =>
      l.message === "demo upstream started: REST tools read the demo data through the real client"
    );
    assert.ok(started, "the start log says REST tools use the demo upstream");
    assert.match(String(started.upstream), /^http:\/\/127\.0\.0\.1:\d+$/);

    await t.step("get_customer agrees with the SQL tool on the same demo data", async () => {
      const viaApi = await postJson(app, "/v1/mcp/get_customer", { customer_id: 42 });
      const viaSql = await postJson(app, "/v1/mcp/lookup_customer", { id: 42 });
      assert.equal(viaApi.status, 200);
      assert.deepEqual(await viaApi.json(), await viaSql.json());
    });
    await t.step(
      "get_orders lists the customer's orders, newest first, filtered by status",
      async () => {
        const all = await (await postJson(app, "/v1/mcp/get_orders", { customer_id: 42 })).json();
        assert.ok(all.orders.length > 0);
        const dates = all.orders.map((o: { created_at: string }) => o.created_at);
        assert.deepEqual(dates, [...dates].sort().reverse());
        const done = await (await postJson(app, "/v1/mcp/get_orders", {
          customer_id: 42,
          status: "completed",
        })).json();
        assert.ok(done.orders.every((o: { status: string }) => o.status === "completed"));
        assert.equal(
          done.orders.length,
          all.orders.filter((o: { status: string }) => o.status === "completed").length,
        );
      },
    );
    await t.step("an unknown customer is 404 through the demo upstream too", async () => {
      const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 999_999 });
      assert.equal(res.status, 404);
      assert.equal((await errorOf(res)).error, "Customer not found");
    });
    await t.step("health reports the demo upstream responding", async () => {
      const res = await app.request("/health", { key: null });
      assert.equal((await res.json()).upstream_api, "responding");
    });
  } finally {
    await app.close();
  }
});

Deno.test("without API_BASE_URL in production, REST tools are not served, and the start log says why", async () => {
  const app = await createTestApp({
    tools: BUILTIN_TOOLS,
    env: { ENVIRONMENT: "production", DB_EMBEDDED: "true" },
  });
  try {
    const names = app.registry.tools.map((tool) => tool.name);
    for (const tool of API_TOOLS) assert.ok(!names.includes(tool.name), tool.name);
    assert.ok(names.includes("lookup_customer"));
    const warned = app.lines().find((l) =>
      l.message === "REST tools disabled: API_BASE_URL is not set"
    );
    assert.deepEqual(warned?.tools, ["get_customer", "get_orders"]);
    const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 1 });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await app.close();
  }
});
