/**
 * CORS for the REST door (`/v1/…`) and the docs (`/docs`, `/openapi.json`),
 * off unless `CORS_ORIGINS` lists origins. Exact origins only: no `*`, and no
 * credentials mode (the API key travels in `Authorization`, never a cookie),
 * so `Access-Control-Allow-Credentials` is never sent. The MCP door is not
 * covered: MCP clients are not browsers.
 *
 * @module
 */
import { errorResponse } from "../responses.ts";
import { ToolError } from "../../tools/errors.ts";

/** Paths CORS applies to. */
const CORS_PATH = /^\/(v1\/|docs(\/|$)|openapi\.json$)/;
const ALLOW_METHODS = "GET, POST";
const ALLOW_HEADERS = "authorization, content-type, x-request-id, traceparent";
const EXPOSE_HEADERS =
  "x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, x-cache";
/** Browsers may reuse a preflight answer for this long (seconds). */
const MAX_AGE = "600";

/** The CORS policy for a list of allowed origins. */
export interface Cors {
  /** The answer to an `OPTIONS` preflight on a CORS path, or undefined for anything else. */
  preflight(req: Request, url: URL, requestId: string): Response | undefined;
  /** Adds the CORS headers to a response to an allowed origin. */
  decorate(req: Request, url: URL, response: Response): void;
}

/** Builds the policy; with no origins it never answers or adds anything. */
export function cors(origins: readonly string[]): Cors {
  const allowed = new Set(origins);
  const applies = (url: URL) => allowed.size > 0 && CORS_PATH.test(url.pathname);
  return {
    preflight(req, url, requestId) {
      if (req.method !== "OPTIONS" || !applies(url)) return undefined;
      const origin = req.headers.get("origin");
      const method = req.headers.get("access-control-request-method");
      if (origin === null || method === null) return undefined;
      if (!allowed.has(origin) || !ALLOW_METHODS.split(", ").includes(method)) {
        const refused = errorResponse(
          new ToolError("forbidden", "Cross-origin request not allowed"),
          requestId,
        );
        refused.headers.set("vary", "Origin");
        return refused;
      }
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": ALLOW_METHODS,
          "access-control-allow-headers": ALLOW_HEADERS,
          "access-control-max-age": MAX_AGE,
          vary: "Origin",
        },
      });
    },
    decorate(req, url, response) {
      if (!applies(url)) return;
      response.headers.append("vary", "Origin");
      const origin = req.headers.get("origin");
      if (origin === null || !allowed.has(origin)) return;
      response.headers.set("access-control-allow-origin", origin);
      response.headers.set("access-control-expose-headers", EXPOSE_HEADERS);
    },
  };
}
