/**
 * The one pipeline every tool call goes through, whichever door it came in
 * by: validate the input, run the handler under its deadline, check the
 * output, and write the audit line. With tracing on (`OTEL_DENO=true`) the
 * call runs in a span `tool <name>`, whose trace id the audit line carries.
 *
 * A tool with `cacheTtlSeconds` is looked up in the response cache after its
 * input is validated: a hit is answered without running the handler (still
 * counted and audited, with `cache: "hit"`), a miss runs it and stores a
 * successful result. Errors are never stored.
 *
 * @module
 */
import type { z } from "zod";
import type { ToolCache } from "../cache/response_cache.ts";
import type { Deadline, DeadlineQueue } from "../timing/deadlines.ts";
import type { Logger } from "../observability/logger.ts";
import { callStatus, type Metrics } from "../observability/metrics.ts";
import { type ToolSpan, tracingEnabled, withToolSpan } from "../observability/tracing.ts";
import type { SqlSource, Truncation } from "../sources/db/sql_source.ts";
import type { Upstream } from "../sources/http/upstream.ts";
import { type ApiClient, bindApiClient, NO_UPSTREAM } from "./api_client.ts";
import { bindSqlClient, type SqlClient } from "./sql_client.ts";
import type { Principal, Tool, ToolContext } from "./define.ts";
import { type ErrorStatus, type FieldProblem, internalError, ToolError } from "./errors.ts";

/**
 * Outcome of one call: the result, or an error safe to show. `cache` is set
 * for cacheable tools only: `hit` when the result came from the cache, `miss`
 * when the handler ran (the store failing counts as a miss here).
 */
export type InvokeResult =
  | { readonly ok: true; readonly value: unknown; readonly cache?: "hit" | "miss" }
  | { readonly ok: false; readonly error: ToolError };

/** What every call shares, built once by the app. */
export interface InvokeDeps {
  readonly sql: SqlSource;
  /** The upstream REST API, when one is configured. */
  readonly upstream?: Upstream;
  readonly defaultTimeoutSeconds: number;
  /** Counts calls and query durations; absent in unit tests. */
  readonly metrics?: Metrics;
  /** The calls' deadlines on one shared timer; absent: a timer per call (unit tests). */
  readonly deadlines?: DeadlineQueue;
  /** The response cache for tools with `cacheTtlSeconds`; absent: nothing is cached. */
  readonly cache?: ToolCache;
}

/** Per-call facts from the door. */
export interface CallContext {
  readonly requestId: string;
  readonly principal: Principal;
  /** Already bound to the request id. */
  readonly log: Logger;
  /** Aborts when the caller goes away. */
  readonly signal?: AbortSignal;
  /** Which door (`mcp` or `rest`), for the audit line. */
  readonly door: "mcp" | "rest";
  /**
   * The caller's W3C `traceparent`, passed on to the upstream when tracing is
   * off (with it on, the upstream gets our own span's, in the caller's trace).
   */
  readonly traceparent?: string;
}

/**
 * The call context a door builds from its request (both doors, one shape).
 * `signal` and `traceparent` are read from the request only when used: each
 * costs a native call on a served request, and most calls need neither.
 */
export function callContextOf(
  req: Request,
  ctx: { readonly requestId: string; readonly principal?: Principal; readonly log: Logger },
  door: "mcp" | "rest",
  traceparent?: string,
): CallContext {
  return new RequestCallContext(req, ctx.requestId, ctx.principal!, ctx.log, door, traceparent);
}

// Classes with prototype getters, not object literals with `get`: V8 builds
// a literal with accessors slowly (measured: +10 µs of CPU per call).
class RequestCallContext implements CallContext {
  constructor(
    private readonly req: Request,
    readonly requestId: string,
    readonly principal: Principal,
    readonly log: Logger,
    readonly door: "mcp" | "rest",
    // A 2026-07-28 request's `_meta.traceparent`, which names the caller's
    // span more precisely than the HTTP header (a gateway may have set that).
    private readonly metaTraceparent: string | undefined,
  ) {}
  get signal(): AbortSignal {
    return this.req.signal;
  }
  get traceparent(): string | undefined {
    return this.metaTraceparent ?? this.req.headers.get("traceparent") ?? undefined;
  }
}

/** What a handler gets; `sql` and `api` are bound on first use (most tools touch one, or neither). */
class LazyToolContext implements ToolContext {
  readonly requestId: string;
  readonly principal: Principal;
  #sql: SqlClient | undefined;
  #api: ApiClient | undefined;
  constructor(
    private readonly deps: InvokeDeps,
    private readonly tool: Tool,
    private readonly call: CallContext,
    readonly log: Logger,
    readonly signal: AbortSignal,
    private readonly deadlineAt: number,
    private readonly db: DbTally | undefined,
  ) {
    this.requestId = call.requestId;
    this.principal = call.principal;
  }
  get sql(): SqlClient {
    const db = this.db;
    return this.#sql ??= bindSqlClient(this.tool.sources?.sql ?? this.deps.sql, {
      signal: this.signal,
      name: this.tool.name,
      deadlineAt: this.deadlineAt,
      observe: this.deps.metrics?.dbQuery,
      identity: this.principal.claims,
      scopes: this.principal.scopes,
      onResult: db &&
        ((rows, truncated) => {
          db.queries++;
          db.rows += rows;
          db.truncated ??= truncated?.reason;
        }),
    });
  }
  get api(): ApiClient {
    const upstream = this.tool.sources?.api ?? this.deps.upstream;
    return this.#api ??= upstream
      ? bindApiClient(upstream, {
        signal: this.signal,
        deadlineAt: this.deadlineAt,
        requestId: this.call.requestId,
        traceparent: this.call.traceparent,
        log: this.log,
        caller: this.principal.id,
      })
      : NO_UPSTREAM;
  }
}

