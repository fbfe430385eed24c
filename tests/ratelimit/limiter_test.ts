import assert from "node:assert/strict";
import { createRateLimiter, type RateDecision } from "../../src/ratelimit/limiter.ts";
import { openRedis } from "../../src/ratelimit/redis_client.ts";
import { createLogger, createMemorySink } from "../../src/observability/logger.ts";
import {
  PrivateRedis,
  redisServerUnavailable,
  redisUnavailable,
  TEST_REDIS_URL,
} from "./redis_fixture.ts";

function memoryLimiter(windowSeconds = 60) {
  const sink = createMemorySink();
  const log = createLogger({ level: "debug", sinks: [sink] });
  return createRateLimiter({
    prefix: "t",
    windowSeconds,
    storage: "memory",
    failMode: "open",
    log,
  });
}

Deno.test("memory limiter allows exactly the limit, then refuses with the time to wait", async () => {
  const limiter = memoryLimiter();
  for (let i = 1; i <= 5; i++) {
    const d = await limiter.consume("k", 1, 5);
    assert.equal(d.allowed, true);
    assert.equal(d.remaining, 5 - i);
    assert.equal(d.limit, 5);
  }
  const refused = await limiter.consume("k", 1, 5);
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
  assert.ok(refused.retryAfterSeconds >= 59 && refused.retryAfterSeconds <= 60);
  assert.ok(Math.abs(refused.resetAtMs - (Date.now() + 60_000)) < 2000);
});

Deno.test("memory limiter: keys have separate budgets, costs weigh, and the window resets", async () => {
  const limiter = memoryLimiter(1);
  assert.equal((await limiter.consume("a", 3, 3)).allowed, true);
  assert.equal((await limiter.consume("a", 1, 3)).allowed, false);
  assert.equal((await limiter.consume("b", 1, 3)).allowed, true);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await limiter.consume("a", 1, 3)).allowed, true);
});

Deno.test("memory limiter: refusal() reports a spent budget without spending", async () => {
  const limiter = memoryLimiter();
  assert.equal(await limiter.refusal("x", 2), undefined);
  await limiter.consume("x", 2, 2);
  assert.equal((await limiter.refusal("x", 2))?.allowed, false);
  assert.equal(await limiter.refusal("y", 2), undefined);
});

Deno.test("memory limiter answers without a promise, and each limit value is its own budget", () => {
  // Every request asks the limiter (twice with the auth-failure limit): no promise per answer.
  const limiter = memoryLimiter();
  const first = limiter.consume("k", 2, 2);
  assert.ok(!(first instanceof Promise));
  assert.equal(first.allowed, true);
  const spent = limiter.consume("k", 1, 2) as RateDecision;
  assert.equal(spent.allowed, false);
  assert.equal(spent.remaining, 0);
  assert.equal((limiter.consume("k", 1, 5) as RateDecision).allowed, true, "another limit");
  const refusal = limiter.refusal("k", 2);
  assert.ok(!(refusal instanceof Promise));
  assert.equal(refusal?.allowed, false);
  assert.equal(limiter.refusal("other", 2), undefined);
});

Deno.test("memory limiter evicts idle keys: 100k distinct keys are gone after their window", async () => {
  const limiter = memoryLimiter(1);
  for (let i = 0; i < 100_000; i++) await limiter.consume(`client-${i}`, 1, 10);
  assert.equal(limiter.trackedKeys(), 100_000);
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal(limiter.trackedKeys(), 0);
});

Deno.test({
  name: "redis limiters on one Redis enforce one combined limit",
  ignore: redisUnavailable !== undefined,
  async fn() {
    const log = createLogger({ level: "error", sinks: [] });
    // Two clients and two limiters: what two replicas hold.
    const [r1, r2] = [openRedis(TEST_REDIS_URL, log), openRedis(TEST_REDIS_URL, log)];
    await Promise.all([r1, r2].map((r) => new Promise((ok) => r.once("ready", ok))));
    const prefix = `test:${crypto.randomUUID()}`;
    const make = (redis: typeof r1) =>
      createRateLimiter({
        prefix,
        windowSeconds: 60,
        storage: "redis",
        redis,
        failMode: "closed",
        log,
      });
    const [a, b] = [make(r1), make(r2)];
    try {
      let allowed = 0;
      await Promise.all(Array.from({ length: 60 }, async (_, i) => {
        if ((await (i % 2 ? a : b).consume("primary", 1, 25)).allowed) allowed++;
      }));
      assert.equal(allowed, 25);
    } finally {
      r1.disconnect();
      r2.disconnect();
    }
  },
});

Deno.test({
  name: "redis going away: fail open allows, fail closed refuses, both recover without a hang",
  ignore: redisServerUnavailable !== undefined,
  async fn() {
    const server = new PrivateRedis();
    await server.start();
    const sink = createMemorySink();
    const log = createLogger({ level: "debug", sinks: [sink] });
    const redis = openRedis(server.url, log);
    await new Promise((ok) => redis.once("ready", ok));
    const make = (failMode: "open" | "closed") =>
      createRateLimiter({
        prefix: `f:${failMode}`,
        windowSeconds: 60,
        storage: "redis",
        redis,
        failMode,
        log,
      });
    const open = make("open");
    const closed = make("closed");
    try {
      assert.equal((await open.consume("k", 1, 5)).allowed, true);
      await server.stop();
      const started = performance.now();
      const o = await open.consume("k", 1, 5);
      const c = await closed.consume("k", 1, 5);
      assert.ok(performance.now() - started < 2000, "never a hung request");
      assert.deepEqual([o.allowed, o.degraded], [true, true]);
      assert.deepEqual([c.allowed, c.degraded], [false, true]);
      // refusal() (what the auth-failure limit asks before any key is
      // checked): closed refuses, open lets the request on.
      assert.equal(await open.refusal("k", 5), undefined);
      const r = await closed.refusal("k", 5);
      assert.deepEqual([r?.allowed, r?.degraded], [false, true]);
      assert.ok(
        sink.records.some((r) =>
          r.level === "warning" && r.rawMessage === "rate-limit store unavailable"
        ),
      );
      await server.start();
      let recovered = false;
      for (let i = 0; i < 60 && !recovered; i++) {
        const d = await closed.consume("k2", 1, 5);
        recovered = d.allowed && !d.degraded;
        if (!recovered) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(recovered, "limits work again once Redis is back");
    } finally {
      redis.disconnect();
      await server.stop();
    }
  },
});
