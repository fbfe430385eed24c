/**
 * The per-key bound on tool calls running at once. The rate limit counts
 * calls per window, not how long they hold a database connection: one key
 * sending slow statements in parallel could hold every connection of the
 * pool while staying under its rate, and every other key would get 503
 * `busy`. With at most `limit` calls per key in flight (by default half the
 * pool, see `defaultConcurrencyLimit`), the rest of the pool stays free for
 * the other keys.
 *
 * The count is per isolate (in memory, no store to fail): it bounds what one
 * key holds of this isolate's pool, which is the pool it would exhaust.
 * Refusals are 429 `concurrency_limited` with `Retry-After`, told apart
 * from the rate limit's `rate_limited`.
 *
 * @module
 */
import { ToolError } from "../tools/errors.ts";

/** What the doors call around the tool calls of one request. */
export interface ConcurrencyLimit {
  /**
   * Takes `calls` slots of `keyId`'s bound for the calls of one request and
   * returns the function that gives them back (call it once, when the calls
   * are over). Throws the 429 when the key has too few slots free, and a 400
   * when one request asks for more than the whole bound (a batch that could
   * never run).
   */
  acquire(keyId: string, calls: number): () => void;
  /** Calls `keyId` has running (tests, and the limit's own bookkeeping). */
  running(keyId: string): number;
  readonly limit: number;
}

/**
 * The default bound: half the database pool, at least 1, so one key leaves
 * the other half to everyone else.
 *
 * @example
 * ```ts
 * import { defaultConcurrencyLimit } from "./concurrency.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultConcurrencyLimit(10), 5);
 * assert.equal(defaultConcurrencyLimit(3), 1);
 * assert.equal(defaultConcurrencyLimit(1), 1);
 * ```
 */
export function defaultConcurrencyLimit(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 2));
}

/**
 * Builds the bound. `onLimited` is told each refusal (the metrics hook).
 *
 * @example A key at its bound is refused until a call ends
 * ```ts
 * import { createConcurrencyLimit } from "./concurrency.ts";
 * import { ToolError } from "../tools/errors.ts";
 * import assert from "node:assert/strict";
 *
 * const bound = createConcurrencyLimit({ limit: 2 });
 * const release = bound.acquire("primary", 2);
 * assert.throws(() => bound.acquire("primary", 1), (e) =>
 *   e instanceof ToolError && e.status === "concurrency_limited" && e.httpStatus === 429);
 * bound.acquire("secondary", 1)(); // another key is not affected
 * release();
 * bound.acquire("primary", 1)();
 * assert.equal(bound.running("primary"), 0);
 * ```
 */
export function createConcurrencyLimit(
  options: { readonly limit: number; readonly onLimited?: (keyId: string) => void },
): ConcurrencyLimit {
  const { limit } = options;
  // Only keys with calls running have an entry: memory follows active keys.
  const inFlight = new Map<string, number>();
  return {
    limit,
    running: (keyId) => inFlight.get(keyId) ?? 0,
    acquire(keyId, calls) {
      if (calls > limit) {
        throw new ToolError(
          "invalid_input",
          `This request calls ${calls} tools at once; this API key may run at most ${limit} at once: send fewer per batch`,
        );
      }
      const running = inFlight.get(keyId) ?? 0;
      if (running + calls > limit) {
        options.onLimited?.(keyId);
        throw concurrencyLimited(limit);
      }
      inFlight.set(keyId, running + calls);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (inFlight.get(keyId) ?? calls) - calls;
        if (left > 0) inFlight.set(keyId, left);
        else inFlight.delete(keyId);
      };
    },
  };
}

/** The 429 for a key with all its slots taken. */
function concurrencyLimited(limit: number): ToolError {
  return new ToolError(
    "concurrency_limited",
    `Concurrency limit exceeded: this API key may run at most ${limit} tool calls at once`,
    {
      // A call ends within its deadline; most much sooner. One second is a
      // polite first wait, not a promise.
      headers: { "retry-after": "1" },
      extra: { retry_after_seconds: 1, max_concurrent_calls: limit },
    },
  );
}
