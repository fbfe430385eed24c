/**
 * Matches a request to a route of the route table. Exact paths are a map
 * look-up; paths with `:name` segments are matched segment by segment (a
 * `:name` takes one whole, non-empty segment, as `URLPattern` would).
 * `URLPattern.exec` cost ~30 µs of CPU per REST call under load: a third of
 * a no-op call.
 *
 * @module
 */
import type { Handler, Middleware } from "./context.ts";

/** One row of the route table. */
export interface Route {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** `/v1/mcp/:tool` style; also the template metrics and logs show. */
  readonly path: string;
  /** Middleware for this route (request id and error handling wrap every route). */
  readonly middleware: readonly Middleware[];
  readonly handler: Handler;
}

/** What the router found for a method and path. */
export type RouteMatch =
  | { readonly kind: "found"; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: "method_not_allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not_found" };

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Builds a matcher over `routes`. HEAD is answered like GET. */
export function createRouter(
  routes: readonly Route[],
): (method: string, pathname: string) => RouteMatch {
  const exact = new Map<string, Route[]>();
  const patterned: { segments: string[]; routes: Route[] }[] = [];
  for (const route of routes) {
    if (route.path.includes(":")) {
      let entry = patterned.find((p) => p.routes[0].path === route.path);
      if (!entry) {
        entry = { segments: route.path.split("/"), routes: [] };
        patterned.push(entry);
      }
      entry.routes.push(route);
    } else {
      exact.set(route.path, [...(exact.get(route.path) ?? []), route]);
    }
  }
  return function match(method, pathname) {
    const wanted = method === "HEAD" ? "GET" : method;
    let candidates = exact.get(pathname);
    let params = NO_PARAMS;
    if (!candidates && patterned.length > 0) {
      const parts = pathname.split("/");
      for (const entry of patterned) {
        const found = matchSegments(entry.segments, parts);
        if (found) {
          candidates = entry.routes;
          params = found;
          break;
        }
      }
    }
    if (!candidates) return { kind: "not_found" };
    const route = candidates.find((r) => r.method === wanted);
    if (route) return { kind: "found", route, params };
    const allow: string[] = candidates.map((r) => r.method);
    if (allow.includes("GET")) allow.push("HEAD");
    return { kind: "method_not_allowed", allow };
  };
}

/** The `:name` values when `parts` fit the template `segments`, else undefined. */
function matchSegments(
  segments: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment.startsWith(":")) {
      if (parts[i] === "") return undefined;
      (params ??= {})[segment.slice(1)] = parts[i];
    } else if (segment !== parts[i]) {
      return undefined;
    }
  }
  return params ?? NO_PARAMS;
}
