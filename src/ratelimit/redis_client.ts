/**
 * The Redis client the rate limiters share, in its own module so that a
 * server without Redis never loads ioredis (~45 ms of a cold start).
 *
 * @module
 */
import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.ts";

/** Opens the Redis client the limiters share; fails fast instead of queueing while down. */
export function openRedis(url: string, log: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    // Reconnect forever, backing off to 2 s: recovery needs no restart.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: false,
  });
  client.on("error", () => {/* reported through the limiter's warnings */});
  client.on("ready", () => log.info("rate-limit store connected", { store: "redis" }));
  return client;
}
