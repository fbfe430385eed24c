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
import type { Middleware } from "../context.ts";

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

/** Builds the middleware; on success it sets `ctx.principal` to the key's id. */
export function auth(options: { keys: readonly ApiKey[] }): Middleware {
  const keys = options.keys.map((k) => ({ id: k.id, digest: digest(k.key) }));
  return async function authenticate(req, ctx, next) {
    const match = BEARER.exec(req.headers.get("authorization") ?? "");
    if (!match) throw unauthorized();
    const presented = digest(match[1]);
    let principal: string | undefined;
    for (const key of keys) {
      // No early exit: every key is compared every time.
      if (timingSafeEqual(presented, key.digest) && principal === undefined) principal = key.id;
    }
    if (principal === undefined) throw unauthorized();
    ctx.principal = { id: principal };
    return await next();
  };
}
