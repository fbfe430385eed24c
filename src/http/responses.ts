/**
 * Building responses, and the one place that turns an error into one.
 *
 * @module
 */
import { errorBody, type ToolError } from "../tools/errors.ts";

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

/** The response for a safe-to-show error: its status, its headers, the JSON error body. */
export function errorResponse(error: ToolError, requestId: string): Response {
  return jsonResponse(errorBody(error, requestId), error.httpStatus, error.headers);
}
