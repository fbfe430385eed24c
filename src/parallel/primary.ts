/**
 * The primary isolate's half of `WORKERS` > 1, for whatever builds and
 * serves the app (`main.ts`, the benchmark's server): the state to share
 * with the workers, log sinks that say which isolate wrote a line, and the
 * start of the workers once the primary listens.
 *
 * @module
 */
import type { App, SharedState } from "../app.ts";
import type { Config } from "../config/env.ts";
import type { Sink, StreamSink } from "../observability/logger.ts";
import { createSharedCounters } from "../ratelimit/shared_counters.ts";
import { aggregateMetrics } from "./messages.ts";
import { startWorkers, type WorkerPool } from "./pool.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** What the primary needs to serve with workers (nothing when `WORKERS` is 1). */
export interface Primary {
  /** For `createApp`'s `shared`. */
  readonly shared: SharedState;
  /** The primary's sinks, each line tagged `isolate: 0`. */
  tag(sinks: readonly Sink[]): Sink[];
  /** The primary's app, as soon as it is built (before it listens: a scrape may come at once). */
  attach(app: App): void;
  /** Starts the workers (after the primary listens); rejects if one cannot start. */
  start(options: {
    sinks: readonly StreamSink[];
    /** The module each worker runs: the caller's own, which takes the worker branch. */
    entry: string;
    tls?: { cert: string; key: string };
  }): Promise<WorkerPool>;
}

/**
 * Undefined for one isolate; else the shared tables and the way to start the
 * others. `env.config` is what the workers parse their configuration from;
 * `env.tools` where their tools file's `${NAME}` references are looked up.
 */
export function parallelPrimary(
  config: Config,
  env: { config: Env; tools: Env },
): Primary | undefined {
  if (config.workers <= 1) return undefined;
  const rateLimitTable = createSharedCounters();
  const authFailureTable = createSharedCounters();
  let app: App | undefined;
  let pool: WorkerPool | undefined;
  return {
    shared: {
      isolate: 0,
      rateLimitTable,
      authFailureTable,
      metricsText: async () =>
        await aggregateMetrics([
          ...(app ? [await app.metrics.registry.getMetricsAsJSON()] : []),
          ...(pool ? await pool.metricsFrom() : []),
        ]),
    },
    tag: (sinks) =>
      sinks.map((sink) =>
        ((record) => sink({ ...record, properties: { ...record.properties, isolate: 0 } })) as Sink
      ),
    attach(built) {
      app = built;
    },
    async start(options) {
      const own = app;
      if (!own) throw new Error("attach(app) before start()");
      pool = await startWorkers({
        count: config.workers - 1,
        entry: options.entry,
        init: {
          env: env.config,
          toolsEnv: env.tools,
          rateLimitTable,
          authFailureTable,
          tls: options.tls,
        },
        onLog: (text) => {
          for (const sink of options.sinks) sink.appendFormatted(text);
        },
        // A scrape a worker answers reports the process metrics too, even
        // before the primary's warm-up loaded them.
        ownMetrics: async () => {
          await own.metrics.loadProcessMetrics();
          return await own.metrics.registry.getMetricsAsJSON();
        },
      });
      return pool;
    },
  };
}

/** Why workers could not start, with the grants they need. */
export function workersStartError(workers: number, error: unknown): string {
  return `Cannot start: WORKERS=${workers}: ${error instanceof Error ? error.message : error}\n` +
    "Each worker loads this program again: from source it needs " +
    "--allow-read=main.ts,src,vendor,node_modules and --unstable-net (deno task start:parallel).";
}
