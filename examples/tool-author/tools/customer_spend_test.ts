/**
 * `customer_spend` through the real pipeline, on the embedded demo database.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTestServer, sql } from "@mcp-tool-server/server";
import { customerSpend } from "./customer_spend.ts";

Deno.test("customer_spend sums a customer's completed orders", async () => {
  await using server = await createTestServer({ tools: [customerSpend] });
  const { status, body } = await server.call("customer_spend", { customer_id: 42 });
  assert.equal(status, 200);
  const spend = body as { name: string; completed_orders: number; total: number };
  assert.equal(spend.name.length > 0, true);
  assert.ok(spend.completed_orders > 0, "the demo customer 42 has completed orders");
  assert.ok(spend.total > 0);
});

Deno.test("customer_spend answers 404 for an unknown customer", async () => {
  await using server = await createTestServer({ tools: [customerSpend] });
  const { status, body } = await server.call("customer_spend", { customer_id: 999_999 });
  assert.equal(status, 404);
  assert.equal((body as { error: string }).error, "Customer not found");
});

Deno.test("customer_spend refuses a bad input before any query", async () => {
  await using server = await createTestServer({ tools: [customerSpend] });
  const { status } = await server.call("customer_spend", { customer_id: "42; DROP TABLE" });
  assert.equal(status, 400);
});

Deno.test("customer_spend over MCP: structured content, and an error the model sees", async () => {
  await using server = await createTestServer({ tools: [customerSpend] });
  const found = await server.callMcp("customer_spend", { customer_id: 7 });
  assert.equal((found.result?.structuredContent as { customer_id: number }).customer_id, 7);
  const missing = await server.callMcp("customer_spend", { customer_id: 999_999 });
  assert.equal(missing.result?.isError, true);
});

Deno.test("customer_spend's totals match the rows, counted here independently", async () => {
  await using server = await createTestServer({ tools: [customerSpend] });
  const { rows } = await server.query<{ amount: string }>(
    sql`SELECT amount::text AS amount FROM orders WHERE customer_id = ${42} AND status = 'completed'`,
  );
  const cents = rows.map((r) => Math.round(Number(r.amount) * 100));
  const { body } = await server.call("customer_spend", { customer_id: 42 });
  const spend = body as { completed_orders: number; total: number };
  assert.equal(spend.completed_orders, cents.length);
  assert.equal(Math.round(spend.total * 100), cents.reduce((a, b) => a + b, 0));
});
