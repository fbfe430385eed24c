/**
 * Request ids: a caller's `X-Request-ID` is kept only when it is a sane
 * token, so a hostile id (newlines, JSON, kilobytes) never reaches a log line
 * or a header; otherwise a fresh UUID.
 *
 * @module
 */

/** What an accepted incoming id looks like. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** The header carrying the id, both ways. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * Returns the incoming id if it is acceptable, else a new UUID.
 *
 * @example A hostile id is replaced
 * ```ts
 * import { resolveRequestId } from "./request_id.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveRequestId("abc-123"), "abc-123");
 * assert.notEqual(resolveRequestId('x"\n{"level":"error"}'), 'x"\n{"level":"error"}');
 * ```
 */
export function resolveRequestId(incoming: string | null): string {
  return incoming !== null && REQUEST_ID_PATTERN.test(incoming) ? incoming : crypto.randomUUID();
}
