/**
 * What a refused request's log line says beyond its status: where it went
 * (the route template and the path, capped), who sent it (the client
 * address, through trusted proxies like the rate limits see it) and why (the
 * refusal's status and message, safe to show, as the caller got them).
 *
 * @module
 */
import type { ToolError } from "../tools/errors.ts";

/** The longest path a log line keeps (a hostile URL cannot flood the log). */
const MAX_PATH = 200;

/**
 * The fields of a refused request's log line.
 *
 * @example A 405 names its route, client and reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { refusalFields } from "./refusal_log.ts";
 * import { ToolError } from "../tools/errors.ts";
 *
 * const fields = refusalFields({
 *   route: "/health",
 *   url: new URL("http://h/health"),
 *   clientAddress: "192.0.2.7",
 *   error: new ToolError("invalid_input", "Method not allowed", { httpStatus: 405 }),
 * });
 * assert.deepEqual(fields, {
 *   route: "/health",
 *   path: "/health",
 *   client_address: "192.0.2.7",
 *   reason: "invalid_input: Method not allowed",
 * });
 * ```
 */
export function refusalFields(options: {
  /** The route template, or `unmatched`. */
  readonly route: string;
  readonly url: URL;
  readonly clientAddress: string;
  /** The refusal, when the kernel answered it (a door's own answer has its own log line). */
  readonly error: ToolError | undefined;
}): Record<string, string | undefined> {
  const path = options.url.pathname;
  return {
    route: options.route,
    path: path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path,
    client_address: options.clientAddress,
    reason: options.error && `${options.error.status}: ${options.error.message}`,
  };
}
