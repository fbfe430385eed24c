/**
 * The upstream API handle a tool handler holds: the upstream bound to one
 * call's deadline, request id and trace, with upstream failures turned into
 * answers the caller can act on.
 *
 * | upstream                          | caller gets                        |
 * |-----------------------------------|------------------------------------|
 * | 404                               | 404 `not_found` (message per tool) |
 * | other 4xx, redirect               | 502 `error`                        |
 * | bad body (not JSON, too large)    | 502 `error`                        |
 * | 5xx or network, after retries     | 502 `retry`                        |
 * | timeouts, after retries           | 504 `retry`                        |
 * | 429 after retries / past deadline | 503 `retry` + `Retry-After`        |
 * | circuit open                      | 503 `retry` + `Retry-After`        |
 *
 * @module
 */
import type { Logger } from "../observability/logger.ts";
import type { ApiPath } from "../sources/http/path.ts";
import { type Upstream, UpstreamError } from "../sources/http/upstream.ts";
import { ToolError } from "./errors.ts";

/** Per-request options a handler may pass. */
export interface ApiGetOptions {
  /** Query parameters (encoded for you). */
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** What a 404 tells the caller, e.g. "Customer not found". */
  readonly notFound?: string;
}

/** What `ctx.api` offers a handler. */
export interface ApiClient {
  /** GETs `path` (built with `apiPath`) from the configured upstream and returns its JSON. */
  get<T = unknown>(path: ApiPath, options?: ApiGetOptions): Promise<T>;
  /** POSTs `body` as JSON (sent once, never retried) and returns the JSON answer. */
  post<T = unknown>(path: ApiPath, body: unknown, options?: ApiGetOptions): Promise<T>;
}

/** The handle tools get when no upstream is configured (their tools are not served then). */
export const NO_UPSTREAM: ApiClient = {
  get() {
    return Promise.reject(new Error("No upstream API is configured (API_BASE_URL)"));
  },
  post() {
    return Promise.reject(new Error("No upstream API is configured (API_BASE_URL)"));
  },
};

/** Binds `upstream` to one call. */
export function bindApiClient(
  upstream: Upstream,
  call: {
    readonly signal: AbortSignal;
    readonly deadlineAt: number;
    readonly requestId: string;
    readonly traceparent?: string;
    readonly log: Logger;
    /** The principal's id: the circuit breaker counts each caller's failures apart. */
    readonly caller: string;
  },
): ApiClient {
  return {
    async get<T>(path: ApiPath, options: ApiGetOptions = {}): Promise<T> {
      try {
        return await upstream.getJson(path, call, options.query) as T;
      } catch (error) {
        if (call.signal.aborted || !(error instanceof UpstreamError)) throw error;
        throw toToolError(error, options.notFound);
      }
    },
    async post<T>(path: ApiPath, body: unknown, options: ApiGetOptions = {}): Promise<T> {
      try {
        return await upstream.postJson(path, body, call, options.query) as T;
      } catch (error) {
        if (call.signal.aborted || !(error instanceof UpstreamError)) throw error;
        throw toToolError(error, options.notFound);
      }
    },
  };
}

/** The caller's view of an upstream failure. */
export function toToolError(error: UpstreamError, notFound = "Not found"): ToolError {
  const cause = { cause: error };
  const retryAfter = (ms: number | undefined) =>
    ms === undefined ? undefined : { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))) };
  switch (error.kind) {
    case "not_found":
      return new ToolError("not_found", notFound, cause);
    case "rejected":
      return new ToolError("error", "Upstream API rejected the request", {
        ...cause,
        httpStatus: 502,
      });
    case "bad_response":
      return new ToolError("error", "Upstream API sent an invalid response", {
        ...cause,
        httpStatus: 502,
      });
    case "unavailable":
    case "network":
      return new ToolError("retry", "Upstream API unavailable: try again shortly", {
        ...cause,
        httpStatus: 502,
      });
    case "timeout":
      return new ToolError("retry", "Upstream API timed out: try again shortly", {
        ...cause,
        httpStatus: 504,
      });
    case "rate_limited":
      return new ToolError("retry", "Upstream API is rate limiting us: try again later", {
        ...cause,
        httpStatus: 503,
        headers: retryAfter(error.retryAfterMs),
      });
    case "circuit_open":
      return new ToolError("retry", "Upstream API unavailable: try again shortly", {
        ...cause,
        httpStatus: 503,
        headers: retryAfter(error.retryAfterMs),
      });
  }
}
