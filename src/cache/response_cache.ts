/**
 * The response cache: a tool opts in with `cacheTtlSeconds`, and its
 * successful results are kept for that long under a key made of the server
 * version, the tool (name and `cacheVersion`), the caller's principal (with
 * a token: its end user and stable claims too) and the validated input in canonical JSON (keys sorted), hashed with SHA-256. One
 * key's results never serve another, `{a, b}` and `{b, a}` are one entry, and
 * no input ever appears in a store's key names.
 *
 * The store (memory or Redis) sits behind {@linkcode ResponseCache}; the
 * {@linkcode ToolCache} in front of it never fails a call: a store error is a
 * lookup that missed (`result: "error"`), counted and warned about at most
 * every 10 s, and the call runs uncached.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Principal, Tool } from "../tools/define.ts";
import { SERVER_VERSION } from "../version.ts";

/** A store of JSON values with a time to live. Its methods reject when the store fails. */
export interface ResponseCache {
  /** The value stored under `key`, or undefined when there is none (or it expired). */
  get(key: string): Promise<unknown | undefined>;
  /** Stores `value` (as JSON) for `ttlSeconds`; a value over the store's entry bound is skipped. */
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}

/** The outcome of one lookup: `error` means the store failed and the call runs uncached. */
export type CacheResult = "hit" | "miss" | "error";

/** What {@linkcode ToolCache.lookup} found. */
export type CacheLookup =
  | { readonly result: "hit"; readonly key: string; readonly value: unknown }
  | { readonly result: "miss"; readonly key: string }
  | { readonly result: "error" };

/** The cache as the pipeline uses it: never rejects. */
export interface ToolCache {
  /** Looks up a call of `tool` with its validated `input` by `principal`. */
  lookup(tool: Tool, input: unknown, principal: Principal): Promise<CacheLookup>;
  /** Stores a successful result under the key a miss returned, for the tool's TTL. */
  store(tool: Tool, key: string, value: unknown): Promise<void>;
  close(): Promise<void>;
}

/** What {@linkcode createToolCache} takes. */
export interface ToolCacheOptions {
  readonly store: ResponseCache;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Which store, for the warning (`memory`, `redis`). */
  readonly storeName?: string;
}

/**
 * JSON with every object's keys sorted, so equal values have one text.
 * Throws for what JSON cannot hold (a BigInt, a cycle).
 *
 * @example Key order does not matter
 * ```ts
 * import { canonicalJson } from "./response_cache.ts";
 * import assert from "node:assert/strict";
 *
 * const text = canonicalJson({ b: 1, a: { d: [2, 1], c: null } });
 * assert.equal(text, '{"a":{"c":null,"d":[2,1]},"b":1}');
 * assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  }) ?? "null";
}

/**
 * The cache key of one call: SHA-256 (base64url) of the server version, the
 * tool's name and `cacheVersion`, the principal's id and the canonical input.
 *
 * @example The principal is part of the key
 * ```ts
 * import { cacheKey } from "./response_cache.ts";
 * import assert from "node:assert/strict";
 *
 * const tool = { name: "get_top_customers" };
 * const a = cacheKey(tool, { limit: 3, offset: 0 }, { id: "primary" });
 * assert.equal(a, cacheKey(tool, { offset: 0, limit: 3 }, { id: "primary" }));
 * assert.notEqual(a, cacheKey(tool, { limit: 3, offset: 0 }, { id: "secondary" }));
 * // Two end users of one client never share an entry.
 * const alice = { id: "oauth:app", user: "alice", claims: { sub: "alice", iat: 1 } };
 * const bob = { id: "oauth:app", user: "bob", claims: { sub: "bob", iat: 1 } };
 * assert.notEqual(cacheKey(tool, {}, alice), cacheKey(tool, {}, bob));
 * // A fresh token of the same user does.
 * assert.equal(cacheKey(tool, {}, alice), cacheKey(tool, {}, { ...alice, claims: { sub: "alice", iat: 2 } }));
 * assert.match(a, /^[A-Za-z0-9_-]{43}$/);
 * ```
 */
export function cacheKey(
  tool: Pick<Tool, "name" | "cacheVersion">,
  input: unknown,
  principal: Pick<Principal, "id" | "user" | "claims">,
): string {
  const material = canonicalJson([
    SERVER_VERSION,
    tool.name,
    tool.cacheVersion ?? "",
    principal.id,
    // The end user and what their token says: an identity-bound parameter or
    // a row-level-security setting may read any claim, so two users (or one
    // user with different claims) never share an entry.
    ...(principal.user === undefined && principal.claims === undefined
      ? []
      : [principal.user ?? null, stableClaims(principal.claims)]),
    input,
  ]);
  return createHash("sha256").update(material).digest("base64url");
}

/** Claims that change with every token of the same identity, left out of the key. */
const PER_TOKEN_CLAIMS = new Set(["iat", "exp", "nbf", "jti", "auth_time", "sid"]);

function stableClaims(
  claims: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | null {
  if (claims === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (!PER_TOKEN_CLAIMS.has(name)) out[name] = value;
  }
  return out;
}

/** How often, at most, a failing store is warned about. */
const WARNING_INTERVAL_MS = 10_000;

/**
 * Puts a store behind the pipeline: counts every lookup in
 * `tool_cache_requests_total{tool_name, result}` and turns store failures
 * into uncached calls.
 *
 * @example A miss, then a hit
 * ```ts
 * import { createToolCache } from "./response_cache.ts";
 * import { createMemoryCache } from "./memory_cache.ts";
 * import { createLogger } from "../observability/logger.ts";
 * import assert from "node:assert/strict";
 *
 * const cache = createToolCache({
 *   store: createMemoryCache({ maxEntries: 10, maxBytes: 10_000, maxEntryBytes: 1000 }),
 *   log: createLogger({ level: "error", sinks: [] }),
 * });
 * const tool = { name: "t", cacheTtlSeconds: 60 } as Parameters<typeof cache.lookup>[0];
 * const first = await cache.lookup(tool, { q: 1 }, { id: "primary" });
 * assert.ok(first.result === "miss");
 * await cache.store(tool, first.key, { rows: [] });
 * const second = await cache.lookup(tool, { q: 1 }, { id: "primary" });
 * assert.ok(second.result === "hit");
 * assert.deepEqual(second.value, { rows: [] });
 * ```
 */
export function createToolCache(options: ToolCacheOptions): ToolCache {
  const { store, log, metrics } = options;
  let lastWarning = -Infinity;

  function failed(tool: Tool, operation: "get" | "set", error: unknown): void {
    metrics?.cacheRequest(tool.name, "error");
    const now = performance.now();
    if (now - lastWarning < WARNING_INTERVAL_MS) return;
    lastWarning = now;
    log.warn("response cache store unavailable", {
      store: options.storeName,
      operation,
      tool_name: tool.name,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  return {
    async lookup(tool, input, principal) {
      let key: string;
      let value: unknown;
      try {
        key = cacheKey(tool, input, principal);
        value = await store.get(key);
      } catch (error) {
        failed(tool, "get", error);
        return { result: "error" };
      }
      if (value === undefined) {
        metrics?.cacheRequest(tool.name, "miss");
        return { result: "miss", key };
      }
      metrics?.cacheRequest(tool.name, "hit");
      return { result: "hit", key, value };
    },
    async store(tool, key, value) {
      if (tool.cacheTtlSeconds === undefined) return;
      try {
        await store.set(key, value, tool.cacheTtlSeconds);
      } catch (error) {
        failed(tool, "set", error);
      }
    },
    close: () => store.close(),
  };
}
