/**
 * `GET /metrics`: the Prometheus text format. Open by default (scrapers
 * usually sit on a private network); with `METRICS_TOKEN` set it needs
 * `Authorization: Bearer <token>`, compared in constant time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Metrics } from "../observability/metrics.ts";
import { ToolError } from "../tools/errors.ts";
import type { Handler, Middleware } from "./context.ts";

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/**
 * Builds the handler and its guard (empty when no token is configured).
 * `text` replaces this registry's own exposition (with `WORKERS` > 1: every
 * isolate's counts, summed).
 */
export function metricsRoute(
  metrics: Metrics,
  token: string | undefined,
  text: () => Promise<string> = () => metrics.registry.metrics(),
): {
  handler: Handler;
  guard: Middleware[];
} {
  const handler: Handler = async () => {
    await metrics.loadProcessMetrics();
    return new Response(await text(), {
      headers: { "content-type": metrics.registry.contentType, "cache-control": "no-store" },
    });
  };
  if (token === undefined) return { handler, guard: [] };
  const expected = sha256(token);
  const guard: Middleware = async function metricsToken(req, _ctx, next) {
    const presented = /^Bearer[ ]+(\S{1,1024})$/i.exec(req.headers.get("authorization") ?? "")?.[1];
    if (!presented || !timingSafeEqual(sha256(presented), expected)) {
      throw new ToolError("unauthorized", "Unauthorized", {
        headers: { "www-authenticate": 'Bearer realm="metrics"' },
      });
    }
    return await next();
  };
  return { handler, guard: [guard] };
}
