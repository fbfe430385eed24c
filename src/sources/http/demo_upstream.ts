/**
 * The demo upstream for the zero-setup run: a small REST API on a random
 * loopback port inside the same process, serving customers and orders from
 * the demo database. The REST tools reach it through the real upstream
 * client (pool, retries, breaker), exactly as they would reach a company's API.
 *
 * Routes (all GET, JSON):
 * - `/customers/{id}` → `{id, name, email}`, or 404
 * - `/customers/{id}/orders?status=all|pending|completed|cancelled` →
 *   `{customer_id, status, orders: [{id, amount, status, created_at}]}`, or 404
 * - `/` → `{service: "demo-upstream"}` (what the health check reaches)
 *
 * @module
 */
import type { Logger } from "../../observability/logger.ts";
import { sql, type SqlSource } from "../db/sql_source.ts";

/** A running demo upstream. */
export interface DemoUpstream {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  close(): Promise<void>;
}

const STATUSES = new Set(["all", "pending", "completed", "cancelled"]);
/** Each demo request gets this long on the database. */
const QUERY_TIMEOUT_MS = 5_000;

/** Starts the demo upstream on `127.0.0.1`, on `port` (default: any free port). */
export function startDemoUpstream(
  options: { readonly sql: SqlSource; readonly log: Logger; readonly port?: number },
): DemoUpstream {
  const { sql: db } = options;
  const json = (status: number, body: unknown) => Response.json(body, { status });

  async function customer(id: number, signal: AbortSignal) {
    const { rows: [row] } = await db.query(
      sql`SELECT id, name, email FROM customers WHERE id = ${id}`,
      { signal, name: "demo_upstream_customer", timeoutMs: QUERY_TIMEOUT_MS },
    );
    return row;
  }

  async function handle(req: Request): Promise<Response> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return json(405, { error: "method not allowed" });
    }
    const url = new URL(req.url);
    if (url.pathname === "/") return json(200, { service: "demo-upstream" });
    const match = /^\/customers\/(\d{1,10})(\/orders)?$/.exec(url.pathname);
    const id = match ? Number(match[1]) : NaN;
    if (!match || id < 1 || id > 2_147_483_647) return json(404, { error: "not found" });
    const found = await customer(id, req.signal);
    if (!found) return json(404, { error: "customer not found" });
    if (!match[2]) return json(200, found);
    const status = url.searchParams.get("status") ?? "all";
    if (!STATUSES.has(status)) return json(400, { error: "bad status" });
    const { rows } = await db.query(
      sql`SELECT id, amount::float8 AS amount, status, created_at
          FROM orders
          WHERE customer_id = ${id} AND (${status} = 'all' OR status = ${status})
          ORDER BY created_at DESC, id`,
      { signal: req.signal, name: "demo_upstream_orders", timeoutMs: QUERY_TIMEOUT_MS },
    );
    return json(200, { customer_id: id, status, orders: rows });
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => {},
    onError(error) {
      options.log.error("demo upstream failed", {
        error: error instanceof Error ? error.message : String(error),
      });
      return json(500, { error: "internal" });
    },
  }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
