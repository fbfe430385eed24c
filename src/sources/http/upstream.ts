/**
 * The client for one upstream REST API (`API_BASE_URL`). Policies come from
 * cockatiel, composed per call as
 *
 *     circuit breaker → retry (jittered backoff, Retry-After) → concurrency cap → per-attempt timeout → fetch
 *
 * so an open circuit answers before anything queues, a call waiting out a
 * backoff holds no connection slot, and the per-attempt timeout starts when
 * the request is sent rather than when it joined the queue. Everything stops
 * at the call's deadline (its signal). The breaker keeps each caller's
 * failures apart (see `circuit.ts`): one caller's failing inputs open its own
 * circuit, not everyone's.
 *
 * GET is retried; POST (offered for search-style read APIs) is sent once,
 * since it is not idempotent.
 *
 * @module
 */
import { bulkhead, handleWhen, retry, timeout, TimeoutStrategy } from "cockatiel";
import type { Logger } from "../../observability/logger.ts";
import { bindActiveContext, tracingEnabled } from "../../observability/tracing.ts";
import { JitterBackoff, parseRetryAfter } from "./backoff.ts";
import { CircuitOpenError, type CircuitStateName, createCircuit } from "./circuit.ts";
import { readCapped } from "../../streams/read_capped.ts";
import { type ApiPath, isApiPath, resolveUnder } from "./path.ts";

/** Why an upstream call failed. */
export type UpstreamFailure =
  /** 404: the thing asked for does not exist. */
  | "not_found"
  /** Another 4xx (or a redirect): the upstream refused what we sent. */
  | "rejected"
  /** 429, still after retries or asking for longer than the deadline leaves. */
  | "rate_limited"
  /** 5xx, still after retries. */
  | "unavailable"
  /** Refused, reset or otherwise broken connection, still after retries. */
  | "network"
  /** No answer within the per-attempt timeout, still after retries. */
  | "timeout"
  /** Not JSON, or larger than the response cap. */
  | "bad_response"
  /** The circuit is open: nothing was sent. */
  | "circuit_open";

/** A failed upstream call; `message` is for logs, not callers. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    readonly details: {
      /** The upstream's HTTP status, when it answered. */
      readonly status?: number;
      /** How long the upstream asked us to wait (`Retry-After`), in ms. */
      readonly retryAfterMs?: number;
      /** Whether another attempt may succeed (used by the retry policy). */
      readonly retryable?: boolean;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "UpstreamError";
  }

  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }
}

/** What one call brings: its deadline, and ids to pass on. */
export interface UpstreamCall {
  /** Aborts at the tool's deadline or when the caller goes away. */
  readonly signal: AbortSignal;
  /** `performance.now()` time the call must finish by. */
  readonly deadlineAt: number;
  /** Sent as `X-Request-ID`, so upstream logs join ours. */
  readonly requestId: string;
  /**
   * The caller's W3C `traceparent`, passed on when well-formed and tracing is
   * off. With tracing on, Deno's `fetch` sends its own span's instead.
   */
  readonly traceparent?: string;
  /** The call's logger (bound to its request id), for retries. */
  readonly log?: Logger;
  /**
   * Who the call is for (the principal's id). The circuit breaker counts each
   * caller's failures apart; calls without one count as one caller.
   */
  readonly caller?: string;
}

export type { CircuitStateName } from "./circuit.ts";

/** Settings of {@linkcode createUpstream}; config supplies them. */
export interface UpstreamOptions {
  /** Names the upstream in logs and metrics. */
  readonly name: string;
  readonly baseUrl: string;
  readonly attemptTimeoutMs: number;
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  readonly backoff: {
    readonly initialMs: number;
    readonly factor: number;
    readonly maxMs: number;
    readonly random?: () => number;
  };
  /** Requests in flight at once; more wait in line until their deadline. */
  readonly maxConnections: number;
  /** Consecutive failed calls that open the circuit (a caller's own, or everyone's). */
  readonly circuitFailures: number;
  /**
   * Different callers whose failures it takes to open the circuit for
   * everyone (1: any caller's; see `circuit.ts`).
   */
  readonly circuitMinCallers: number;
  /** How long the circuit stays open before one probe may try. */
  readonly circuitCooldownMs: number;
  /** Largest response body accepted, in bytes. */
  readonly maxResponseBytes: number;
  /** Header and value that authenticate us to the upstream; never logged. */
  readonly auth?: { readonly header: string; readonly value: string };
  /** More headers sent with every request (from a tools file's source); never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Told of every attempt's outcome and every circuit change (metrics). */
  readonly observe?: {
    attempt(upstream: string, outcome: string, seconds: number): void;
    circuit(upstream: string, state: CircuitStateName): void;
  };
}

/** One request as the attempts send it. */
interface Outgoing {
  readonly url: URL;
  readonly method: "GET" | "POST";
  /** JSON text, for POST. */
  readonly body: string | undefined;
}

/** An answer the caller handles: a JSON body, or a 4xx the upstream meant. */
export interface UpstreamResponse {
  readonly status: number;
  readonly body: unknown;
}

