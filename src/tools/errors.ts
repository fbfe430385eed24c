/**
 * The one error type whose message is safe to show a caller. Anything thrown
 * that is not a `ToolError` is a fault: logged in full, answered generically.
 *
 * @module
 */

/** The `status` field of every error body. */
export type ErrorStatus =
  | "not_found"
  | "invalid_input"
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "concurrency_limited"
  /** The per-address lockout after too many failed authentication attempts (not a key's rate limit). */
  | "auth_locked"
  | "retry"
  | "error";

/** One problem with one input field. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

const DEFAULT_HTTP_STATUS: Record<ErrorStatus, number> = {
  not_found: 404,
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  concurrency_limited: 429,
  auth_locked: 429,
  retry: 503,
  error: 500,
};

/** Options of a {@linkcode ToolError}. */
export interface ToolErrorOptions {
  /** HTTP status when it differs from the status's default (e.g. 504 for a deadline). */
  readonly httpStatus?: number;
  /** Per-field problems for `invalid_input`. */
  readonly details?: readonly FieldProblem[];
  /** Extra response headers (e.g. `Allow`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The underlying fault, logged but never shown. */
  readonly cause?: unknown;
  /** Extra fields for the error body (e.g. `retry_after_seconds`). */
  readonly extra?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * An error with a message written for the caller. Tool authors throw it for
 * expected failures (`new ToolError("not_found", "Customer not found")`).
 */
export class ToolError extends Error {
  readonly status: ErrorStatus;
  readonly httpStatus: number;
  readonly details: readonly FieldProblem[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly extra: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(status: ErrorStatus, message: string, options: ToolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ToolError";
    this.status = status;
    this.httpStatus = options.httpStatus ?? DEFAULT_HTTP_STATUS[status];
    this.details = options.details;
    this.headers = options.headers;
    this.extra = options.extra;
  }
}

/** The JSON body of every error response (and of an MCP `isError` result). */
export interface ErrorBody {
  error: string;
  status: ErrorStatus;
  request_id: string;
  details?: readonly FieldProblem[];
  [extra: string]: unknown;
}

/** Builds the error body; the message is the `ToolError`'s, never a fault's. */
export function errorBody(error: ToolError, requestId: string): ErrorBody {
  const body: ErrorBody = {
    error: error.message,
    status: error.status,
    ...error.extra,
    request_id: requestId,
  };
  if (error.details) body.details = error.details;
  return body;
}

/** The answer for any fault that is not a `ToolError`. */
export function internalError(cause: unknown): ToolError {
  return new ToolError("error", "Internal server error", { cause });
}
