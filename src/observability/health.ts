/**
 * Health endpoints for load balancers and orchestrators. No auth, no secrets,
 * no internal error text.
 *
 * @module
 */
import type { Handler } from "../http/context.ts";
import { jsonResponse } from "../http/responses.ts";
import { getHeapStatistics } from "node:v8";
import type { Logger } from "./logger.ts";
import { CHECK_TIMEOUT_MS, type WatchedSource } from "./source_health.ts";

/** One source in `/health`. */
export interface SourceReport {
  readonly name: string;
  readonly origin: "server" | "tools_file";
  readonly type: "database" | "api";
  readonly status: "connected" | "responding" | "failed";
  /** Whether readiness fails while it is down (see source_health.ts). */
  readonly required: boolean;
}

/** What `/health` reports. */
export interface HealthReport {
  /** `degraded`: a source no served tool depends on (or an optional one) is down; still ready. */
  readonly status: "healthy" | "degraded" | "unhealthy";
  /** The server's own database (also under `sources`). */
  readonly database: "connected" | "failed";
  /** The server's own upstream (also under `sources`). */
  readonly upstream_api: "responding" | "failed" | "not_configured";
  /** Every source, the server's and the tools file's. */
  readonly sources: readonly SourceReport[];
  readonly memory_usage_percent: number;
  readonly timestamp: string;
}

/** Heap above this share of V8's limit makes the process unhealthy. */
const MEMORY_LIMIT_PERCENT = 80;

/**
 * Builds `/health` (dependencies checked), `/health/ready` (the same verdict,
 * for orchestrators' readiness probes) and `/health/live` (the process
 * answers). Checks run concurrently; their result is shared by concurrent
 * requests and kept for `cacheMs`, so a flood of probes costs the database
 * one `SELECT 1` per interval.
 */
export function healthHandlers(options: {
  /** The sources to check, read at each check (a tools-file reload changes them). */
  readonly sources: () => readonly WatchedSource[];
  readonly log: Logger;
  readonly cacheMs?: number;
}): { health: Handler; ready: Handler; live: Handler } {
  const cacheMs = options.cacheMs ?? 1000;
  let last: { at: number; report: Promise<HealthReport> } | undefined;

  async function check(): Promise<HealthReport> {
    const sources = await Promise.all(
      options.sources().map(async (source) => {
        let ok = false;
        let error: string | undefined;
        try {
          ok = await source.check(AbortSignal.timeout(CHECK_TIMEOUT_MS));
        } catch (e) {
          error = String(e);
        }
        if (!ok) options.log.warn("health check: source failed", { source: source.name, error });
        const report: SourceReport = {
          name: source.name,
          origin: source.origin,
          type: source.type,
          status: ok ? (source.type === "database" ? "connected" : "responding") : "failed",
          required: source.required,
        };
        return report;
      }),
    );
    const own = (name: string) =>
      sources.find((s) => s.origin === "server" && s.name === name)?.status;
    const heap = getHeapStatistics();
    const memory = Math.round((heap.used_heap_size / heap.heap_size_limit) * 1000) / 10;
    const down = sources.filter((s) => s.status === "failed");
    const status = memory > MEMORY_LIMIT_PERCENT || down.some((s) => s.required)
      ? "unhealthy"
      : down.length > 0
      ? "degraded"
      : "healthy";
    return {
      status,
      database: own("database") === "failed" ? "failed" : "connected",
      upstream_api: (own("upstream_api") ?? "not_configured") as HealthReport["upstream_api"],
      sources,
      memory_usage_percent: memory,
      timestamp: new Date().toISOString(),
    };
  }

  function report(): Promise<HealthReport> {
    const now = performance.now();
    if (!last || now - last.at >= cacheMs) last = { at: now, report: check() };
    return last.report;
  }

  return {
    live: () => Promise.resolve(jsonResponse({ status: "alive" })),
    async health() {
      const r = await report();
      return jsonResponse(r, r.status === "unhealthy" ? 503 : 200);
    },
    async ready() {
      const r = await report();
      return r.status !== "unhealthy"
        ? jsonResponse({ status: "ready" })
        : jsonResponse({ status: "not_ready" }, 503);
    },
  };
}
