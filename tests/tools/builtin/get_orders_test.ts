import assert from "node:assert/strict";
import { API_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, errorOf, postJson } from "../../harness.ts";
import { scriptedUpstream } from "../../sources/http/upstream_fixture.ts";

const ORDERS = [
  { id: 11, amount: 12.5, status: "pending", created_at: "2025-03-01T00:00:00.000Z" },
  { id: 10, amount: 99, status: "completed", created_at: "2025-02-01T00:00:00.000Z" },
];

Deno.test("get_orders", async (t) => {
  const upstream = scriptedUpstream((req) => {
    const url = new URL(req.url);
    if (url.pathname === "/customers/404/orders") return Response.json({}, { status: 404 });
    const status = url.searchParams.get("status");
    const orders = ORDERS.filter((o) => status === "all" || o.status === status);
    return Response.json({ customer_id: 5, status, orders, internal_note: "x" });
  });
  const app = await createTestApp({ tools: API_TOOLS, env: { API_BASE_URL: upstream.url } });
  try {
    await t.step("defaults to all statuses and passes status as a query parameter", async () => {
      const res = await postJson(app, "/v1/mcp/get_orders", { customer_id: 5 });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { customer_id: 5, status: "all", orders: ORDERS });
      assert.equal(upstream.hits.at(-1)!.path, "/customers/5/orders");
      assert.equal(upstream.hits.at(-1)!.search, "?status=all");
    });
    await t.step("filters by one status", async () => {
      const res = await postJson(app, "/v1/mcp/get_orders", { customer_id: 5, status: "pending" });
      assert.deepEqual((await res.json()).orders, [ORDERS[0]]);
      assert.equal(upstream.hits.at(-1)!.search, "?status=pending");
    });
    await t.step("an unknown customer is 404 Customer not found", async () => {
      const res = await postJson(app, "/v1/mcp/get_orders", { customer_id: 404 });
      assert.equal(res.status, 404);
      assert.deepEqual(
        { ...(await errorOf(res)), request_id: "" },
        { error: "Customer not found", status: "not_found", request_id: "" },
      );
    });
    for (
      const input of [
        { customer_id: 5, status: "shipped" },
        { customer_id: 5, status: "ALL" },
        { customer_id: 5, status: "all&admin=1" },
        { customer_id: 5, status: 1 },
        { status: "all" },
      ]
    ) {
      await t.step(`refuses ${JSON.stringify(input)} with 400`, async () => {
        const before = upstream.hits.length;
        const res = await postJson(app, "/v1/mcp/get_orders", input);
        assert.equal(res.status, 400);
        assert.equal((await errorOf(res)).status, "invalid_input");
        assert.equal(upstream.hits.length, before);
      });
    }
  } finally {
    await app.close();
    await upstream.close();
  }
});
