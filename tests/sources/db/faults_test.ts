import assert from "node:assert/strict";
import postgres from "postgres";
import { DEMO_SCHEMA_SQL, DEMO_SEED_SQL } from "../../../src/sources/db/demo_data.ts";
import { BUILTIN_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, postJson } from "../../harness.ts";
import { createPrivateCluster, privateClusterUnavailable } from "./private_cluster.ts";

if (privateClusterUnavailable) {
  console.log(`Skipping database fault tests: ${privateClusterUnavailable}`);
}

Deno.test({
  name: "a database that is down at start: the server starts, answers 503, and recovers by itself",
  ignore: privateClusterUnavailable !== undefined,
  async fn(t) {
    const cluster = await createPrivateCluster();
    const app = await createTestApp({
      tools: BUILTIN_TOOLS,
      env: { DB_URL: cluster.url, DB_CONNECT_TIMEOUT_SECONDS: "2", TOOL_TIMEOUT_SECONDS: "5" },
    });
    const call = () => postJson(app, "/v1/mcp/get_top_customers", { limit: 2 });
    try {
      await t.step("SQL tools answer 503 retry while the database is down", async () => {
        const res = await call();
        assert.equal(res.status, 503);
        const body = await res.json();
        assert.equal(body.status, "retry");
        assert.ok(!JSON.stringify(body).includes("ECONNREFUSED"));
      });

      await t.step("health reports the database failed, with 503", async () => {
        const res = await app.request("/health", { key: null });
        assert.equal(res.status, 503);
        const body = await res.json();
        assert.equal(body.status, "unhealthy");
        assert.equal(body.database, "failed");
      });

      await t.step("once the database is up, the same app serves without a restart", async () => {
        await cluster.start();
        const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
        await admin.unsafe(DEMO_SCHEMA_SQL);
        await admin.unsafe(DEMO_SEED_SQL);
        await admin.end();
        const res = await call();
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal((await res.json()).customers.length, 2);
        // Health results are cached for a second (a probe flood costs one ping).
        let health = 0;
        for (let i = 0; i < 30 && health !== 200; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 100));
          const res = await app.request("/health", { key: null });
          health = res.status;
          await res.body?.cancel();
        }
        assert.equal(health, 200);
      });

      await t.step("the database going away again gives 503 again, then recovery", async () => {
        await cluster.stop();
        const down = await call();
        assert.equal(down.status, 503);
        await down.body?.cancel();
        await cluster.start();
        const up = await call();
        assert.equal(up.status, 200);
        await up.body?.cancel();
      });
    } finally {
      await app.close();
      await cluster.destroy();
    }
  },
});
