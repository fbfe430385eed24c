/**
 * Rate-limit counters in a `SharedArrayBuffer`, so that several isolates of
 * one process (`WORKERS` > 1: one HTTP listener per core) enforce one limit
 * per key, exactly as one isolate with the memory store does. A Redis store
 * would do it too, but costs a network round trip per request (~0.3 ms, and
 * ~17k decisions/s at 50 callers here), more than the whole no-op call the
 * extra isolates are there to speed up.
 *
 * Fixed windows aligned to the clock (`floor(now / window)`), the same for
 * every key, so an entry from an earlier window is free to reuse. The table
 * is open addressing with linear probing over a bounded number of slots;
 * each slot has its own spin lock (an `Atomics.compareExchange` word), held
 * only for a few loads and stores. A key is two 32-bit hashes of
 * `prefix:limit:key` (a collision, about one in 2⁶⁴ per pair, would merge two
 * keys' counts: the stricter outcome). When every slot a key may use holds
 * another key's count for this window (the table is full of live keys), the
 * limiter answers as a store that is down: the fail mode decides, and the
 * caller is told the decision was degraded. Per-key limits and the
 * per-address auth-failure limit use separate tables, so an attacker who
 * sprays addresses cannot crowd out the API keys.
 *
 * @module
 */
import type { Logger } from "../observability/logger.ts";
import type { RateDecision, RateLimiter } from "./limiter.ts";

/** Int32 words per slot: lock, hash 1, hash 2, window, count (padded to 8). */
const SLOT_WORDS = 8;
const LOCK = 0;
const H1 = 1;
const H2 = 2;
const WINDOW = 3;
const COUNT = 4;
/** How far from its home slot a key may live. */
const MAX_PROBES = 32;
/** Spins before a lock counts as stuck (its holder died mid-update): answered as a store failure. */
const MAX_SPINS = 1_000_000;

/** A table for {@linkcode sharedMemoryLimiter}: create once, hand the same buffer to every isolate. */
export function createSharedCounters(slots = 1 << 14): SharedArrayBuffer {
  if (!Number.isInteger(Math.log2(slots))) throw new Error("slots must be a power of two");
  return new SharedArrayBuffer(slots * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT);
}

/** How to build a limiter over a shared table. */
export interface SharedLimiterOptions {
  /** Namespaces keys (`rl`, `authfail`) when limiters share a table. */
  readonly prefix: string;
  readonly windowSeconds: number;
  readonly failMode: "open" | "closed";
  readonly log: Logger;
  /** Clock, epoch milliseconds (tests move it). */
  readonly now?: () => number;
}

/** A {@linkcode RateLimiter} whose counts live in `buffer`, shared by every isolate given it. */
export function sharedMemoryLimiter(
  buffer: SharedArrayBuffer,
  options: SharedLimiterOptions,
): RateLimiter & { trackedKeys(): number } {
  const table = new Int32Array(buffer);
  const mask = table.length / SLOT_WORDS - 1;
  const windowMs = options.windowSeconds * 1000;
  const now = options.now ?? Date.now;
  let lastWarning = 0;

  function lock(at: number): boolean {
    for (let spins = 0; Atomics.compareExchange(table, at + LOCK, 0, 1) !== 0; spins++) {
      if (spins > MAX_SPINS) return false;
    }
    return true;
  }
  const unlock = (at: number) => Atomics.store(table, at + LOCK, 0);

  function decision(count: number, limit: number, window: number, t: number): RateDecision {
    const resetAtMs = (window + 1) * windowMs;
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetAtMs,
      retryAfterSeconds: Math.max(1, Math.ceil((resetAtMs - t) / 1000)),
    };
  }

  function degraded(limit: number, t: number, why: string): RateDecision {
    if (t - lastWarning > 10_000) {
      lastWarning = t;
      options.log.warn("rate-limit store unavailable", {
        fail_mode: options.failMode,
        error: why,
      });
    }
    const open = options.failMode === "open";
    return {
      allowed: open,
      limit,
      remaining: open ? limit : 0,
      resetAtMs: t + windowMs,
      retryAfterSeconds: 1,
      degraded: true,
    };
  }

  /**
   * Adds `cost` to the key's count for this window (claiming a slot if it has
   * none) and returns the new count; `undefined` when no slot could be had.
   * With `cost` 0 nothing is claimed: it reads the count (0 if absent).
   */
  function add(h1: number, h2: number, cost: number, window: number): number | undefined {
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      const at = ((h1 + probe) & mask) * SLOT_WORDS;
      if (!lock(at)) return undefined;
      const s1 = table[at + H1];
      const s2 = table[at + H2];
      if (s1 === h1 && s2 === h2) {
        // Ours. A window later than ours is another isolate's clock a
        // moment ahead at a boundary: count into it rather than reset it.
        if (table[at + WINDOW] < window) {
          table[at + WINDOW] = window;
          table[at + COUNT] = 0;
        }
        const count = table[at + COUNT] += cost;
        unlock(at);
        return count;
      }
      if ((s1 === 0 && s2 === 0) || table[at + WINDOW] < window) {
        // Empty, or another key's count from an earlier window: no key can
        // have a count for this window further along (it would have taken
        // this slot), so claiming it here keeps one entry per key.
        if (cost > 0) {
          table[at + H1] = h1;
          table[at + H2] = h2;
          table[at + WINDOW] = window;
          table[at + COUNT] = cost;
        }
        unlock(at);
        return cost;
      }
      unlock(at);
    }
    return undefined;
  }

  return {
    consume(key, cost, limit) {
      const t = now();
      const window = Math.floor(t / windowMs);
      const [h1, h2] = hashes(`${options.prefix}:${limit}:${key}`);
      const count = add(h1, h2, cost, window);
      return count === undefined
        ? degraded(limit, t, "shared rate-limit table full or locked")
        : decision(count, limit, window, t);
    },
    refusal(key, limit) {
      const t = now();
      const window = Math.floor(t / windowMs);
      const [h1, h2] = hashes(`${options.prefix}:${limit}:${key}`);
      const count = add(h1, h2, 0, window);
      if (count === undefined) {
        // As a store that is down: fail closed refuses (see limiter.ts).
        const d = degraded(limit, t, "shared rate-limit table full or locked");
        return d.allowed ? undefined : d;
      }
      return count >= limit ? { ...decision(count, limit, window, t), allowed: false } : undefined;
    },
    trackedKeys() {
      const window = Math.floor(now() / windowMs);
      let n = 0;
      for (let at = 0; at < table.length; at += SLOT_WORDS) {
        if ((table[at + H1] !== 0 || table[at + H2] !== 0) && table[at + WINDOW] >= window) n++;
      }
      return n;
    },
  };
}

/** Two independent 32-bit FNV-1a hashes of `text` (never both zero, which marks an empty slot). */
function hashes(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a | 0, (b | 1) | 0];
}
