/**
 * Bearer JWT access tokens, verified with `jose` (no crypto of our own):
 * signature against the issuer's key set, `iss` exactly, `aud` naming this
 * server's resource URL (RFC 8707: a token for another resource is refused,
 * and tokens are never passed on), `exp` required, `exp`/`nbf`/`iat` within
 * a small clock skew, and the algorithm from an asymmetric allow-list (no
 * `none`; no HS* either, so a public key can never be used as an HMAC
 * secret).
 *
 * The key set is a remote JWKS (fetched, cached for `jwksCacheSeconds`,
 * refetched when a token names an unknown `kid`, but at most once per
 * `jwksCooldownSeconds` however many unknown kids arrive, and with
 * concurrent refetches shared) or a static JWKS file (a backend that mints
 * its own tokens). A failed fetch also waits out the cooldown before the
 * next attempt, so an outage is not a flood of fetches either.
 *
 * Fail mode when the key set cannot be fetched (down, slow past
 * `jwksTimeoutSeconds`, or not a JWKS): tokens signed by keys still in the
 * cache keep working until the cache ages out; any token that needs a fetch
 * is answered 503 with `Retry-After` (closed: never let in unverified), and
 * API keys are unaffected.
 *
 * @module
 */
import * as jose from "jose";
import type { OAuthConfig } from "../config/env.ts";
import type { Principal } from "./principal.ts";

/** What a presented token turned out to be. */
export type TokenCheck =
  | { readonly ok: true; readonly principal: Principal }
  /** `unavailable`: the key set could not be had; the token was not judged. */
  | { readonly ok: false; readonly reason: string; readonly unavailable?: boolean };

/** Verifies tokens. */
export interface TokenVerifier {
  verify(token: string): Promise<TokenCheck>;
}

/** What {@linkcode createTokenVerifier} takes beyond the config. */
export interface TokenVerifierOptions {
  /** A static key set (the contents of `OAUTH_JWKS_FILE`), instead of `jwksUrl`. */
  readonly jwks?: jose.JSONWebKeySet;
  /** Counts key-set fetches (tests and metrics). */
  readonly onFetch?: (ok: boolean) => void;
}

/** Three base64url segments: what a compact JWS looks like (an API key never does, in practice). */
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/;

/**
 * Whether `presented` has the shape of a JWT (so it is checked as a token).
 *
 * @example
 * ```ts
 * import { looksLikeJwt } from "./token_verifier.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(looksLikeJwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"));
 * assert.ok(!looksLikeJwt("primary-test-key-0123456789"));
 * ```
 */
export function looksLikeJwt(presented: string): boolean {
  return presented.startsWith("eyJ") && COMPACT_JWS.test(presented);
}

/** The longest user or client claim a principal takes. */
const MAX_ID_LENGTH = 256;
const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]*$/;

/**
 * The tool scopes a token's `scope` (space-separated, RFC 9068) or `scp`
 * (array) claim grants: by name, or through `scopeMap` when one is set.
 *
 * @example
 * ```ts
 * import { tokenScopes } from "./token_verifier.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...tokenScopes({ scope: "openid tools:read" }, undefined)], ["openid", "tools:read"]);
 * assert.deepEqual([...tokenScopes({ scope: "mcp openid" }, { mcp: ["tools:read"] })], ["tools:read"]);
 * assert.deepEqual([...tokenScopes({}, undefined)], []);
 * ```
 */
export function tokenScopes(
  claims: Readonly<Record<string, unknown>>,
  scopeMap: Readonly<Record<string, readonly string[]>> | undefined,
): ReadonlySet<string> {
  const granted: string[] = typeof claims.scope === "string"
    ? claims.scope.split(" ").filter((s) => s !== "")
    : Array.isArray(claims.scp)
    ? claims.scp.filter((s): s is string => typeof s === "string")
    : [];
  if (scopeMap === undefined) return new Set(granted);
  return new Set(granted.flatMap((s) => scopeMap[s] ?? []));
}

/**
 * Builds the verifier. Throws at start for a configuration without a key set.
 *
 * @example A token from an unknown signer is refused
 * ```ts
 * import { createTokenVerifier } from "./token_verifier.ts";
 * import { parseConfig } from "../config/env.ts";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig({
 *   AUTH_MODE: "tokens",
 *   OAUTH_ISSUER: "https://id.example.com",
 *   OAUTH_RESOURCE: "https://mcp.example.com/mcp",
 *   OAUTH_JWKS_FILE: "jwks.json",
 * });
 * const verifier = createTokenVerifier(config.oauth!, { jwks: { keys: [] } });
 * const check = await verifier.verify("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln");
 * assert.equal(check.ok, false);
 * ```
 */
