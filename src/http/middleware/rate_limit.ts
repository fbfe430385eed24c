/**
 * The rate-limit step both doors run once they know what a request costs:
 * per API key id (no global bucket, so one key's loop cannot starve the
 * others), each tool call weighted by its configured cost; a token's end
 * user also has a budget of their own inside their client's.
 *
 * Every authenticated response carries `X-RateLimit-Limit`,
 * `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds); over the
 * limit the caller gets 429 with `Retry-After` (seconds).
 *
 * @module
 */
import type { RateDecision, RateLimiter } from "../../ratelimit/limiter.ts";
import { ToolError } from "../../tools/errors.ts";
import type { RequestContext } from "../context.ts";
import type { ProxyTrust } from "../trusted_proxies.ts";

/** What the doors call. */
export interface RateLimitPolicy {
  /** Points a call of `tool` costs: `RATE_LIMIT_TOOL_COSTS`, else the tool's own, else 1. */
  costOf(tool: string, toolCost?: number): number;
  /**
   * Spends `cost` of the caller's budget; throws a 429 (or, store down and
   * fail-closed, 503). `tools` names the registered tools the request calls.
   * With an in-process store it decides at once (returns nothing, or throws);
   * with Redis it returns the promise to await.
   */
  enforce(ctx: RequestContext, cost: number, tools?: readonly string[]): void | Promise<void>;
}

/** Options of {@linkcode createRateLimitPolicy}. */
export interface RateLimitPolicyOptions {
  readonly limiter: RateLimiter;
  readonly rpm: number;
  readonly keyRpm: Readonly<Record<string, number>>;
  readonly toolCosts: Readonly<Record<string, number>>;
  /**
   * Each end user's budget inside their client's (`RATE_LIMIT_USER_RPM`);
   * unset: half the client's. Only principals with a user (tokens) have one.
   */
  readonly userRpm?: number;
  /** Called once per refused request, with the tools it called (the metrics hook). */
  readonly onLimited?: (clientId: string, tools: readonly string[]) => void;
}

/** The headers every authenticated response carries. */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {};
  putRateLimitHeaders(headers, d);
  return headers;
}

/** Puts those headers into `headers`, a response's headers not yet built. */
export function putRateLimitHeaders(headers: Record<string, string>, d: RateDecision): void {
  headers["x-ratelimit-limit"] = String(d.limit);
  headers["x-ratelimit-remaining"] = String(d.remaining);
  headers["x-ratelimit-reset"] = String(Math.ceil(d.resetAtMs / 1000));
}

/** Sets those headers on a response's headers (no intermediate object: every response does this). */
export function setRateLimitHeaders(headers: Headers, d: RateDecision): void {
  headers.set("x-ratelimit-limit", String(d.limit));
  headers.set("x-ratelimit-remaining", String(d.remaining));
  headers.set("x-ratelimit-reset", String(Math.ceil(d.resetAtMs / 1000)));
}

/** The 429 for a refused decision. */
export function rateLimited(d: RateDecision): ToolError {
  return new ToolError("rate_limited", "Rate limit exceeded", {
    headers: { "retry-after": String(d.retryAfterSeconds), ...rateLimitHeaders(d) },
    extra: { retry_after_seconds: d.retryAfterSeconds },
  });
}

/** The 503 when the limiter's store failed and `RATE_LIMIT_FAIL_MODE` is `closed`. */
export function rateLimitUnavailable(): ToolError {
  return new ToolError("retry", "Rate limiting is unavailable: try again shortly", {
    headers: { "retry-after": "1" },
  });
}

/** Builds the policy. */
export function createRateLimitPolicy(options: RateLimitPolicyOptions): RateLimitPolicy {
  return {
    costOf: (tool, toolCost) => options.toolCosts[tool] ?? toolCost ?? 1,
    enforce(ctx, cost, tools = []) {
      const { id, rateLimitRpm, user } = ctx.principal!;
      // The keys file's own limit for its key, then RATE_LIMIT_KEY_RPM, then the default.
      const rpm = rateLimitRpm ?? options.keyRpm[id] ?? options.rpm;
      if (user !== undefined) return enforceUser(ctx, cost, tools, id, rpm, user);
      const decided = options.limiter.consume(id, cost, rpm);
      if (decided instanceof Promise) return decided.then((d) => apply(ctx, d, id, tools));
      apply(ctx, decided, id, tools);
    },
  };

  /**
   * An end user's own budget first (so a refused user spends nothing of the
   * client's), then the client's: one user cannot starve the others, and
   * all of them together stay within the client's budget.
   */
  function enforceUser(
    ctx: RequestContext,
    cost: number,
    tools: readonly string[],
    id: string,
    rpm: number,
    user: string,
  ): void | Promise<void> {
    const userRpm = Math.min(rpm, options.userRpm ?? Math.max(1, Math.floor(rpm / 2)));
    const afterUser = (mine: RateDecision): void | Promise<void> => {
      if (!mine.allowed) return apply(ctx, mine, id, tools);
      const decided = options.limiter.consume(id, cost, rpm);
      if (decided instanceof Promise) {
        return decided.then((d) => apply(ctx, tighter(mine, d), id, tools));
      }
      apply(ctx, tighter(mine, decided), id, tools);
    };
    // The user's key in the limiter's store: the client id and the user, apart.
    const first = options.limiter.consume(`${id}\u0000user\u0000${user}`, cost, userRpm);
    return first instanceof Promise ? first.then(afterUser) : afterUser(first);
  }

  function apply(
    ctx: RequestContext,
    decision: RateDecision,
    id: string,
    tools: readonly string[],
  ) {
    ctx.rateLimit = decision;
    if (decision.allowed) return;
    if (decision.degraded) throw rateLimitUnavailable();
    options.onLimited?.(id, tools);
    throw rateLimited(decision);
  }
}

/** The decision to report: a refusal, else the one with less left. */
function tighter(a: RateDecision, b: RateDecision): RateDecision {
  if (!b.allowed) return b;
  return a.remaining <= b.remaining ? a : b;
}

/**
 * The client's address for per-address limits: the socket peer, or behind a
 * proxy listed in `TRUSTED_PROXIES` the right-most `X-Forwarded-For` entry
 * that is not a trusted proxy (see trusted_proxies.ts). From any other peer
 * `X-Forwarded-For` is ignored: the client wrote it.
 */
export function clientAddress(req: Request, ctx: RequestContext, proxies: ProxyTrust): string {
  const forwarded = proxies.enabled ? req.headers.get("x-forwarded-for") : null;
  return proxies.clientAddress(ctx.remoteAddress, forwarded) ?? "unknown";
}
