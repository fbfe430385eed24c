/**
 * What the primary isolate and its HTTP workers (`WORKERS` > 1) say to each
 * other, and how their metrics become one exposition.
 *
 * @module
 */
import type * as PromClient from "prom-client";

/** Everything a worker needs to build the same app as the primary. */
export interface WorkerInit {
  /** 1..WORKERS-1 (the primary is 0); every log line of the worker carries it as `isolate`. */
  readonly index: number;
  /** The configuration's environment: `*_FILE` secrets resolved, a generated dev key added. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where a tools file's `${NAME}` references are looked up: the process environment as is, as the primary does. */
  readonly toolsEnv: Readonly<Record<string, string | undefined>>;
  readonly rateLimitTable: SharedArrayBuffer;
  readonly authFailureTable: SharedArrayBuffer;
  /** Certificate and key read by the primary (the worker needs no file access for them). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** A registry's metrics as prom-client's `getMetricsAsJSON()` gives them. */
export type MetricsJson = unknown[];

/** Primary → worker. */
export type ToWorker =
  | { readonly type: "init"; readonly init: WorkerInit }
  | { readonly type: "metrics"; readonly id: number }
  | { readonly type: "gathered"; readonly id: number; readonly metrics: MetricsJson[] }
  | { readonly type: "reload" }
  | { readonly type: "shutdown"; readonly graceMs: number };

/** Worker → primary. */
export type FromWorker =
  | { readonly type: "listening" }
  | { readonly type: "failed"; readonly error: string }
  | { readonly type: "log"; readonly text: string }
  | { readonly type: "metrics"; readonly id: number; readonly metrics: MetricsJson }
  | { readonly type: "gather"; readonly id: number }
  | { readonly type: "stopped" };

/**
 * One Prometheus exposition from every isolate's registry: prom-client's own
 * cluster aggregation (counters and histograms summed; each metric's
 * `aggregator` decides otherwise).
 */
export async function aggregateMetrics(all: readonly MetricsJson[]): Promise<string> {
  // Loaded at the first scrape: nothing needs the cluster module before.
  const Aggregator = (await import("prom-client/lib/cluster.js"))
    .default as typeof PromClient.AggregatorRegistry;
  return await Aggregator.aggregate(all as Parameters<typeof Aggregator.aggregate>[0]).metrics();
}
