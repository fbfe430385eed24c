/**
 * The Redis response cache store, shared by every replica: `SET key json PX
 * ttl` and `GET key`, keys under a prefix (the app gives `CACHE_REDIS_PREFIX`
 * plus the deployment's namespace, see `config/deployment_namespace.ts`)
 * followed by the hashed cache key. Like the rate limiter's client, it never waits on
 * a Redis that is down: no offline queue, a short command timeout, and
 * ioredis reconnecting by itself in the background. Failures reject, and
 * the `ToolCache` in front turns them into uncached calls.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.ts";
import type { ResponseCache } from "./response_cache.ts";

/** What {@linkcode createRedisCache} takes. */
export interface RedisCacheOptions {
  /** `redis://` or `rediss://` URL. */
  readonly url: string;
  /** Put before every key, so deployments can share one Redis (the app's includes its namespace). */
  readonly prefix: string;
  /** A value whose JSON is longer is not stored. */
  readonly maxEntryBytes: number;
  readonly log: Logger;
  /** Longest wait for one command, ms (default 250). */
  readonly commandTimeoutMs?: number;
}

/**
 * Opens a Redis store (connecting in the background; commands sent before
 * it is ready fail at once, which the pipeline treats as uncached calls).
 * `close()` disconnects it.
 */
export function createRedisCache(options: RedisCacheOptions): ResponseCache & { redis: Redis } {
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: 2000,
    // Reconnect forever, backing off to 2 s: recovery needs no restart.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: false,
  });
  redis.on("error", () => {/* reported through the cache's warnings */});
  redis.on("ready", () => options.log.info("response cache store connected", { store: "redis" }));
  const { prefix, maxEntryBytes } = options;
  return {
    redis,
    async get(key) {
      const json = await redis.get(prefix + key);
      return json === null ? undefined : JSON.parse(json);
    },
    async set(key, value, ttlSeconds) {
      const json = JSON.stringify(value);
      if (json === undefined || Buffer.byteLength(json, "utf8") > maxEntryBytes) return;
      await redis.set(prefix + key, json, "PX", Math.max(1, Math.ceil(ttlSeconds * 1000)));
    },
    close() {
      redis.disconnect();
      return Promise.resolve();
    },
  };
}
