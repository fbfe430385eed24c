import assert from "node:assert/strict";
import { BUILTIN_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, errorOf, postJson } from "../../harness.ts";

Deno.test("lookup_customer", async (t) => {
  const app = await createTestApp({ tools: BUILTIN_TOOLS });
  try {
    await t.step("returns the customer with that id", async () => {
      const res = await postJson(app, "/v1/mcp/lookup_customer", { id: 42 });
      assert.equal(res.status, 200);
      // demo_data.ts: first names cycle every customer, last names every 20.
      assert.deepEqual(await res.json(), {
        id: 42,
        name: "Alan Carter",
        email: "customer42@example.com",
      });
    });
    await t.step("answers an unknown id with 404 not_found", async () => {
      const res = await postJson(app, "/v1/mcp/lookup_customer", { id: 999_999 });
      assert.equal(res.status, 404);
      assert.equal((await errorOf(res)).error, "Customer not found");
    });
    for (const id of [0, -1, 1.5, "1", "1 OR 1=1", 2_147_483_648, null]) {
      await t.step(`refuses id ${JSON.stringify(id)} with 400`, async () => {
        const res = await postJson(app, "/v1/mcp/lookup_customer", { id });
        assert.equal(res.status, 400);
        assert.equal((await errorOf(res)).details?.[0].field, "id");
      });
    }
    await t.step("refuses a missing id with 400", async () => {
      const res = await postJson(app, "/v1/mcp/lookup_customer", {});
      assert.equal(res.status, 400);
      await res.body?.cancel();
    });
  } finally {
    await app.close();
  }
});
