/**
 * Bearer API-key authentication against the key ring (`src/auth/key_ring.ts`):
 * the environment keys compared in constant time, then the keys file's by
 * hash. Missing, malformed, wrong and expired keys get the same 401.
 *
 * @module
 */
import type { ApiKey } from "../../config/env.ts";
import { createKeyRing, type Identified, type KeyRing } from "../../auth/key_ring.ts";
import { ToolError } from "../../tools/errors.ts";
import type { RateDecision, RateLimiter } from "../../ratelimit/limiter.ts";
import type { Middleware, RequestContext } from "../context.ts";
import type { Principal } from "../../auth/principal.ts";
import { rateLimitUnavailable } from "./rate_limit.ts";

const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,1024})[ ]*$/i;

export { sameKey } from "../../auth/key_ring.ts";

/** The one 401 every authentication failure gets. */
export function unauthorized(): ToolError {
  return new ToolError("unauthorized", "Unauthorized", {
    headers: { "www-authenticate": 'Bearer realm="mcp-tool-server"' },
  });
}

/** Brute-force protection: failed attempts allowed per client address per window. */
export interface AuthFailureLimit {
  readonly limiter: RateLimiter;
  readonly limit: number;
  readonly address: (req: Request, ctx: RequestContext) => string;
  /** Told of each request the lockout refuses (its metric). */
  readonly onLocked?: () => void;
}

/**
 * The lockout's 429: `status` `auth_locked`, told apart from a key's
 * `rate_limited` (a client that sees it has a key problem, not a pace problem).
 */
export function authLocked(d: RateDecision): ToolError {
  return new ToolError(
    "auth_locked",
    "Too many failed authentication attempts from this address: try again later",
    {
      headers: { "retry-after": String(d.retryAfterSeconds) },
      extra: { retry_after_seconds: d.retryAfterSeconds },
    },
  );
}

/**
 * Builds the middleware; on success it sets `ctx.principal` to the key's id.
 * With `failures`, an address that spent its failed attempts is refused
 * (429) before any key is checked, valid or not, until its window resets:
 * otherwise a guesser would still tell a right key from a wrong one.
 */
export function auth(
  options: {
    /** The environment keys alone, or a ring that also holds the keys file's. */
    keys: readonly ApiKey[] | KeyRing;
    failures?: AuthFailureLimit;
    /**
     * TEST ONLY (`MCP_CONFORMANCE_FIXTURES`): a request with no Authorization
     * header at all is served as this principal. A malformed or wrong key is
     * still refused.
     */
    anonymous?: Principal;
  },
): Middleware {
  const ring = Array.isArray(options.keys)
    ? createKeyRing(options.keys as readonly ApiKey[])
    : options.keys as KeyRing;
  const failures = options.failures;
  const anonymous = options.anonymous;
  // Not an async function: with an in-process store nothing here waits, and
  // an async frame around `next()` would cost a promise per request. What
  // may wait (a Redis store's answer, counting a failed attempt) is chained.
  return function authenticate(req, ctx, next) {
    try {
      if (anonymous && !req.headers.has("authorization")) {
        ctx.principal = anonymous;
        return next();
      }
      const address = failures?.address(req, ctx);
      if (failures && address !== undefined) {
        // Asked on every request; an in-process store answers without a promise.
        const refusing = failures.limiter.refusal(address, failures.limit);
        if (refusing instanceof Promise) {
          return refusing.then((refused) =>
            refused
              ? Promise.reject(refusal(refused, ctx, address))
              : identified(req, ctx, next, address)
          );
        }
        if (refusing) throw refusal(refusing, ctx, address);
      }
      return identified(req, ctx, next, address);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /**
   * A spent budget is the 429; a store that failed with
   * `RATE_LIMIT_FAIL_MODE=closed` is the key limiter's 503 (the limiter
   * logged it), since nothing would bound the guesses.
   */
  function refusal(refused: RateDecision, ctx: RequestContext, address: string): ToolError {
    if (refused.degraded) return rateLimitUnavailable();
    failures?.onLocked?.();
    ctx.log.warn("auth lockout: address refused before its key is checked", {
      client_address: address,
      retry_after_seconds: refused.retryAfterSeconds,
    });
    return authLocked(refused);
  }

  /** The next step for a known key, else the 401. */
  function identified(
    req: Request,
    ctx: RequestContext,
    next: () => Promise<Response>,
    address: string | undefined,
  ): Promise<Response> {
    const match = BEARER.exec(req.headers.get("authorization") ?? "");
    const found = match ? ring.identify(match[1], Date.now()) : undefined;
    if (found?.ok !== true) return refuse(ctx, found, address);
    ctx.principal = found.principal;
    return next();
  }

  /** Same 401 as any wrong key; only the log says it was a known, expired one. */
  async function refuse(
    ctx: RequestContext,
    found: (Identified & { ok: false }) | undefined,
    address: string | undefined,
  ): Promise<never> {
    if (found?.expired) ctx.log.warn("expired API key presented", { key_id: found.expired });
    if (failures && address !== undefined) {
      await failures.limiter.consume(address, 1, failures.limit);
    }
    throw unauthorized();
  }
}
