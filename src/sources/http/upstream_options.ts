/**
 * The one mapping from the server's configuration to an upstream client's
 * options, for every upstream the server opens (`API_BASE_URL`'s and each
 * tools-file `http` source's), so a new client setting is wired once.
 *
 * `API_AUTH_TOKEN` is not read here: it is the credential of `API_BASE_URL`
 * alone, and a tools-file source is another host, so only the caller that
 * opens `API_BASE_URL`'s client passes it.
 *
 * @example A tools-file source keeps the server's settings but its own URL, retries and headers
 * ```ts
 * import { upstreamOptions } from "./upstream_options.ts";
 * import assert from "node:assert/strict";
 *
 * const upstream = {
 *   timeoutSeconds: 10,
 *   maxRetries: 2,
 *   backoffFactor: 2,
 *   backoffInitialSeconds: 0.2,
 *   backoffMaxSeconds: 5,
 *   maxConnections: 50,
 *   maxResponseBytes: 1_000_000,
 *   circuitFailures: 5,
 *   circuitMinCallers: 2,
 *   circuitCooldownSeconds: 30,
 * };
 * const options = upstreamOptions(upstream, {
 *   name: "crm",
 *   baseUrl: "https://crm.example/v1",
 *   maxRetries: 0,
 *   headers: { "x-tenant": "acme" },
 * });
 * assert.equal(options.maxRetries, 0);
 * assert.equal(options.attemptTimeoutMs, 10_000);
 * assert.equal(options.auth, undefined);
 * assert.deepEqual(options.backoff, { initialMs: 200, factor: 2, maxMs: 5000 });
 * ```
 *
 * @module
 */
import type { Config } from "../../config/env.ts";
import type { UpstreamOptions } from "./upstream.ts";

/** The part of the configuration an upstream client is built from (its credential aside). */
export type UpstreamConfig = Omit<Config["upstream"], "baseUrl" | "auth">;

/** What one upstream sets for itself on top of the server's configuration. */
export interface UpstreamOverrides {
  /** Names the upstream in logs and metrics. */
  readonly name: string;
  readonly baseUrl: string;
  readonly timeoutSeconds?: number;
  readonly maxRetries?: number;
  readonly maxConnections?: number;
  /** `API_AUTH_TOKEN`'s header, for `API_BASE_URL` only. */
  readonly auth?: UpstreamOptions["auth"];
  /** A tools-file source's own headers. */
  readonly headers?: UpstreamOptions["headers"];
}

/** `upstream`'s settings as client options, with `own` on top (log and metrics are the caller's). */
export function upstreamOptions(
  upstream: UpstreamConfig,
  own: UpstreamOverrides,
): Omit<UpstreamOptions, "log" | "observe"> {
  return {
    name: own.name,
    baseUrl: own.baseUrl,
    attemptTimeoutMs: (own.timeoutSeconds ?? upstream.timeoutSeconds) * 1000,
    maxRetries: own.maxRetries ?? upstream.maxRetries,
    backoff: {
      initialMs: upstream.backoffInitialSeconds * 1000,
      factor: upstream.backoffFactor,
      maxMs: upstream.backoffMaxSeconds * 1000,
    },
    maxConnections: own.maxConnections ?? upstream.maxConnections,
    circuitFailures: upstream.circuitFailures,
    circuitMinCallers: upstream.circuitMinCallers,
    circuitCooldownMs: upstream.circuitCooldownSeconds * 1000,
    maxResponseBytes: upstream.maxResponseBytes,
    ...(own.auth ? { auth: own.auth } : {}),
    ...(own.headers ? { headers: own.headers } : {}),
  };
}