/** One configured upstream. */
export interface Upstream {
  readonly name: string;
  readonly baseUrl: URL;
  /**
   * GETs `path` (built with `apiPath`) and parses the JSON body. Throws
   * {@linkcode UpstreamError} for every failure, including 404.
   */
  getJson(
    path: ApiPath,
    call: UpstreamCall,
    query?: Readonly<Record<string, string | number | undefined>>,
  ): Promise<unknown>;
  /**
   * POSTs `body` as JSON (for search-style read APIs). Sent once: POST is not
   * idempotent, so it is never retried.
   */
  postJson(
    path: ApiPath,
    body: unknown,
    call: UpstreamCall,
    query?: Readonly<Record<string, string | number | undefined>>,
  ): Promise<unknown>;
  readonly circuitState: CircuitStateName;
  /** Milliseconds until an open circuit lets a probe through (0 when not open). */
  readonly circuitRetryInMs: number;
  /** Closes pooled connections. */
  close(): void;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** Statuses worth another try for an idempotent request. */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
/**
 * Failures that say the upstream is unwell. A 4xx or a 429 says it is
 * answering, and so does a 2xx with a bad body: how large it is, or whether
 * it is JSON, depends on what was asked.
 */
const CIRCUIT_FAILURES: ReadonlySet<UpstreamFailure> = new Set([
  "unavailable",
  "network",
  "timeout",
]);

/** Builds the client for one upstream. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const baseUrl = new URL(options.baseUrl);
  const { log, observe, name } = options;
  // Keep-alive pool; idle sockets are dropped before a typical load
  // balancer's 60 s idle cut, so we rarely send on a socket it just closed.
  const client = Deno.createHttpClient({
    poolMaxIdlePerHost: options.maxConnections,
    poolIdleTimeout: 30_000,
  });
  const circuit = createCircuit({
    name,
    failures: options.circuitFailures,
    cooldownMs: options.circuitCooldownMs,
    minCallers: options.circuitMinCallers,
    counts: (e) => e instanceof UpstreamError && CIRCUIT_FAILURES.has(e.kind),
    log,
    onStateChange: (state) => observe?.circuit(name, state),
  });
  const slots = bulkhead(options.maxConnections, Number.POSITIVE_INFINITY);
  // Cooperative: the attempt's signal aborts fetch and the body read. Not
  // aborting it again on return saves a DOMException per call; the body is
  // fully read or cancelled by then.
  const attemptTimeout = timeout(options.attemptTimeoutMs, {
    strategy: TimeoutStrategy.Cooperative,
    abortOnReturn: false,
  });
  const baseHeaders = new Headers({ accept: "application/json" });
  for (const [header, value] of Object.entries(options.headers ?? {})) {
    baseHeaders.set(header, value);
  }
  if (options.auth) baseHeaders.set(options.auth.header, options.auth.value);

  async function attempt(
    out: Outgoing,
    call: UpstreamCall,
    attemptNo: number,
  ): Promise<UpstreamResponse> {
    // Bound to this call's trace: a queued attempt is started by another
    // call's release, and would otherwise run (and fetch) in its span.
    const queued = slots.execute(
      bindActiveContext(() =>
        attemptTimeout.execute(({ signal }) => send(out, call, signal, attemptNo), call.signal)
      ),
      call.signal,
    );
    // cockatiel's queue does not drop a waiter whose signal aborts, so the
    // deadline is raced here; the waiter is skipped when its turn comes.
    return await raceAbort(queued, call.signal);
  }

  async function send(
    out: Outgoing,
    call: UpstreamCall,
    signal: AbortSignal,
    attemptNo: number,
  ): Promise<UpstreamResponse> {
    const started = performance.now();
    const outcome = (label: string) =>
      observe?.attempt(name, label, (performance.now() - started) / 1000);
    const headers = new Headers(baseHeaders);
    headers.set("x-request-id", call.requestId);
    // With tracing on, Deno's fetch instrumentation adds the traceparent of
    // its client span (a child of the tool's); one set here would be sent
    // too, as a second, comma-joined value.
    if (!tracingEnabled && call.traceparent && TRACEPARENT.test(call.traceparent)) {
      headers.set("traceparent", call.traceparent);
    }
    let response: Response;
    try {
      // No redirects: one could lead the request, and our auth header, to another host.
      if (out.body !== undefined) headers.set("content-type", "application/json");
      response = await fetch(out.url, {
        method: out.method,
        body: out.body,
        headers,
        signal,
        redirect: "manual",
        client,
      });
    } catch (error) {
      const failure = transportFailure(error, call, signal, "connect");
      outcome(failure.kind);
      throw retrying(failure, call, attemptNo);
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      try {
        const body = await readJson(response, options.maxResponseBytes, call, signal);
        outcome("success");
        return { status, body };
      } catch (error) {
        const failure = error instanceof UpstreamError
          ? error
          : transportFailure(error, call, signal, "read");
        outcome(failure.kind);
        throw retrying(failure, call, attemptNo);
      }
    }
    await response.body?.cancel().catch(() => {});
    outcome(String(status));
    if (!RETRY_STATUSES.has(status)) return { status, body: undefined };
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    const kind = status === 429 ? "rate_limited" : "unavailable";
    const waitTooLong = retryAfterMs !== undefined &&
      retryAfterMs > call.deadlineAt - performance.now();
    // Waiting past the deadline helps nobody: answer now, passing the wait on.
    const failure = new UpstreamError(kind, `Upstream answered ${status}`, {
      status,
      retryAfterMs,
      retryable: !waitTooLong,
    });
    throw retrying(failure, call, attemptNo);
  }

  function retrying(failure: UpstreamError, call: UpstreamCall, attemptNo: number): UpstreamError {
    if (failure.details.retryable && attemptNo < options.maxRetries) {
      call.log?.info("upstream attempt failed; retrying", {
        upstream: name,
        attempt: attemptNo + 1,
        failure: failure.kind,
        upstream_status: failure.details.status,
      });
    }
    return failure;
  }

  return {
    name,
    baseUrl,
    getJson(path, call, query) {
      return request("GET", path, call, query, undefined);
    },
    postJson(path, body, call, query) {
      return request("POST", path, call, query, JSON.stringify(body));
    },
    get circuitState() {
      return circuit.state;
    },
    get circuitRetryInMs() {
      return circuit.retryInMs;
    },
    close() {
      client.close();
    },
  };

  async function request(
    method: "GET" | "POST",
    path: ApiPath,
    call: UpstreamCall,
    query: Readonly<Record<string, string | number | undefined>> | undefined,
    body: string | undefined,
  ): Promise<unknown> {
    if (!isApiPath(path)) throw new TypeError("Upstream paths must be built with apiPath``");
    const out: Outgoing = { url: resolveUnder(baseUrl, path, query), method, body };
    const retries = retry(
      handleWhen((e) => e instanceof UpstreamError && !!e.details.retryable),
      {
        // POST is not idempotent: the upstream may have acted on an attempt
        // we saw fail, so it is sent once.
        maxAttempts: method === "GET" ? options.maxRetries : 0,
        backoff: new JitterBackoff({ ...options.backoff, deadlineAt: call.deadlineAt }),
      },
    );
    let answer: UpstreamResponse;
    try {
      answer = await circuit.execute(
        call.caller ?? "",
        () => retries.execute(({ attempt: n }) => attempt(out, call, n), call.signal),
        call.signal,
      );
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        throw new UpstreamError("circuit_open", error.message, {
          retryAfterMs: error.retryAfterMs,
          cause: error,
        });
      }
      if (call.signal.aborted) throw call.signal.reason;
      throw error;
    }
    if (answer.status === 404) {
      throw new UpstreamError("not_found", "Upstream answered 404", { status: 404 });
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new UpstreamError("rejected", `Upstream answered ${answer.status}`, {
        status: answer.status,
      });
    }
    return answer.body;
  }
}

/** A thrown fetch or body-read error, classified. Aborts by the call itself pass through. */
function transportFailure(
  error: unknown,
  call: UpstreamCall,
  attemptSignal: AbortSignal,
  phase: "connect" | "read",
): UpstreamError {
  if (call.signal.aborted) throw call.signal.reason;
  if (attemptSignal.aborted) {
    return new UpstreamError("timeout", `Upstream did not answer in time (${phase})`, {
      retryable: true,
      cause: error,
    });
  }
  return new UpstreamError("network", `Upstream connection failed (${phase})`, {
    retryable: true,
    cause: error,
  });
}

/**
 * Reads at most `maxBytes` of body and parses it as JSON. The cap is on the
 * decoded bytes: `fetch` inflates a gzip or brotli body as it streams, so a
 * `Content-Length` (the compressed size) says nothing about what the read
 * will hold once it declares a `Content-Encoding`.
 */
async function readJson(
  response: Response,
  maxBytes: number,
  call: UpstreamCall,
  signal: AbortSignal,
): Promise<unknown> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  // Refused unread even when encoded: what a compressed body inflates to is
  // larger than the compressed body, bar a few header bytes.
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new UpstreamError("bad_response", `Upstream body of ${declared} bytes exceeds the cap`);
  }
  let bytes: Uint8Array | undefined;
  try {
    // Unencoded with a declared length at most the cap: the HTTP layer stops
    // at that length, so one native read is safe (and much cheaper than
    // pulling chunks here). Anything else is counted as it streams.
    bytes = declared >= 0 && !response.headers.has("content-encoding")
      ? await response.bytes()
      : await readCapped(response.body, maxBytes);
  } catch (error) {
    throw transportFailure(error, call, signal, "read");
  }
  if (bytes === undefined) {
    throw new UpstreamError(
      "bad_response",
      `Upstream body exceeds the cap of ${maxBytes} bytes (decoded)`,
    );
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new UpstreamError("bad_response", "Upstream body is not JSON", { cause: error });
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Its rejection (cockatiel's "Operation cancelled") must not go unhandled.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