/** When a call starts watching for its caller going away (see `run`). */
const CALLER_WATCH_MS = 100;

/** Without a shared queue: a native timer per call, as simple as it gets. */
const TIMER_PER_CALL: DeadlineQueue = {
  add: (timeoutMs, onExpire) =>
    ({ at: performance.now() + timeoutMs, id: setTimeout(onExpire, timeoutMs) }) as Deadline,
  cancel: (deadline) => clearTimeout((deadline as Deadline & { id: number }).id),
  close: () => {},
};

/** A deadline, told apart from other aborts. */
class DeadlineExceeded extends Error {
  constructor() {
    super("Tool deadline exceeded");
    this.name = "DeadlineExceeded";
  }
}

/** Runs `tool` on `rawInput` through the whole pipeline; never throws. */
export function invokeTool(
  deps: InvokeDeps,
  tool: Tool,
  rawInput: unknown,
  call: CallContext,
): Promise<InvokeResult> {
  // Without tracing, no span attributes are built (one object fewer per call).
  if (!tracingEnabled) return invokeIn(undefined, deps, tool, rawInput, call);
  return withToolSpan(tool.name, {
    "tool.name": tool.name,
    "tool.door": call.door,
    "tool.principal_id": call.principal.id,
    "tool.request_id": call.requestId,
    ...(call.principal.user === undefined ? {} : { "enduser.id": call.principal.user }),
  }, (span) => invokeIn(span, deps, tool, rawInput, call));
}

/** What a traced call's queries returned, for its span. */
interface DbTally {
  queries: number;
  rows: number;
  truncated: Truncation["reason"] | undefined;
}

async function invokeIn(
  span: ToolSpan | undefined,
  deps: InvokeDeps,
  tool: Tool,
  rawInput: unknown,
  call: CallContext,
): Promise<InvokeResult> {
  const started = performance.now();
  // The end user (a token's user claim) rides on every line of the call: the
  // audit line, warnings and fault logs alike. Never a metric label.
  const user = call.principal.user;
  const who = user === undefined
    ? { tool_name: tool.name, principal: call.principal.id }
    : { tool_name: tool.name, principal: call.principal.id, user };
  const log = call.log.with(span ? { ...who, trace_id: span.traceId } : who);
  const db: DbTally | undefined = span ? { queries: 0, rows: 0, truncated: undefined } : undefined;
  const cached: CacheState | undefined = tool.cacheTtlSeconds !== undefined && deps.cache
    ? { cache: deps.cache, result: "miss" }
    : undefined;
  let result: InvokeResult;
  try {
    const value = await run(deps, tool, rawInput, call, log, db, cached);
    result = cached ? { ok: true, value, cache: cached.result } : { ok: true, value };
  } catch (error) {
    result = { ok: false, error: error instanceof ToolError ? error : internalError(error) };
  }
  const seconds = (performance.now() - started) / 1000;
  deps.metrics?.toolCall(
    tool.name,
    callStatus(result.ok ? "success" : result.error.status),
    seconds,
  );
  if (span && db) traceOutcome(span, result, db);
  if (tool.deprecated) {
    deps.metrics?.deprecatedCall(tool.name);
    log.warn("deprecated tool called", {
      sunset: tool.deprecated.sunset,
      successor: tool.deprecated.successor,
    });
  }
  audit(log, call.door, result, Math.round(seconds * 1_000_000) / 1000);
  return result;
}

/** A cacheable call's cache, and whether its result came from it. */
interface CacheState {
  readonly cache: ToolCache;
  result: "hit" | "miss";
}

function traceOutcome(span: ToolSpan, result: InvokeResult, db: DbTally): void {
  span.set({
    "tool.status": result.ok ? "success" : result.error.status,
    ...(result.ok && result.cache ? { "tool.cache": result.cache } : {}),
    ...(result.ok ? {} : { "tool.http_status": result.error.httpStatus }),
    ...(db.queries > 0 ? { "tool.db.queries": db.queries, "tool.db.rows": db.rows } : {}),
    ...(db.truncated ? { "tool.db.truncated": db.truncated } : {}),
  });
  if (!result.ok && isFault(result.error)) span.fail(result.error.message);
}

