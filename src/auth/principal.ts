/**
 * Who is calling: the identity auth resolves a request to. It lives with
 * auth (not with tools) so that anything below tools, config included, can
 * name it without importing the tool layer.
 *
 * Two layers of identity: `id` is the credential's holder (an API key's id,
 * or an OAuth client as `oauth:<client_id>`), which budgets, concurrency and
 * metrics count by; `user` is the end user the holder acts for (a verified
 * token's subject, or the claim `OAUTH_USER_CLAIM` names), which audit
 * lines, per-user limits, the response cache and identity-bound parameters
 * use. An API key has no end user.
 *
 * @module
 */

/** Who is calling: the key's id, never the key. */
export interface Principal {
  readonly id: string;
  /** The key's scopes; absent: it may call every tool. */
  readonly scopes?: ReadonlySet<string>;
  /** The key's own rate limit (keys file), ahead of `RATE_LIMIT_KEY_RPM` and `RATE_LIMIT_RPM`. */
  readonly rateLimitRpm?: number;
  /** How the caller proved who it is; absent: an API key. */
  readonly via?: "key" | "token";
  /** The end user (a verified token's user claim); never a metric label. */
  readonly user?: string;
  /** The verified token's claims, for identity-bound parameters and row-level security. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * A claim of the verified identity as the text a parameter or a database
 * setting takes: strings as they are, numbers and booleans as JSON; anything
 * else (absent, an object, an array, an empty or oversized string) is no value.
 *
 * @example
 * ```ts
 * import { claimText } from "./principal.ts";
 * import assert from "node:assert/strict";
 *
 * const principal = { id: "oauth:app", user: "u1", claims: { sub: "u1", tenant: 7, roles: [] } };
 * assert.equal(claimText(principal, "sub"), "u1");
 * assert.equal(claimText(principal, "tenant"), "7");
 * assert.equal(claimText(principal, "roles"), undefined);
 * assert.equal(claimText({ id: "primary" }, "sub"), undefined);
 * ```
 */
export function claimText(principal: Principal, claim: string): string | undefined {
  const value = principal.claims?.[claim];
  if (typeof value === "string") {
    return value.length > 0 && value.length <= 1024 ? value : undefined;
  }
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * The caller as one string, for what must never pass from one end user to
 * another of the same client (result cursors): the key or client id, and
 * the end user when there is one.
 *
 * @example
 * ```ts
 * import { callerKey } from "./principal.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(callerKey({ id: "primary" }), "primary");
 * assert.notEqual(callerKey({ id: "oauth:app", user: "a" }), callerKey({ id: "oauth:app", user: "b" }));
 * ```
 */
export function callerKey(principal: Pick<Principal, "id" | "user">): string {
  return principal.user === undefined ? principal.id : `${principal.id}\u0000${principal.user}`;
}
