/**
 * Building responses, and the one place that turns an error into one.
 *
 * @module
 */
import { errorBody, type ToolError } from "../tools/errors.ts";
import type { RequestContext } from "./context.ts";
import { REQUEST_ID_HEADER } from "./middleware/request_id.ts";
import { putRateLimitHeaders } from "./middleware/rate_limit.ts";
import { tell } from "./answer.ts";

const STAMPED = Object.freeze({ stamped: true });

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

/** A JSON response with the headers every API answer carries. */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers?: Readonly<Record<string, string>>,
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
  });
}

/**
 * `headers` (a fresh object, filled in place) with what the app adds to every
 * API answer: `X-Request-ID`, and `X-RateLimit-*` once a door enforced the
 * limit. For a door building its final response: Deno 2.9.6 turns a
 * response's headers into its native form when the `Response` is built (for
 * anything beyond a lone `Content-Type`) and drops that work again when a
 * header is set afterwards, so giving them all at once saved ~1 µs of CPU
 * per call on the REST door. The door marks the `Response` it builds with
 * them `stamped` (see answer.ts) so the kernel does not set them again.
 */
export function answerHeaders(
  ctx: RequestContext,
  headers: Record<string, string>,
): Record<string, string> {
  headers[REQUEST_ID_HEADER] = ctx.requestId;
  if (ctx.rateLimit) putRateLimitHeaders(headers, ctx.rateLimit);
  return headers;
}

/**
 * A 200 JSON answer of a door, with every header it carries given at once
 * (see {@linkcode answerHeaders}); `extra` adds more (e.g. `X-Cache`).
 */
export function jsonAnswer(
  ctx: RequestContext,
  body: unknown,
  extra?: Readonly<Record<string, string>>,
): Response {
  return tell(jsonResponse(body, 200, answerHeaders(ctx, { ...extra })), STAMPED);
}

/** The response for a safe-to-show error: its status, its headers, the JSON error body. */
export function errorResponse(error: ToolError, requestId: string): Response {
  return jsonResponse(errorBody(error, requestId), error.httpStatus, error.headers);
}