async function run(
  deps: InvokeDeps,
  tool: Tool,
  rawInput: unknown,
  call: CallContext,
  log: Logger,
  db: DbTally | undefined,
  cached: CacheState | undefined,
): Promise<unknown> {
  const parsed = tool.input.safeParse(rawInput ?? {});
  if (!parsed.success) {
    throw new ToolError("invalid_input", "Invalid input", { details: fieldProblems(parsed.error) });
  }

  const controller = new AbortController();
  // Rejected by `abort` itself rather than by a listener on the signal: the
  // two ways a call is aborted are both here, and a listener costs ~1 KB of
  // garbage per call.
  let rejectAborted!: (reason: unknown) => void;
  const aborted = new Promise<never>((_, reject) => rejectAborted = reject);
  const abort = (reason: unknown) => {
    controller.abort(reason);
    rejectAborted(reason);
  };
  const timeoutMs = (tool.timeoutSeconds ?? deps.defaultTimeoutSeconds) * 1000;
  // Cancelled when the call ends: AbortSignal.timeout() would leave one
  // pending timer per call alive until it fires.
  const deadlines = deps.deadlines ?? TIMER_PER_CALL;
  const deadline = deadlines.add(timeoutMs, () => abort(new DeadlineExceeded()));
  // The caller going away is watched from CALLER_WATCH_MS on: most calls are
  // over by then, and touching a served request's signal costs a native op
  // and a listener per call. A disconnect before then is seen at that moment.
  let callerSignal: AbortSignal | undefined;
  const onCallerGone = () => abort(callerSignal?.reason);
  const watch = deadlines.add(CALLER_WATCH_MS, () => {
    callerSignal = call.signal;
    if (callerSignal?.aborted) onCallerGone();
    else callerSignal?.addEventListener("abort", onCallerGone, { once: true });
  });
  const ctx = new LazyToolContext(
    deps,
    tool,
    call,
    log,
    controller.signal,
    performance.now() + timeoutMs,
    db,
  );
  try {
    let key: string | undefined;
    if (cached) {
      // Under the deadline too; a store that fails is a call that runs uncached.
      const found = await Promise.race([
        cached.cache.lookup(tool, parsed.data, call.principal),
        aborted,
      ]);
      if (found.result === "hit") {
        cached.result = "hit";
        return found.value;
      }
      if (found.result === "miss") key = found.key;
    }
    // The handler gets the signal to cancel its own work; the race makes sure
    // the caller is answered at the deadline even if a handler ignores it.
    const value = await Promise.race([tool.handler(parsed.data, ctx), aborted]);
    if (tool.output) {
      const checked = tool.output.safeParse(value);
      if (!checked.success) {
        throw new Error(`Tool "${tool.name}" returned output that does not match its schema`, {
          cause: checked.error,
        });
      }
    }
    if (key !== undefined) {
      // The result is ready: a deadline now only stops the wait for the store.
      await Promise.race([cached!.cache.store(tool, key, value), aborted.catch(() => {})]);
    }
    return value;
  } catch (error) {
    if (controller.signal.aborted && controller.signal.reason instanceof DeadlineExceeded) {
      throw new ToolError("retry", `Tool did not finish within ${timeoutMs / 1000} s`, {
        httpStatus: 504,
        cause: error,
      });
    }
    if (call.signal?.aborted) {
      // Nobody is left to answer; not a server fault. 499 as nginx logs it.
      throw new ToolError("retry", "Client closed the request", { httpStatus: 499, cause: error });
    }
    throw error;
  } finally {
    deadlines.cancel(deadline);
    deadlines.cancel(watch);
    callerSignal?.removeEventListener("abort", onCallerGone);
  }
}

/** Turns zod issues into one problem per field, in words safe to show. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return {
        field: issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(", "),
        message: "Unknown field",
      };
    }
    return { field: path || "(input)", message: issue.message };
  });
}

function audit(log: Logger, door: "mcp" | "rest", result: InvokeResult, latencyMs: number): void {
  const status: ErrorStatus | "success" = result.ok ? "success" : result.error.status;
  if (result.ok) {
    log.info(
      "tool call",
      result.cache
        ? { door, status, latency_ms: latencyMs, cache: result.cache }
        : { door, status, latency_ms: latencyMs },
    );
    return;
  }
  const error = result.error;
  if (isFault(error)) {
    // The full detail goes to the log, with the request id; never to the caller.
    log.error("tool call failed", {
      door,
      status,
      http_status: error.httpStatus,
      latency_ms: latencyMs,
      error: error.message,
      cause: describeCause(error.cause),
    });
  } else {
    log.info("tool call", { door, status, http_status: error.httpStatus, latency_ms: latencyMs });
  }
}

/** A failure logged at error level and marked failed on the span: a fault, or a 5xx. */
function isFault(error: ToolError): boolean {
  return error.status === "error" || error.httpStatus >= 500;
}

function describeCause(cause: unknown): unknown {
  if (cause instanceof Error) {
    return {
      name: cause.name,
      message: cause.message,
      stack: cause.stack,
      cause: cause.cause === undefined ? undefined : describeCause(cause.cause),
    };
  }
  return cause === undefined ? undefined : String(cause);
}
