/**
 * The request kernel: the one function every request goes through. It
 * resolves the request id, answers CORS preflights, matches the route table
 * (owning 404 and 405), runs the route's middleware and handler, turns any
 * error into a response in one place, stamps the app's headers onto answers
 * that do not carry them yet, counts the request, and logs failed requests
 * that no tool call already audited. What a door's answer already did, the
 * answer itself says (see answer.ts); the kernel reads nothing back from
 * the request context but the principal and the rate-limit decision.
 *
 * @module
 */
import { compose } from "./compose.ts";
import type { Handler, RequestContext } from "./context.ts";
import type { Cors } from "./middleware/cors.ts";
import { setRateLimitHeaders } from "./middleware/rate_limit.ts";
import { REQUEST_ID_HEADER, resolveRequestId } from "./middleware/request_id.ts";
import { errorResponse } from "./responses.ts";
import { createRouter } from "./router.ts";
import type { Route } from "./router.ts";
import { factsOf } from "./answer.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { internalError, ToolError } from "../tools/errors.ts";
import { requestTarget } from "./request_target.ts";
import { refusalFields } from "./refusal_log.ts";

/** The context's URL for a request whose target was refused (nothing routes on it). */
const UNPARSED_URL = new URL("http://unparsed.invalid/");

/** What {@linkcode createKernel} takes. */
export interface KernelOptions {
  /** THE route table (routes.ts). */
  readonly routes: readonly Route[];
  readonly log: Logger;
  readonly metrics: Pick<Metrics, "httpRequest">;
  readonly cors: Cors;
  /** The caller's address for refusal log lines (through trusted proxies); absent: the peer's. */
  readonly clientAddress?: (req: Request, ctx: RequestContext) => string;
}

/** Builds the per-request function `Deno.serve` calls. */
export function createKernel(
  options: KernelOptions,
): (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const { routes: table, log, metrics, cors: corsPolicy } = options;
  const composed = new Map<(typeof table)[number], Handler>(
    table.map((route) => [route, compose(route.middleware, route.handler)]),
  );
  // The endpoint label is the route template, never the raw path: bounded under hostile URLs.
  const endpointOf = new Map(table.map((route) => [route, route.path.replace(/:(\w+)/g, "{$1}")]));
  const match = createRouter(table);

  return async function kernel(req, info) {
    const requestId = resolveRequestId(req.headers.get(REQUEST_ID_HEADER));
    // The path comes from the request-target, never from Host (see request_target.ts).
    const target = requestTarget(req);
    const url = "path" in target ? target.url : UNPARSED_URL;
    const remote = info?.remoteAddr;
    const ctx: RequestContext = {
      requestId,
      startedAt: performance.now(),
      url,
      remoteAddress: remote && "hostname" in remote ? remote.hostname : undefined,
      log: log.with({ request_id: requestId }),
      principal: undefined,
      rateLimit: undefined,
    };
    let response: Response;
    let fault: unknown;
    let refusal: ToolError | undefined;
    let endpoint = "unmatched";
    try {
      // Refused like any other bad request: a JSON 400 with the request id, logged and counted.
      if (!("path" in target)) throw new ToolError("invalid_input", target.problem);
      const preflight = corsPolicy.preflight(req, url, requestId);
      if (preflight) {
        preflight.headers.set(REQUEST_ID_HEADER, requestId);
        return preflight;
      }
      const found = match(req.method, target.path);
      if (found.kind === "not_found") {
        throw new ToolError("not_found", "Not found");
      }
      if (found.kind === "method_not_allowed") {
        throw new ToolError("invalid_input", "Method not allowed", {
          httpStatus: 405,
          headers: { allow: found.allow.join(", ") },
        });
      }
      endpoint = endpointOf.get(found.route)!;
      response = await composed.get(found.route)!(req, ctx, found.params);
    } catch (error) {
      const safe = error instanceof ToolError ? error : internalError(error);
      if (!(error instanceof ToolError)) fault = error;
      else refusal = error;
      response = errorResponse(safe, requestId);
    }
    metrics.httpRequest(endpoint, response.status);
    const facts = factsOf(response);
    // A door's answer may carry these already (see answerHeaders in responses.ts).
    if (!facts.stamped) {
      response.headers.set(REQUEST_ID_HEADER, requestId);
      if (ctx.rateLimit) setRateLimitHeaders(response.headers, ctx.rateLimit);
    }
    corsPolicy.decorate(req, url, response);
    if (response.status >= 400 && !facts.audited) {
      const props = {
        method: req.method,
        status_code: response.status,
        principal: ctx.principal?.id,
        ...(ctx.principal?.user === undefined ? {} : { user: ctx.principal.user }),
        latency_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
        ...refusalFields({
          route: endpoint,
          url,
          clientAddress: options.clientAddress?.(req, ctx) ?? ctx.remoteAddress ?? "unknown",
          error: refusal,
        }),
      };
      if (fault === undefined) ctx.log.info("request error", props);
      else ctx.log.error("request failed", { ...props, error: describe(fault) });
    }
    return response;
  };
}

function describe(error: unknown): unknown {
  return error instanceof Error
    ? { name: error.name, message: error.message, stack: error.stack }
    : String(error);
}
