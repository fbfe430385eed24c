/**
 * Added latency of the rate-limit step per request, for each store: the
 * limiter's consume() alone, sequential and with 50 concurrent callers.
 *
 *   deno run --allow-net --allow-env scripts/bench_rate_limit.ts [redis URL]
 *
 * @module
 */
import { createRateLimiter } from "../src/ratelimit/limiter.ts";
import { openRedis } from "../src/ratelimit/redis_client.ts";
import { createLogger } from "../src/observability/logger.ts";

const log = createLogger({ level: "error", sinks: [] });
const redisUrl = Deno.args[0] ?? "redis://127.0.0.1:6379";
const redis = openRedis(redisUrl, log);
await new Promise((ok) => redis.once("ready", ok));
const prefix = `bench:${crypto.randomUUID()}`;
const stores = {
  memory: createRateLimiter({
    prefix,
    windowSeconds: 60,
    storage: "memory",
    failMode: "open",
    log,
  }),
  redis: createRateLimiter({
    prefix,
    windowSeconds: 60,
    storage: "redis",
    redis,
    failMode: "open",
    log,
  }),
};
const LIMIT = 1_000_000_000;
for (const [name, limiter] of Object.entries(stores)) {
  for (let i = 0; i < 2000; i++) await limiter.consume(`k${i % 20}`, 1, LIMIT);
  const n = 10_000;
  let t = performance.now();
  for (let i = 0; i < n; i++) await limiter.consume(`k${i % 20}`, 1, LIMIT);
  const seq = (performance.now() - t) / n * 1000;
  t = performance.now();
  let done = 0;
  await Promise.all(Array.from({ length: 50 }, async (_, w) => {
    for (let i = 0; i < n / 50; i++, done++) await limiter.consume(`k${(w + i) % 20}`, 1, LIMIT);
  }));
  const perSec = done / ((performance.now() - t) / 1000);
  console.log(
    `${name}: ${seq.toFixed(1)} µs per consume sequentially; ${
      perSec.toFixed(0)
    } consumes/s with 50 concurrent`,
  );
}
redis.disconnect();
