/**
 * Health endpoints for load balancers and orchestrators. No auth, no secrets,
 * no internal error text.
 *
 * @module
 */
import type { Handler } from "../http/context.ts";
import { jsonResponse } from "../http/responses.ts";
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

/** Builds `/health` (dependencies checked) and `/health/live` (the process answers). */
export function healthHandlers(options: {
  readonly sql: SqlSource;
  /** `API_BASE_URL`, when an upstream API is configured. */
  readonly upstreamUrl: string | undefined;
}): { health: Handler; live: Handler } {
  return {
    live: () => Promise.resolve(jsonResponse({ status: "alive" })),
    async health(_req, ctx) {
      const [database, upstream] = await Promise.all([
        options.sql.ping(AbortSignal.timeout(CHECK_TIMEOUT_MS)).then(
          () => "connected" as const,
          (error) => {
            ctx.log.warn("health check: database failed", { error: String(error) });
            return "failed" as const;
          },
        ),
        options.upstreamUrl === undefined
          ? "not_configured" as const
          : upstreamResponds(options.upstreamUrl).then((ok) =>
            ok ? "responding" as const : "failed" as const
          ),
      ]);
      const healthy = database === "connected" && upstream !== "failed";
      return jsonResponse({
        status: healthy ? "healthy" : "unhealthy",
        database,
        upstream_api: upstream,
        timestamp: new Date().toISOString(),
      }, healthy ? 200 : 503);
    },
  };
}
