/**
 * The Redis store against a real Redis: the shared one at TEST_REDIS_URL
 * (keys under a unique prefix, deleted afterwards), a port nothing listens
 * on, and a private redis-server (port 18742) killed and started again.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { createRedisCache } from "../../src/cache/redis_cache.ts";
import { createToolCache } from "../../src/cache/response_cache.ts";
import { createLogger, createMemorySink } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import type { Tool } from "../../src/tools/define.ts";
import {
  redisServerUnavailable,
  redisUnavailable,
  TEST_REDIS_URL,
} from "../ratelimit/redis_fixture.ts";

/** A loopback port in this suite's range with nothing listening (checked). */
const DEAD_PORT = 18741;
/** Where the private redis-server of the fault test listens. */
const PRIVATE_PORT = 18742;

const quiet = createLogger({ level: "error", sinks: [] });
const tool = { name: "cached_tool", cacheTtlSeconds: 60 } as Tool;

function ready(redis: Redis): Promise<unknown> {
  return redis.status === "ready"
    ? Promise.resolve()
    : new Promise((ok) => redis.once("ready", ok));
}

/** Deletes every key under `prefix` in the shared Redis. */
async function cleanUp(prefix: string): Promise<void> {
  const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 0 });
  try {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
}

async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "createRedisCache() stores JSON with a PX TTL under its prefix; key names hold no input",
  ignore: redisUnavailable !== undefined,
  async fn() {
    const prefix = `test:cache:${crypto.randomUUID()}:`;
    const store = createRedisCache({
      url: TEST_REDIS_URL,
      prefix,
      maxEntryBytes: 10_000,
      log: quiet,
    });
    const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 0 });
    try {
      await ready(store.redis);
      const cache = createToolCache({ store, log: quiet });
      const input = { customer: "input-marker-4711", limit: 3 };
      const first = await cache.lookup(tool, input, { id: "primary" });
      assert.equal(first.result, "miss");
      assert.ok(first.result === "miss");
      await cache.store(tool, first.key, { rows: [{ name: "Ada" }] });

      const keys = await admin.keys(`${prefix}*`);
      assert.deepEqual(keys, [prefix + first.key]);
      assert.ok(!keys[0].includes("input-marker"), "the input never appears in a key name");
      assert.equal(await admin.get(keys[0]), '{"rows":[{"name":"Ada"}]}');
      const pttl = await admin.pttl(keys[0]);
      assert.ok(pttl > 55_000 && pttl <= 60_000, `PX ttl, got ${pttl}`);

      const again = await cache.lookup(tool, { limit: 3, customer: "input-marker-4711" }, {
        id: "primary",
      });
      assert.ok(again.result === "hit");
      assert.deepEqual(again.value, { rows: [{ name: "Ada" }] });
      const other = await cache.lookup(tool, input, { id: "secondary" });
      assert.equal(other.result, "miss", "another principal never gets this entry");
    } finally {
      admin.disconnect();
      await store.close();
      await cleanUp(prefix);
    }
  },
});

Deno.test({
  name: "createRedisCache(): entries expire, oversize values are skipped, replicas share entries",
  ignore: redisUnavailable !== undefined,
  async fn() {
    const prefix = `test:cache:${crypto.randomUUID()}:`;
    const a = createRedisCache({ url: TEST_REDIS_URL, prefix, maxEntryBytes: 50, log: quiet });
    const b = createRedisCache({ url: TEST_REDIS_URL, prefix, maxEntryBytes: 50, log: quiet });
    try {
      await Promise.all([ready(a.redis), ready(b.redis)]);
      await a.set("shared", { n: 1 }, 60);
      assert.deepEqual(await b.get("shared"), { n: 1 }, "a second replica reads the first's entry");

      await a.set("big", "x".repeat(100), 60);
      assert.equal(await b.get("big"), undefined);

      await a.set("brief", "soon gone", 0.15);
      assert.equal(await b.get("brief"), "soon gone");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await b.get("brief"), undefined);
    } finally {
      await a.close();
      await b.close();
      await cleanUp(prefix);
    }
  },
});

Deno.test("Redis down: the store fails fast; the ToolCache says error, warns once, counts it", async () => {
  assert.equal(await listening(DEAD_PORT), false, `port ${DEAD_PORT} must be free for this test`);
  const sink = createMemorySink();
  const log = createLogger({ level: "debug", sinks: [sink] });
  const metrics = createMetrics({ processMetrics: false });
  const store = createRedisCache({
    url: `redis://127.0.0.1:${DEAD_PORT}`,
    prefix: "test:cache:",
    maxEntryBytes: 1000,
    log,
  });
  try {
    const cache = createToolCache({ store, log, metrics, storeName: "redis" });
    const started = performance.now();
    await assert.rejects(store.get("k"));
    await assert.rejects(store.set("k", 1, 60));
    assert.deepEqual(await cache.lookup(tool, { q: 1 }, { id: "primary" }), { result: "error" });
    assert.deepEqual(await cache.lookup(tool, { q: 2 }, { id: "primary" }), { result: "error" });
    await cache.store(tool, "some-key", { rows: [] }); // never throws
    assert.ok(performance.now() - started < 1000, "nothing waits on a Redis that is down");

    const warnings = sink.records.filter((r) =>
      r.rawMessage === "response cache store unavailable"
    );
    assert.equal(warnings.length, 1, "warned at most every 10 s");
    assert.equal(warnings[0].level, "warning");
    assert.equal(warnings[0].properties.store, "redis");
    const text = await metrics.registry.metrics();
    assert.match(text, /^tool_cache_requests_total\{tool_name="cached_tool",result="error"\} 3$/m);
  } finally {
    await store.close();
  }
});

Deno.test({
  name: "Redis going away and coming back: uncached meanwhile, cached again after, no restart",
  ignore: redisServerUnavailable !== undefined,
  async fn() {
    assert.equal(await listening(PRIVATE_PORT), false, `port ${PRIVATE_PORT} must be free`);
    const start = async () => {
      const child = new Deno.Command("redis-server", {
        args: [
          "--port",
          String(PRIVATE_PORT),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      for (let i = 0; i < 100 && !(await listening(PRIVATE_PORT)); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return child;
    };
    let server: Deno.ChildProcess | undefined = await start();
    const store = createRedisCache({
      url: `redis://127.0.0.1:${PRIVATE_PORT}`,
      prefix: "t:",
      maxEntryBytes: 1000,
      log: quiet,
    });
    const cache = createToolCache({ store, log: quiet });
    const principal = { id: "primary" };
    try {
      await ready(store.redis);
      const miss = await cache.lookup(tool, { q: 1 }, principal);
      assert.ok(miss.result === "miss");
      await cache.store(tool, miss.key, "v1");
      assert.equal((await cache.lookup(tool, { q: 1 }, principal)).result, "hit");

      server.kill("SIGKILL");
      await server.status;
      server = undefined;
      const started = performance.now();
      assert.equal((await cache.lookup(tool, { q: 1 }, principal)).result, "error");
      assert.ok(performance.now() - started < 1000, "no hang while Redis is gone");

      server = await start();
      let back = false;
      for (let i = 0; i < 60 && !back; i++) {
        back = (await cache.lookup(tool, { q: 1 }, principal)).result === "miss";
        if (!back) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(back, "lookups work again once Redis is back");
      await cache.store(tool, miss.key, "v2");
      const hit = await cache.lookup(tool, { q: 1 }, principal);
      assert.ok(hit.result === "hit");
      assert.equal(hit.value, "v2");
    } finally {
      await store.close();
      if (server) {
        server.kill("SIGKILL");
        await server.status;
      }
    }
  },
});
