/**
 * Prometheus metrics with the original design's names, on the app's own
 * registry (never prom-client's global one, so apps in one process, as in
 * tests, never mix their counts).
 *
 * Label values are bounded by construction: tool names come from the
 * registry, endpoints are route templates (`/v1/mcp/{tool}`) or
 * `unmatched`, statuses and key ids are fixed sets.
 *
 * @module
 */
import type * as PromClient from "prom-client";
// The four classes we use, from their own files: the package's index also
// loads cluster aggregation, the push gateway and the process metrics, ~10 ms
// of every start. The process metrics load later (`loadProcessMetrics`).
import CounterClass from "prom-client/lib/counter.js";
import GaugeClass from "prom-client/lib/gauge.js";
import HistogramClass from "prom-client/lib/histogram.js";
import RegistryClass from "prom-client/lib/registry.js";
import { SeriesHistogram, talliedCounter } from "./tallies.ts";

const Counter = CounterClass as typeof PromClient.Counter;
const Gauge = GaugeClass as typeof PromClient.Gauge;
const Histogram = HistogramClass as typeof PromClient.Histogram;
const Registry = RegistryClass as typeof PromClient.Registry;
type Registry = PromClient.Registry;
import type { PoolStats } from "../sources/db/sql_source.ts";
import { SERVER_VERSION } from "../version.ts";
import type { ErrorStatus } from "../tools/errors.ts";

/** The status label of `tool_calls_total`. */
export type CallStatus =
  | "success"
  | "invalid_input"
  | "not_found"
  | "rate_limited"
  | "retry"
  | "error";

/**
 * Maps an outcome to the design's status set (auth failures inside a tool
 * count as errors; a concurrency refusal, answered before any tool runs, as
 * rate limited).
 */
export function callStatus(status: ErrorStatus | "success"): CallStatus {
  if (status === "concurrency_limited" || status === "auth_locked") return "rate_limited";
  return status === "unauthorized" || status === "forbidden" ? "error" : status;
}

/** What the rest of the program records. */
export interface Metrics {
  readonly registry: Registry;
  /**
   * Adds prom-client's process and runtime metrics when they were asked for
   * (once; later calls wait for the first). Loaded after the server starts
   * (warm-up) or at the first scrape, whichever comes first.
   */
  loadProcessMetrics(): Promise<void>;
  toolCall(tool: string, status: CallStatus, seconds: number): void;
  /** A call of a deprecated tool (`tool_deprecated_calls_total`). */
  deprecatedCall(tool: string): void;
  /** A call refused by the rate limit before it ran (counted, not timed). */
  toolRateLimited(tool: string): void;
  /**
   * A response cache lookup of a cacheable tool (`tool_cache_requests_total`):
   * `error` is a store failure (the call ran uncached, or its result was not stored).
   */
  cacheRequest(tool: string, result: "hit" | "miss" | "error"): void;
  httpRequest(endpoint: string, statusCode: number): void;
  dbQuery(queryName: string, seconds: number): void;
  rateLimitHit(clientId: string): void;
  /** A request refused by the per-key concurrency limit (`MAX_CONCURRENT_CALLS_PER_KEY`). */
  concurrencyLimitHit(clientId: string): void;
  /**
   * A request refused by the per-address auth-failure lockout
   * (`auth_lockout_hits_total`; no address label: addresses are unbounded).
   */
  authLockoutHit(): void;
  /**
   * One attempt at an upstream request: `outcome` is `success`, the HTTP
   * status it answered, or `timeout` / `network` / `bad_response`. Anything
   * but success also counts in `api_errors_total`.
   */
  upstreamAttempt(upstream: string, outcome: string, seconds: number): void;
  /** The upstream's circuit entered `state`. */
  upstreamCircuit(upstream: string, state: "closed" | "open" | "half_open"): void;
  /**
   * Where `db_pool_connections{state}` and `db_pool_waiting` read the
   * database pool, at each scrape (the last call wins; undefined: no pool).
   */
  observeDbPool(read: () => PoolStats | undefined): void;
}

const CIRCUIT_STATES = ["closed", "open", "half_open"] as const;

