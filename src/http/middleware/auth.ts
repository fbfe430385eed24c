/**
 * Bearer API-key authentication. The presented key is compared with every
 * configured key in constant time (the loop runs over the whole configured
 * key whatever was sent), so neither the position of a mismatch nor which
 * key matched shows in the timing. (Hashing both sides first, as before,
 * cost ~2 µs a request through node:crypto for no extra safety.)
 * Missing, malformed and wrong keys get the same 401.
 *
 * @module
 */
import type { ApiKey } from "../../config/env.ts";
import { ToolError } from "../../tools/errors.ts";
import type { RateLimiter } from "../../ratelimit/limiter.ts";
import type { Middleware, RequestContext } from "../context.ts";
import type { Principal } from "../../tools/define.ts";
import { rateLimited } from "./rate_limit.ts";

const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,1024})[ ]*$/i;

/** Constant time in `key.length`: no early exit on a mismatch or a length difference. */
export function sameKey(presented: string, key: string): boolean {
  const n = presented.length;
  let diff = n ^ key.length;
  for (let i = 0; i < key.length; i++) {
    diff |= key.charCodeAt(i) ^ (n === 0 ? 0 : presented.charCodeAt(i % n));
  }
  return diff === 0;
}

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
}

/**
 * Builds the middleware; on success it sets `ctx.principal` to the key's id.
 * With `failures`, an address that spent its failed attempts is refused
 * (429) before any key is checked, valid or not, until its window resets:
 * otherwise a guesser would still tell a right key from a wrong one.
 */
export function auth(
  options: {
    keys: readonly ApiKey[];
    failures?: AuthFailureLimit;
    /**
     * TEST ONLY (`MCP_CONFORMANCE_FIXTURES`): a request with no Authorization
     * header at all is served as this principal. A malformed or wrong key is
     * still refused.
     */
    anonymous?: Principal;
  },
): Middleware {
  const keys = options.keys.map((k) => ({ id: k.id, key: k.key }));
  const failures = options.failures;
  const anonymous = options.anonymous;
  return async function authenticate(req, ctx, next) {
    if (anonymous && !req.headers.has("authorization")) {
      ctx.principal = anonymous;
      return await next();
    }
    const address = failures?.address(req, ctx);
    if (failures && address !== undefined) {
      const refused = await failures.limiter.refusal(address, failures.limit);
      if (refused) throw rateLimited(refused);
    }
    const match = BEARER.exec(req.headers.get("authorization") ?? "");
    const presented = match ? match[1] : undefined;
    let principal: string | undefined;
    for (const key of keys) {
      // No early exit: every key is compared every time.
      if (presented !== undefined && sameKey(presented, key.key) && principal === undefined) {
        principal = key.id;
      }
    }
    if (principal === undefined) {
      if (failures && address !== undefined) {
        await failures.limiter.consume(address, 1, failures.limit);
      }
      throw unauthorized();
    }
    ctx.principal = { id: principal };
    return await next();
  };
}
