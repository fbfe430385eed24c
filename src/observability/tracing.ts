/**
 * Traces, through Deno's built-in OpenTelemetry. Run the server with
 * `OTEL_DENO=true` (and the standard `OTEL_EXPORTER_OTLP_*`,
 * `OTEL_SERVICE_NAME` variables) and Deno itself exports a span per
 * `Deno.serve` request and per `fetch`, and registers its tracer provider and
 * context manager with `@opentelemetry/api` (as API version 1.999.999, so any
 * 1.x API binds to it). This module adds the span per tool call on top.
 *
 * Without `OTEL_DENO=true` nothing is registered, {@linkcode tracingEnabled}
 * is false, and every helper here is a plain function call: no span, no
 * context object, no attribute is built.
 *
 * Deno's `fetch` instrumentation writes the `traceparent` of its own client
 * span into every request it sends (appending to one already set), so with
 * tracing on, callers must not set that header themselves.
 *
 * @module
 */
import type { Attributes, Span } from "@opentelemetry/api";
import { SERVER_NAME, SERVER_VERSION } from "../version.ts";

/**
 * Whether Deno's OpenTelemetry tracing is on in this process (`OTEL_DENO=true`,
 * and neither `OTEL_DENO_TRACING=false` nor `OTEL_SDK_DISABLED=true`). Deno
 * registers its provider before any module runs, so this is fixed at start.
 *
 * @example Off in a process started without OTEL_DENO=true
 * ```ts
 * import assert from "node:assert/strict";
 * import { tracingEnabled } from "./tracing.ts";
 *
 * assert.equal(typeof tracingEnabled, "boolean");
 * ```
 */
export const tracingEnabled: boolean =
  (globalThis as { [key: symbol]: { trace?: unknown } | undefined })[
    // Where every 1.x `@opentelemetry/api` keeps what is registered: a tracer
    // provider under `trace` exactly when Deno's tracing is on (checked
    // against OTEL_DENO, OTEL_DENO_TRACING and OTEL_SDK_DISABLED in tests).
    Symbol.for("opentelemetry.js.api.1")
  ]?.trace !== undefined;

// The API is loaded only when tracing is on: evaluating it cost ~5 ms of
// every start, for a server that mostly runs without tracing.
const api = tracingEnabled ? await import("@opentelemetry/api") : undefined;

/** A tool call's span, as the pipeline sees it. */
export interface ToolSpan {
  /** The trace id (32 hex digits), for the audit line. */
  readonly traceId: string;
  /** Adds or replaces attributes. */
  set(attributes: Attributes): void;
  /** Marks the span failed (a fault or a retryable failure), with a message safe to show. */
  fail(message: string): void;
}

/**
 * Runs `fn` inside a new span `tool <name>` (a child of the active span: the
 * request's, under `Deno.serve`), ending it when `fn` settles. Without
 * tracing, `fn` gets `undefined` and runs as is.
 *
 * @example Without tracing, the function runs with no span
 * ```ts
 * import assert from "node:assert/strict";
 * import { tracingEnabled, withToolSpan } from "./tracing.ts";
 *
 * const result = await withToolSpan("echo", {}, (span) => Promise.resolve(span?.traceId ?? "none"));
 * if (!tracingEnabled) assert.equal(result, "none");
 * ```
 */
export function withToolSpan<T>(
  toolName: string,
  attributes: Attributes,
  fn: (span: ToolSpan | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled) return fn(undefined);
  return tracer().startActiveSpan(
    `tool ${toolName}`,
    { kind: api!.SpanKind.INTERNAL, attributes },
    async (span) => {
      try {
        return await fn(toolSpan(span));
      } finally {
        span.end();
      }
    },
  );
}

/**
 * `fn` bound to the context active now, so it runs under this call's span
 * even when something else (a queue) calls it later from another call's
 * context. Without tracing, `fn` itself.
 *
 * @example Without tracing, the same function comes back
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindActiveContext, tracingEnabled } from "./tracing.ts";
 *
 * const fn = () => 1;
 * if (!tracingEnabled) assert.equal(bindActiveContext(fn), fn);
 * ```
 */
export function bindActiveContext<F extends (...args: never[]) => unknown>(fn: F): F {
  return api ? api.context.bind(api.context.active(), fn) : fn;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Runs `fn` with the caller's span (a W3C `traceparent`, and `tracestate`,
 * as a 2026-07-28 request carries them in `_meta`) as the active parent, so
 * the tool span continues the caller's trace. Without tracing, or with a
 * malformed or all-zero `traceparent` (W3C: ignore it), `fn` runs as is.
 *
 * @example Without tracing, the function just runs
 * ```ts
 * import assert from "node:assert/strict";
 * import { withRemoteParent } from "./tracing.ts";
 *
 * const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
 * assert.equal(withRemoteParent({ traceparent: parent }, () => 42), 42);
 * ```
 */
export function withRemoteParent<T>(
  trace: { readonly traceparent?: string; readonly tracestate?: string } | undefined,
  fn: () => T,
): T {
  if (!api || trace?.traceparent === undefined) return fn();
  const m = TRACEPARENT.exec(trace.traceparent);
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return fn();
  const parent = api.trace.setSpanContext(api.context.active(), {
    traceId: m[1],
    spanId: m[2],
    traceFlags: parseInt(m[3], 16),
    isRemote: true,
    ...(trace.tracestate !== undefined && { traceState: api.createTraceState(trace.tracestate) }),
  });
  return api.context.with(parent, fn);
}

let cachedTracer: ReturnType<NonNullable<typeof api>["trace"]["getTracer"]> | undefined;
function tracer() {
  return cachedTracer ??= api!.trace.getTracer(SERVER_NAME, SERVER_VERSION);
}

function toolSpan(span: Span): ToolSpan {
  return {
    traceId: span.spanContext().traceId,
    set: (attributes) => void span.setAttributes(attributes),
    fail: (message) => void span.setStatus({ code: api!.SpanStatusCode.ERROR, message }),
  };
}
