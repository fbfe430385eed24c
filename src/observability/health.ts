/**
 * Health endpoints for load balancers and orchestrators. No auth, no secrets,
 * no internal error text.
 *
 * @module
 */
import type { Handler } from "../http/context.ts";
import { jsonResponse } from "../http/responses.ts";
import type { SqlSource } from "../sources/db/sql_source.ts";

const DB_CHECK_TIMEOUT_MS = 5000;

/** Builds `/health` (dependencies checked) and `/health/live` (the process answers). */
export function healthHandlers(options: {
  readonly sql: SqlSource;
  readonly upstreamConfigured: boolean;
}): { health: Handler; live: Handler } {
  return {
    live: () => Promise.resolve(jsonResponse({ status: "alive" })),
    async health(_req, ctx) {
      let database: "connected" | "failed" = "connected";
      try {
        await options.sql.ping(AbortSignal.timeout(DB_CHECK_TIMEOUT_MS));
      } catch (error) {
        database = "failed";
        ctx.log.warn("health check: database failed", { error: String(error) });
      }
      const healthy = database === "connected";
      return jsonResponse({
        status: healthy ? "healthy" : "unhealthy",
        database,
        upstream_api: options.upstreamConfigured ? "failed" : "not_configured",
        timestamp: new Date().toISOString(),
      }, healthy ? 200 : 503);
    },
  };
}
