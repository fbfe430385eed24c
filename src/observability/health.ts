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
import type { SqlSource } from "../sources/db/sql_source.ts";

const CHECK_TIMEOUT_MS = 5000;

/**
 * A light request to the upstream API: any answer below 500 means it is
 * there (a 401 or 404 on its root still proves it responds).
 */
async function upstreamResponds(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(baseUrl, {
      method: "HEAD",
      redirect: "manual",
      signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.status < 500;
  } catch {
    return false;
  }
}

/** What `/health` reports. */
export interface HealthReport {
  readonly status: "healthy" | "unhealthy";
  readonly database: "connected" | "failed";
  readonly upstream_api: "responding" | "failed" | "not_configured";
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
  readonly sql: SqlSource;
  /** `API_BASE_URL`, when an upstream API is configured. */
  readonly upstreamUrl: string | undefined;
  readonly log: Logger;
  readonly cacheMs?: number;
}): { health: Handler; ready: Handler; live: Handler } {
  const cacheMs = options.cacheMs ?? 1000;
  let last: { at: number; report: Promise<HealthReport> } | undefined;

  async function check(): Promise<HealthReport> {
    const [database, upstream] = await Promise.all([
      options.sql.ping(AbortSignal.timeout(CHECK_TIMEOUT_MS)).then(
        () => "connected" as const,
        (error) => {
          options.log.warn("health check: database failed", { error: String(error) });
          return "failed" as const;
        },
      ),
      options.upstreamUrl === undefined
        ? "not_configured" as const
        : upstreamResponds(options.upstreamUrl).then((ok) =>
          ok ? "responding" as const : "failed" as const
        ),
    ]);
    const heap = getHeapStatistics();
    const memory = Math.round((heap.used_heap_size / heap.heap_size_limit) * 1000) / 10;
    const healthy = database === "connected" && upstream !== "failed" &&
      memory <= MEMORY_LIMIT_PERCENT;
    return {
      status: healthy ? "healthy" : "unhealthy",
      database,
      upstream_api: upstream,
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
      return jsonResponse(r, r.status === "healthy" ? 200 : 503);
    },
    async ready() {
      const r = await report();
      return r.status === "healthy"
        ? jsonResponse({ status: "ready" })
        : jsonResponse({ status: "not_ready" }, 503);
    },
  };
}
