/**
 * Rate limits per key, in memory (one replica) or in Redis (one combined
 * limit for every replica), on `rate-limiter-flexible`'s atomic fixed-window
 * counters rather than hand-written Lua.
 *
 * When Redis fails, the configured fail mode decides: `open` lets requests
 * through (with a warning, at most every 10 s), `closed` refuses them with a
 * 503 retry. ioredis reconnects on its own; nothing waits on a Redis that is
 * down (no offline queue, a command timeout).
 *
 * @module
 */
import type { Redis } from "ioredis";
import type * as Flexible from "rate-limiter-flexible";
// The three classes we use, from their own files: the package's index loads
// every store it supports (Mongo, MySQL, DynamoDB, cluster, ...), ~5 ms of
// every start.
import MemoryStorageClass from "rate-limiter-flexible/lib/component/MemoryStorage/MemoryStorage.js";
import RedisClass from "rate-limiter-flexible/lib/RateLimiterRedis.js";
import ResClass from "rate-limiter-flexible/lib/RateLimiterRes.js";

/**
 * The fixed-window store under the library's `RateLimiterMemory`, used
 * directly: its `incrby`/`get` answer at once, where `RateLimiterMemory`
 * wraps each answer in a promise. (The package ships no types for it.)
 */
interface MemoryStorage {
  incrby(key: string, value: number, durationSec: number): RateLimiterRes;
  get(key: string): RateLimiterRes | null;
  readonly _storage: Map<string, unknown>;
}
const MemoryStorage = MemoryStorageClass as unknown as new () => MemoryStorage;
const RateLimiterRedis = RedisClass as typeof Flexible.RateLimiterRedis;
const RateLimiterRes = ResClass as typeof Flexible.RateLimiterRes;
type RateLimiterRes = Flexible.RateLimiterRes;
type RateLimiterStoreAbstract = Flexible.RateLimiterStoreAbstract;
import type { Logger } from "../observability/logger.ts";

/** The verdict on one request. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** When the window resets, epoch milliseconds. */
  readonly resetAtMs: number;
  /** Whole seconds to wait when refused (at least 1). */
  readonly retryAfterSeconds: number;
  /** True when the store failed and the fail mode decided. */
  readonly degraded?: boolean;
}

/**
 * Counts requests per key in fixed windows. In-process stores answer at once
 * (a plain value), Redis with a promise: every request asks, and a promise
 * per answer was ~0.5 µs of a no-op call. `await` takes either.
 */
export interface RateLimiter {
  /** Spends `cost` points of `key`'s budget of `limit` per window. */
  consume(key: string, cost: number, limit: number): RateDecision | Promise<RateDecision>;
  /**
   * A refusal if `key` has spent its budget this window, without spending;
   * else undefined. When the store fails, fail mode `closed` refuses (a
   * `degraded` decision) and `open` answers undefined.
   */
  refusal(
    key: string,
    limit: number,
  ): RateDecision | undefined | Promise<RateDecision | undefined>;
}

/** How to build a limiter. */
export interface LimiterOptions {
  /** Namespaces keys (`rl`, `authfail`) so several limiters share one store. */
  readonly prefix: string;
  readonly windowSeconds: number;
  readonly storage: "memory" | "redis";
  /** Shared by every limiter of the app when storage is redis. */
  readonly redis?: Redis;
  readonly failMode: "open" | "closed";
  readonly log: Logger;
}

/**
 * Builds a limiter. `trackedKeys()` counts the keys the memory store holds
 * (each is dropped when its window ends, so memory follows active keys only).
 */
export function createRateLimiter(
  options: LimiterOptions,
): RateLimiter & { trackedKeys(): number } {
  return options.storage === "redis" ? redisLimiter(options) : memoryLimiter(options);
}

/** The decision a store's result makes. */
function decision(res: RateLimiterRes, limit: number, allowed: boolean): RateDecision {
  const ms = Math.max(0, res.msBeforeNext);
  return {
    allowed,
    limit,
    // As the library's own remainingPoints (its points are our limit).
    remaining: Math.max(0, limit - res.consumedPoints),
    resetAtMs: Date.now() + ms,
    retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
  };
}

/**
 * In memory: what `RateLimiterMemory` does (without block durations, which
 * we never set), on its own store, answering at once. The limit is part of
 * the key, as the library's `keyPrefix` made it.
 */
function memoryLimiter(options: LimiterOptions): RateLimiter & { trackedKeys(): number } {
  const storage = new MemoryStorage();
  return {
    consume(key, cost, limit) {
      const res = storage.incrby(`${options.prefix}:${limit}:${key}`, cost, options.windowSeconds);
      return decision(res, limit, res.consumedPoints <= limit);
    },
    refusal(key, limit) {
      const res = storage.get(`${options.prefix}:${limit}:${key}`);
      return res && res.consumedPoints >= limit ? decision(res, limit, false) : undefined;
    },
    trackedKeys: () => storage._storage.size,
  };
}

/** In Redis, one store per distinct limit value, created on first use. */
function redisLimiter(options: LimiterOptions): RateLimiter & { trackedKeys(): number } {
  const byLimit = new Map<number, RateLimiterStoreAbstract>();
  let lastWarning = 0;

  function store(limit: number) {
    let s = byLimit.get(limit);
    if (!s) {
      s = new RateLimiterRedis({
        points: limit,
        duration: options.windowSeconds,
        keyPrefix: `${options.prefix}:${limit}`,
        storeClient: options.redis,
        rejectIfRedisNotReady: true,
      });
      byLimit.set(limit, s);
    }
    return s;
  }

  /**
   * The store failed (Redis down or slow): the fail mode decides, open
   * allowing and closed refusing, with a warning at most every 10 s.
   */
  function degraded(limit: number, error: unknown): RateDecision {
    const now = Date.now();
    if (now - lastWarning > 10_000) {
      lastWarning = now;
      options.log.warn("rate-limit store unavailable", {
        fail_mode: options.failMode,
        limiter: options.prefix,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    const open = options.failMode === "open";
    return {
      allowed: open,
      limit,
      remaining: open ? limit : 0,
      resetAtMs: now + options.windowSeconds * 1000,
      retryAfterSeconds: 1,
      degraded: true,
    };
  }

  return {
    async consume(key, cost, limit) {
      try {
        return decision(await store(limit).consume(key, cost), limit, true);
      } catch (error) {
        if (error instanceof RateLimiterRes) return decision(error, limit, false);
        return degraded(limit, error);
      }
    },
    async refusal(key, limit) {
      try {
        const res = await store(limit).get(key);
        return res && res.consumedPoints >= limit ? decision(res, limit, false) : undefined;
      } catch (error) {
        // Fail closed means closed here too: the auth-failure limiter asks
        // only this before checking a key, so letting the request through
        // would give a guesser unlimited attempts while Redis is down.
        const d = degraded(limit, error);
        return d.allowed ? undefined : d;
      }
    },
    // Redis holds the keys, with their own expiry.
    trackedKeys: () => 0,
  };
}
