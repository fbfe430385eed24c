import assert from "node:assert/strict";
import { sql } from "../../../src/sources/db/sql_source.ts";
import { BUILTIN_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, postJson } from "../../harness.ts";

Deno.test("get_top_customers", async (t) => {
  // The independent check reads all 5,000 orders: above the default row cap.
  const app = await createTestApp({ tools: BUILTIN_TOOLS, env: { MAX_ROWS: "100000" } });
  // An independent ranking, computed here from the raw rows.
  const orders = (await app.sql.query<{ customer_id: number; amount: string }>(
    sql`SELECT customer_id, amount::text AS amount FROM orders`,
  )).rows;
  const names = new Map(
    (await app.sql.query<{ id: number; name: string }>(sql`SELECT id, name FROM customers`)).rows
      .map((r) => [r.id, r.name]),
  );
  const cents = new Map<number, number>();
  for (const o of orders) {
    cents.set(o.customer_id, (cents.get(o.customer_id) ?? 0) + Math.round(Number(o.amount) * 100));
  }
  const expected = [...cents.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([id, c]) => ({ name: names.get(id)!, total: c / 100 }));

  const call = async (input: unknown) => {
    const res = await postJson(app, "/v1/mcp/get_top_customers", input);
    assert.equal(res.status, 200);
    return await res.json();
  };

  await t.step("ranks customers by their order total, highest first", async () => {
    const body = await call({ limit: 25 });
    assert.deepEqual(body.customers, expected.slice(0, 25));
    assert.equal(body.total_count, expected.length);
  });

  await t.step("pages with offset", async () => {
    const body = await call({ limit: 7, offset: 100 });
    assert.deepEqual(body.customers, expected.slice(100, 107));
    assert.equal(body.limit, 7);
    assert.equal(body.offset, 100);
  });

  await t.step("returns everything at limit 1000", async () => {
    const body = await call({ limit: 1000 });
    assert.equal(body.customers.length, Math.min(1000, expected.length));
  });

  await t.step("past the last page: no customers, the true total_count", async () => {
    const body = await call({ limit: 10, offset: 5000 });
    assert.deepEqual(body.customers, []);
    assert.equal(body.total_count, expected.length);
  });

  await app.close();
});
