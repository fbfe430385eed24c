/**
 * The in-process response cache store: bounded by entries and by bytes, least
 * recently used out first, every entry with its own expiry. Values are kept
 * as JSON text (so a hit is a fresh copy nobody else holds, and its size is
 * known) in one `Map`, whose insertion order is the recency order.
 *
 * None of the pinned dependencies offers a bounded TTL cache, hence these
 * few lines.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ResponseCache } from "./response_cache.ts";

/** The bounds of a memory store. */
export interface MemoryCacheOptions {
  /** Most entries held; the least recently used go first. */
  readonly maxEntries: number;
  /** Most bytes held: UTF-8 JSON of the values plus the keys. */
  readonly maxBytes: number;
  /** A value whose JSON is longer is not stored. */
  readonly maxEntryBytes: number;
  /** The clock in epoch milliseconds (tests move it). */
  readonly now?: () => number;
}

interface Entry {
  readonly json: string;
  readonly bytes: number;
  readonly expiresAt: number;
}

/**
 * Builds a memory store. `size` and `bytes` report what it holds.
 *
 * @example Expiry and the entry bound
 * ```ts
 * import { createMemoryCache } from "./memory_cache.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * const cache = createMemoryCache({
 *   maxEntries: 2,
 *   maxBytes: 1000,
 *   maxEntryBytes: 100,
 *   now: () => now,
 * });
 * await cache.set("a", { n: 1 }, 10);
 * assert.deepEqual(await cache.get("a"), { n: 1 });
 * now = 10_000;
 * assert.equal(await cache.get("a"), undefined);
 * ```
 */
export function createMemoryCache(
  options: MemoryCacheOptions,
): ResponseCache & { readonly size: number; readonly bytes: number } {
  const { maxEntries, maxBytes } = options;
  const entryLimit = Math.min(options.maxEntryBytes, maxBytes);
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let bytes = 0;
  // Expired entries nobody asks for again are swept after as many sets as
  // the last sweep left entries (at least 64): amortised O(1), no timer.
  let setsSinceSweep = 0;
  let sweepAfter = 64;

  function drop(key: string, entry: Entry): void {
    entries.delete(key);
    bytes -= entry.bytes;
  }

  function sweep(at: number): void {
    for (const [key, entry] of entries) if (entry.expiresAt <= at) drop(key, entry);
    setsSinceSweep = 0;
    sweepAfter = Math.max(64, entries.size);
  }

  return {
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return Promise.resolve(undefined);
      if (entry.expiresAt <= now()) {
        drop(key, entry);
        return Promise.resolve(undefined);
      }
      // Most recently used last: eviction starts at the front.
      entries.delete(key);
      entries.set(key, entry);
      return Promise.resolve(JSON.parse(entry.json));
    },
    set(key, value, ttlSeconds) {
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch (error) {
        return Promise.reject(error);
      }
      const old = entries.get(key);
      if (old !== undefined) drop(key, old);
      if (json === undefined) return Promise.resolve();
      const size = Buffer.byteLength(json, "utf8") + key.length;
      if (size > entryLimit) return Promise.resolve();
      const at = now();
      entries.set(key, { json, bytes: size, expiresAt: at + ttlSeconds * 1000 });
      bytes += size;
      if (++setsSinceSweep >= sweepAfter) sweep(at);
      for (const [k, entry] of entries) {
        if (entries.size <= maxEntries && bytes <= maxBytes) break;
        drop(k, entry);
      }
      return Promise.resolve();
    },
    close() {
      entries.clear();
      bytes = 0;
      return Promise.resolve();
    },
  };
}