/** Buckets from 1 ms to 30 s: tool calls span a cache hit to a slow upstream. */
const DURATION_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Builds the metrics; `processMetrics` adds prom-client's process and runtime defaults. */
export function createMetrics(options: { processMetrics: boolean }): Metrics {
  const registry = new Registry();
  let processMetrics: Promise<void> | undefined;
  const loadProcessMetrics = () =>
    processMetrics ??= options.processMetrics
      ? import("prom-client/lib/defaultMetrics.js").then((m) => {
        (m.default as typeof PromClient.collectDefaultMetrics)({ register: registry });
        // prom-client reads RSS from /proc/self/status, which the compiled
        // program may not read (it then reports nothing); Deno's own figure
        // needs no permission.
        registry.removeSingleMetric("process_resident_memory_bytes");
        new Gauge({
          name: "process_resident_memory_bytes",
          help: "Resident memory size in bytes.",
          registers: [registry],
          collect() {
            this.set(Deno.memoryUsage().rss);
          },
        });
      })
      : Promise.resolve();
  const registers = [registry];
  // Which build is running, as labels on a constant 1 (joined onto other series in queries).
  new Gauge({
    name: "build_info",
    help: "The running build: server version and Deno version (value 1 per isolate).",
    labelNames: ["version", "deno_version"],
    registers,
  }).set({ version: SERVER_VERSION, deno_version: Deno.version.deno }, 1);
  // What every call moves is tallied (see tallies.ts); the rest is plain prom-client.
  const toolCalls = talliedCounter<string, CallStatus>({
    name: "tool_calls_total",
    help: "Tool calls by tool and outcome, both doors.",
    labelNames: ["tool_name", "status"],
    registers,
  });
  const toolDuration = new SeriesHistogram({
    name: "tool_duration_seconds",
    help: "Tool call duration, validation to result.",
    labelName: "tool_name",
    buckets: DURATION_BUCKETS,
    registers,
  });
  const deprecatedCalls = new Counter({
    name: "tool_deprecated_calls_total",
    help: "Calls of deprecated tools, by tool: who still needs to move to the successor.",
    labelNames: ["tool_name"],
    registers,
  });
  const cacheRequests = talliedCounter<string, "hit" | "miss" | "error">({
    name: "tool_cache_requests_total",
    help: "Response cache lookups of cacheable tools by result: hit, miss, error (store failed).",
    labelNames: ["tool_name", "result"],
    registers,
  });
  const httpRequests = talliedCounter<string, number>({
    name: "http_requests_total",
    help: "HTTP requests by route template and status code.",
    labelNames: ["endpoint", "status_code"],
    registers,
  });
  const dbDuration = new SeriesHistogram({
    name: "db_query_duration_seconds",
    help: "Database query duration by query name.",
    labelName: "query_name",
    buckets: DURATION_BUCKETS,
    registers,
  });
  const rateLimitHits = new Counter({
    name: "rate_limit_hits_total",
    help: "Requests refused by the rate limit, by API key id.",
    labelNames: ["client_id"],
    registers,
  });
  const concurrencyLimitHits = new Counter({
    name: "concurrency_limit_hits_total",
    help: "Requests refused by the per-key concurrency limit, by API key id.",
    labelNames: ["client_id"],
    registers,
  });
  const authLockoutHits = new Counter({
    name: "auth_lockout_hits_total",
    help:
      "Requests refused because their client address spent its failed authentication attempts (not a key's rate limit).",
    registers,
  });
  const apiErrors = new Counter({
    name: "api_errors_total",
    help: "Upstream API errors by source and status code.",
    labelNames: ["source", "status_code"],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: "upstream_request_duration_seconds",
    help: "Upstream API request duration per attempt, by upstream.",
    labelNames: ["upstream"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const circuitState = new Gauge({
    name: "upstream_circuit_state",
    help: "Upstream circuit breaker state: 1 on the current state (closed, open, half_open).",
    // With several isolates (WORKERS > 1) each has its own breaker: a state
    // reads 1 when any isolate is in it, as the alerts expect.
    aggregator: "max",
    labelNames: ["upstream", "state"],
    registers,
  });
  let readPool: () => PoolStats | undefined = () => undefined;
  new Gauge({
    name: "db_pool_connections",
    help: "Database pool connections by state: in_use (lent to a query) or idle (open, unused).",
    labelNames: ["state"],
    registers,
    collect() {
      const stats = readPool();
      if (stats === undefined) return;
      this.set({ state: "in_use" }, stats.inUse);
      this.set({ state: "idle" }, stats.idle);
    },
  });
  new Gauge({
    name: "db_pool_waiting",
    help: "Callers waiting for a database pool connection.",
    registers,
    collect() {
      this.set(readPool()?.waiting ?? 0);
    },
  });
  return {
    registry,
    loadProcessMetrics,
    toolCall(tool, status, seconds) {
      toolCalls.tally(tool, status).pending++;
      toolDuration.series(tool).observe(seconds);
    },
    deprecatedCall: (tool) => deprecatedCalls.inc({ tool_name: tool }),
    toolRateLimited(tool) {
      toolCalls.tally(tool, "rate_limited").pending++;
    },
    cacheRequest(tool, result) {
      cacheRequests.tally(tool, result).pending++;
    },
    httpRequest(endpoint, statusCode) {
      httpRequests.tally(endpoint, statusCode).pending++;
    },
    dbQuery(queryName, seconds) {
      dbDuration.series(queryName).observe(seconds);
    },
    rateLimitHit: (clientId) => rateLimitHits.inc({ client_id: clientId }),
    concurrencyLimitHit: (clientId) => concurrencyLimitHits.inc({ client_id: clientId }),
    authLockoutHit: () => authLockoutHits.inc(),
    upstreamAttempt(upstream, outcome, seconds) {
      upstreamDuration.observe({ upstream }, seconds);
      if (outcome !== "success") apiErrors.inc({ source: upstream, status_code: outcome });
    },
    upstreamCircuit(upstream, state) {
      for (const s of CIRCUIT_STATES) circuitState.set({ upstream, state: s }, s === state ? 1 : 0);
    },
    observeDbPool(read) {
      readPool = read;
    },
  };
}
