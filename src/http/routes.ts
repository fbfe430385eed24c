/**
 * THE route table: every path the server answers, its method, its middleware
 * and its handler. The router's fallback owns 404 and 405.
 *
 * @module
 */
import type { Handler, Middleware } from "./context.ts";
import type { Route } from "./router.ts";

/** The handlers and middleware the table wires together. */
export interface RouteDeps {
  readonly guard: {
    /** Host/Origin check. */
    readonly hostOrigin: Middleware;
    /** API-key check. */
    readonly auth: Middleware;
  };
  readonly rest: { readonly call: Handler; readonly list: Handler };
  readonly mcp: Handler;
  readonly health: { readonly health: Handler; readonly ready: Handler; readonly live: Handler };
  /** The OpenAPI document (no key). */
  readonly openApi: Handler;
  /** The interactive API docs page and its embedded files (no key). */
  readonly docs: { readonly page: Handler; readonly asset: Handler };
  /**
   * RFC 9728 Protected Resource Metadata (no key), served when tokens are
   * accepted, at the well-known path and at it with the resource's path.
   */
  readonly resourceMetadata?: { readonly handler: Handler; readonly paths: readonly string[] };
  /** Prometheus scrape; guarded by its own token when one is configured. */
  readonly metrics: { readonly handler: Handler; readonly guard: readonly Middleware[] };
}

/** Builds the table. API routes pass the Host/Origin check and auth; health needs neither. */
export function routes(deps: RouteDeps): Route[] {
  const api = [deps.guard.hostOrigin, deps.guard.auth];
  return [
    { method: "POST", path: "/mcp", middleware: api, handler: deps.mcp },
    { method: "GET", path: "/v1/mcp", middleware: api, handler: deps.rest.list },
    { method: "POST", path: "/v1/mcp/:tool", middleware: api, handler: deps.rest.call },
    // Probes and scrapers address the server by IP: no Host check here.
    { method: "GET", path: "/health", middleware: [], handler: deps.health.health },
    { method: "GET", path: "/health/live", middleware: [], handler: deps.health.live },
    { method: "GET", path: "/health/ready", middleware: [], handler: deps.health.ready },
    {
      method: "GET",
      path: "/metrics",
      middleware: deps.metrics.guard,
      handler: deps.metrics.handler,
    },
    { method: "GET", path: "/openapi.json", middleware: [], handler: deps.openApi },
    { method: "GET", path: "/docs", middleware: [], handler: deps.docs.page },
    { method: "GET", path: "/docs/:asset", middleware: [], handler: deps.docs.asset },
    ...(deps.resourceMetadata?.paths ?? []).map((path) => ({
      method: "GET" as const,
      path,
      middleware: [],
      handler: deps.resourceMetadata!.handler,
    })),
  ];
}
