/**
 * Bearer API-key authentication. Keys are compared as SHA-256 digests with a
 * constant-time comparison against every configured key, so neither the
 * position of a mismatch nor which key matched shows in the timing.
 * Missing, malformed and wrong keys get the same 401.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKey } from "../../config/env.ts";
import { ToolError } from "../../tools/errors.ts";
import type { RateLimiter } from "../../ratelimit/limiter.ts";
import type { Middleware, RequestContext } from "../context.ts";
import { rateLimited } from "./rate_limit.ts";

const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,1024})[ ]*$/i;

function digest(value: string): Uint8Array {
  return createHash("sha256").update(value).digest();
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
  options: { keys: readonly ApiKey[]; failures?: AuthFailureLimit },
): Middleware {
  const keys = options.keys.map((k) => ({ id: k.id, digest: digest(k.key) }));
  const failures = options.failures;
  return async function authenticate(req, ctx, next) {
    const address = failures?.address(req, ctx);
    if (failures && address !== undefined) {
      const refused = await failures.limiter.refusal(address, failures.limit);
      if (refused) throw rateLimited(refused);
    }
    const match = BEARER.exec(req.headers.get("authorization") ?? "");
    const presented = match ? digest(match[1]) : undefined;
    let principal: string | undefined;
    for (const key of keys) {
      // No early exit: every key is compared every time.
      if (presented && timingSafeEqual(presented, key.digest) && principal === undefined) {
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
