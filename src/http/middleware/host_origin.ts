/**
 * Host and Origin checks against DNS rebinding and cross-site calls (the MCP
 * spec requires servers to validate `Origin`).
 *
 * - `Origin` present: allowed when listed in `ALLOWED_ORIGINS`, or when it is
 *   the server's own origin (same scheme-less host as an accepted `Host`).
 *   Anything else, including `null`, is 403.
 * - `Host`: with `ALLOWED_HOSTS` set, it must be listed. Without it, a server
 *   bound to a loopback address accepts only loopback names (what a rebinding
 *   attack cannot forge); a server bound elsewhere accepts any host.
 * - On a connection from a proxy listed in `TRUSTED_PROXIES` the first
 *   `X-Forwarded-Host` stands for `Host`; from any other peer it is ignored.
 *
 * @module
 */
import { ToolError } from "../../tools/errors.ts";
import type { Middleware, RequestContext } from "../context.ts";
import type { ProxyTrust } from "../trusted_proxies.ts";

/** Options of {@linkcode hostOrigin}. */
export interface HostOriginOptions {
  /** The address the server listens on. */
  readonly bindHost: string;
  /** `ALLOWED_HOSTS`: host names, or `host:port`, lower case. */
  readonly allowedHosts: readonly string[];
  /** `ALLOWED_ORIGINS`: exact origins. */
  readonly allowedOrigins: readonly string[];
  /** `TRUSTED_PROXIES`: the peers whose `X-Forwarded-Host` counts. */
  readonly proxies: ProxyTrust;
}

/** How many distinct Host values keep their verdict (see `hostAllowedCached`). */
const HOST_VERDICTS_MAX = 256;

/** Whether `host` (a name or an address, brackets optional) is a loopback one. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Splits `Host` into host name and port: `[::1]:8000` → `["::1", "8000"]`. */
function splitHost(value: string): [string, string] {
  const v = value.trim().toLowerCase();
  if (v.startsWith("[")) {
    const end = v.indexOf("]");
    return [v.slice(1, end), v.slice(end + 2)];
  }
  const colon = v.lastIndexOf(":");
  return colon === -1 ? [v, ""] : [v.slice(0, colon), v.slice(colon + 1)];
}

/** Builds the middleware. */
export function hostOrigin(options: HostOriginOptions): Middleware {
  // Entries are normalized like Host values, so "[::1]:8000" and "::1" both work.
  const allowedHosts = new Set(options.allowedHosts.map((entry) => {
    const [name, port] = splitHost(entry);
    return port === "" ? name : `${name}:${port}`;
  }));
  const allowedOrigins = new Set(options.allowedOrigins);
  const loopbackOnly = allowedHosts.size === 0 && isLoopbackHost(options.bindHost);

  function hostAllowed(hostHeader: string): boolean {
    const [name, port] = splitHost(hostHeader);
    if (allowedHosts.size > 0) {
      return allowedHosts.has(name) || (port !== "" && allowedHosts.has(`${name}:${port}`));
    }
    return loopbackOnly ? isLoopbackHost(name) : true;
  }
  // Clients send the same few Host values on every request: each is judged
  // once (parsing it cost ~0.7 µs a request). Bounded: past
  // HOST_VERDICTS_MAX distinct values (someone sending junk) it starts over.
  const verdicts = new Map<string, boolean>();
  function hostAllowedCached(host: string): boolean {
    let allowed = verdicts.get(host);
    if (allowed === undefined) {
      if (verdicts.size >= HOST_VERDICTS_MAX) verdicts.clear();
      verdicts.set(host, allowed = hostAllowed(host));
    }
    return allowed;
  }

  // Not an async function: the check itself never waits, and an async frame
  // around `next()` would cost a promise per request. A refusal is a
  // rejected promise all the same.
  return function hostOriginCheck(req, ctx, next) {
    try {
      check(req, ctx);
    } catch (error) {
      return Promise.reject(error);
    }
    return next();
  };

  function check(req: Request, ctx: RequestContext): void {
    const forwarded = options.proxies.enabled && options.proxies.trusts(ctx.remoteAddress)
      ? req.headers.get("x-forwarded-host")
      : null;
    const host = (forwarded?.split(",", 1)[0] ?? req.headers.get("host") ?? ctx.url.host).trim();
    if (!hostAllowedCached(host)) {
      throw new ToolError("forbidden", "Forbidden: host not allowed");
    }
    const origin = req.headers.get("origin");
    if (origin !== null && !allowedOrigins.has(origin)) {
      let sameOrigin = false;
      try {
        sameOrigin = new URL(origin).host === host.toLowerCase();
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin) throw new ToolError("forbidden", "Forbidden: origin not allowed");
    }
  }
}
