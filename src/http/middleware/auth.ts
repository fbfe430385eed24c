/**
 * Bearer authentication: API keys against the key ring
 * (`src/auth/key_ring.ts`: the environment keys compared in constant time,
 * then the keys file's by hash) and, with `AUTH_MODE` tokens or both, JWT
 * access tokens (`src/auth/token_verifier.ts`). Missing, malformed, wrong
 * and expired credentials get the same 401; with tokens accepted it names
 * the RFC 9728 resource metadata (and `error="invalid_token"` when a token
 * was refused). A token that could not be checked because the issuer's key
 * set is unreachable is a 503 with `Retry-After`, never a pass.
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
import { looksLikeJwt } from "../../auth/token_verifier.ts";
import type { TokenAuth } from "../../auth/token_auth.ts";
import { bearerChallenge } from "../../auth/protected_resource.ts";

// 8 KiB: JWT access tokens with many claims run past the 1 KiB an API key needs.
const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,8192})[ ]*$/i;

export { sameKey } from "../../auth/key_ring.ts";

/**
 * The one 401 every authentication failure gets. With tokens accepted it
 * names the resource metadata, and `invalid_token` when a token was refused.
 */
export function unauthorized(metadataUrl?: string, tokenRefused = false): ToolError {
  return new ToolError("unauthorized", "Unauthorized", {
    headers: {
      "www-authenticate": bearerChallenge(
        metadataUrl,
        tokenRefused ? { error: "invalid_token" } : {},
      ),
    },
  });
}

/** The 503 for a token that could not be checked: the issuer's key set is unreachable. */
function keySetUnavailable(): ToolError {
  return new ToolError("retry", "Token verification is unavailable: try again shortly", {
    httpStatus: 503,
    headers: { "retry-after": "5" },
  });
}

export type { TokenAuth } from "../../auth/token_auth.ts";

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
    /** JWT access tokens; absent: keys only (`AUTH_MODE=keys`). */
    tokens?: TokenAuth;
  },
): Middleware {
  const ring = Array.isArray(options.keys)
    ? createKeyRing(options.keys as readonly ApiKey[])
    : options.keys as KeyRing;
  const failures = options.failures;
  const anonymous = options.anonymous;
  const tokens = options.tokens;
  const keysOn = tokens === undefined || tokens.keys;
  const metadataUrl = tokens?.metadataUrl;
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
    const presented = match?.[1];
    if (presented !== undefined && tokens && looksLikeJwt(presented)) {
      return tokens.verifier.verify(presented).then((check) => {
        if (check.ok) {
          ctx.principal = check.principal;
          return next();
        }
        if (check.unavailable) {
          ctx.log.error("token not verified: the issuer's key set is unavailable");
          throw keySetUnavailable();
        }
        ctx.log.info("bearer token refused", { reason: check.reason });
        return refuse(ctx, undefined, address, true);
      });
    }
    const found = presented !== undefined && keysOn
      ? ring.identify(presented, Date.now())
      : undefined;
    if (found?.ok !== true) return refuse(ctx, found, address, false);
    ctx.principal = found.principal;
    return next();
  }

  /** Same 401 as any wrong key; only the log says it was a known, expired one. */
  async function refuse(
    ctx: RequestContext,
    found: (Identified & { ok: false }) | undefined,
    address: string | undefined,
    tokenRefused: boolean,
  ): Promise<never> {
    if (found?.expired) ctx.log.warn("expired API key presented", { key_id: found.expired });
    if (failures && address !== undefined) {
      await failures.limiter.consume(address, 1, failures.limit);
    }
    throw unauthorized(metadataUrl, tokenRefused);
  }
}