export function createTokenVerifier(
  config: OAuthConfig,
  options: TokenVerifierOptions = {},
): TokenVerifier {
  const keys = keySet(config, options);
  const verifyOptions: jose.JWTVerifyOptions = {
    issuer: config.issuer,
    audience: config.resource,
    algorithms: [...config.algorithms],
    clockTolerance: config.clockSkewSeconds,
    requiredClaims: ["exp"],
  };
  return {
    async verify(token) {
      let payload: jose.JWTPayload;
      try {
        ({ payload } = await jose.jwtVerify(token, keys, verifyOptions));
      } catch (error) {
        return refusal(error);
      }
      const user = idClaim(payload[config.userClaim]);
      if (payload[config.userClaim] !== undefined && user === undefined) {
        return { ok: false, reason: `claim ${config.userClaim} is not a usable user id` };
      }
      const client = idClaim(payload[config.clientClaim]) ?? idClaim(payload.azp) ?? "token";
      const claims = Object.freeze({ ...payload }) as Readonly<Record<string, unknown>>;
      return {
        ok: true,
        principal: Object.freeze<Principal>({
          id: `oauth:${client}`,
          via: "token",
          scopes: tokenScopes(claims, config.scopeMap),
          ...(user !== undefined ? { user } : {}),
          claims,
        }),
      };
    },
  };
}

/** A string claim usable as an id (printable, bounded), else undefined. */
function idClaim(value: unknown): string | undefined {
  const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  return typeof text === "string" && text.length <= MAX_ID_LENGTH && PRINTABLE.test(text)
    ? text
    : undefined;
}

/** Why a token was refused, and whether it was for want of the key set. */
function refusal(error: unknown): TokenCheck {
  if (
    error instanceof KeySetUnavailable || error instanceof jose.errors.JWKSTimeout ||
    error instanceof jose.errors.JWKSInvalid
  ) {
    return { ok: false, reason: "key set unavailable", unavailable: true };
  }
  if (error instanceof jose.errors.JOSEError) return { ok: false, reason: error.code };
  // A fetch that failed below jose (refused connection, DNS, TLS).
  if (error instanceof TypeError || (error instanceof Error && error.name === "AbortError")) {
    return { ok: false, reason: "key set unavailable", unavailable: true };
  }
  return { ok: false, reason: "malformed token" };
}

/** Thrown instead of fetching while a failed fetch's cooldown runs. */
class KeySetUnavailable extends Error {
  constructor(message = "JWKS unavailable: the last fetch failed moments ago") {
    super(message);
    this.name = "KeySetUnavailable";
  }
}

function keySet(
  config: OAuthConfig,
  options: TokenVerifierOptions,
): jose.JWTVerifyGetKey {
  if (options.jwks) return jose.createLocalJWKSet(options.jwks);
  if (!config.jwksUrl) {
    throw new Error("Cannot verify tokens: OAUTH_JWKS_URL or OAUTH_JWKS_FILE is required");
  }
  const cooldownMs = config.jwksCooldownSeconds * 1000;
  // jose bounds refetches on unknown kids after a *successful* fetch; this
  // bounds them after a failed one too.
  let failedAt = -Infinity;
  const fetchOnce: jose.FetchImplementation = async (url, init) => {
    if (performance.now() - failedAt < cooldownMs) throw new KeySetUnavailable();
    try {
      const response = await fetch(url, { ...init, redirect: "error" });
      options.onFetch?.(response.ok);
      if (!response.ok) {
        await response.body?.cancel();
        throw new KeySetUnavailable(`JWKS fetch answered ${response.status}`);
      }
      return response;
    } catch (error) {
      failedAt = performance.now();
      if (!(error instanceof KeySetUnavailable)) options.onFetch?.(false);
      throw error;
    }
  };
  return jose.createRemoteJWKSet(new URL(config.jwksUrl), {
    timeoutDuration: config.jwksTimeoutSeconds * 1000,
    cooldownDuration: cooldownMs,
    cacheMaxAge: config.jwksCacheSeconds * 1000,
    [jose.customFetch]: fetchOnce,
  });
}
