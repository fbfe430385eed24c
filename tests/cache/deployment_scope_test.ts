/**
 * Two deployments on one shared Redis (the one at TEST_REDIS_URL, under a
 * unique DEPLOYMENT_NAME and cache prefix, deleted afterwards): the response
 * cache and the rate-limit counters are scoped to the deployment, so
 * deployments with other data never share them and replicas always do.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { z } from "zod";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";
import { defineTool } from "../../src/tools/define.ts";
import { createTestApp, postJson, type TestApp } from "../harness.ts";
import { redisUnavailable, TEST_REDIS_URL } from "../ratelimit/redis_fixture.ts";

const noSql = {
  kind: "postgres",
  query: () => Promise.reject(new Error("no database in this test")),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve(),
} as unknown as SqlSource;

const DB_A = "postgres://app:pw-one@db-a.invalid:5432/sales";
const DB_B = "postgres://app:pw-one@db-b.invalid:5432/sales";

Deno.test({
  name: "deployments sharing one Redis: other data never shares cache or counters; replicas do",
  ignore: redisUnavailable !== undefined,
  async fn() {
    const name = `t-${crypto.randomUUID().slice(0, 8)}`;
    const cachePrefix = `test:${name}:`;
    const runs = new Map<string, number>();
    // Each app's own tool object (same name and definition), counting its runs per app.
    const tool = (app: string) =>
      defineTool({
        name: "cached_echo",
        description: "Echoes, cached.",
        input: z.strictObject({ text: z.string().max(10) }),
        cacheTtlSeconds: 60,
        handler: ({ text }) => {
          runs.set(app, (runs.get(app) ?? 0) + 1);
          return Promise.resolve({ text, from: app });
        },
      });
    const toolsFile = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      toolsFile,
      "tools:\n  one:\n    kind: sql\n    description: One.\n    statement: SELECT 1 AS one\n",
    );
    const shared = {
      DEPLOYMENT_NAME: name,
      RATE_LIMIT_STORAGE: "redis",
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_FAIL_MODE: "closed",
      RATE_LIMIT_RPM: "4",
      CACHE_STORAGE: "redis",
      CACHE_REDIS_PREFIX: cachePrefix,
    };
    const build = (app: string, env: Record<string, string>) =>
      createTestApp({ sql: noSql, tools: [tool(app)], env: { ...shared, ...env } });
    const apps: Record<string, TestApp> = {
      a: await build("a", { DB_URL: DB_A }),
      // A replica of a: same data; its password was rotated.
      a2: await build("a2", { DB_URL: DB_A.replace("pw-one", "pw-two") }),
      // Another database on the same Redis, same key id.
      b: await build("b", { DB_URL: DB_B }),
      // Same database, but a tools file: other tools, other data.
      c: await build("c", { DB_URL: DB_A, TOOLS_FILE: toolsFile }),
    };
    const call = (app: string) => postJson(apps[app], "/v1/mcp/cached_echo", { text: "hi" });
    try {
      // Until each limiter's client is connected, fail-closed answers 503 (costs nothing).
      for (const app of Object.values(apps)) {
        for (let tries = 0;; tries++) {
          const probe = await postJson(app, "/v1/mcp/nope", {});
          await probe.body?.cancel();
          if (probe.status !== 503) break;
          assert.ok(tries < 100, "app never reached Redis");
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      // Each probe spent 1 point of 4: 3 left for b and c, 2 for a and a2 together.

      const first = await call("a");
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("x-cache"), "miss");
      assert.deepEqual(await first.json(), { text: "hi", from: "a" });

      for (const other of ["b", "c"]) {
        const res = await call(other);
        assert.equal(res.status, 200, other);
        assert.equal(res.headers.get("x-cache"), "miss", `${other} does not see a's entry`);
        assert.deepEqual(await res.json(), { text: "hi", from: other });
      }

      // The replica spends the last point of the namespace it shares with a, and hits a's entry.
      const replica = await call("a2");
      assert.equal(replica.status, 200);
      assert.equal(replica.headers.get("x-cache"), "hit", "replicas share entries");
      assert.deepEqual(await replica.json(), { text: "hi", from: "a" });
      assert.equal(runs.get("a2"), undefined);

      // a's budget is spent (its probe and call, a2's probe and call: 4 of 4)...
      for (const app of ["a", "a2"]) {
        const res = await call(app);
        assert.equal(res.status, 429, `${app} shares the spent budget`);
        await res.body?.cancel();
      }
      // ...but b's and c's are their own: 2 points each spent, 1 left after this.
      for (const app of ["b", "c"]) {
        const res = await call(app);
        assert.equal(res.status, 200, `${app} counts apart`);
        assert.equal(res.headers.get("x-ratelimit-remaining"), "1");
        await res.body?.cancel();
      }

      // Nothing in Redis names the key id or the input; every key is under a deployment.
      const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 0 });
      try {
        const cacheKeys = await admin.keys(`${cachePrefix}*`);
        assert.equal(cacheKeys.length, 3, "one entry each for a (shared with a2), b, c");
        for (const key of cacheKeys) assert.match(key, new RegExp(`^${cachePrefix}${name}:`));
        const counters = await admin.keys(`mcp:rl:${name}:*`);
        assert.equal(counters.length, 3, "one counter each for a (shared with a2), b, c");
      } finally {
        admin.disconnect();
      }
    } finally {
      for (const app of Object.values(apps)) await app.close();
      await Deno.remove(toolsFile);
      const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 0 });
      try {
        for (const pattern of [`${cachePrefix}*`, `mcp:*:${name}:*`]) {
          const keys = await admin.keys(pattern);
          if (keys.length > 0) await admin.del(...keys);
        }
      } finally {
        admin.disconnect();
      }
    }
  },
});
