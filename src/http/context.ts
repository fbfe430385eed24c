/**
 * The per-request context every middleware and handler sees: an explicit
 * interface rather than a string-keyed bag.
 *
 * @module
 */
import type { Logger } from "../observability/logger.ts";
import type { RateDecision } from "../ratelimit/limiter.ts";
import type { Principal } from "../auth/principal.ts";

export interface RequestContext {
  /** The request id echoed in `X-Request-ID`, every error body and every log line. */
  readonly requestId: string;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** The request's URL, parsed once. */
  readonly url: URL;
  /** The peer's address as the socket saw it (not a forwarded header). */
  readonly remoteAddress: string | undefined;
  /** Bound to the request id. */
  log: Logger;
  /** Set by the auth middleware. */
  principal: Principal | undefined;
  /** The caller's rate-limit state, once a door enforced it; becomes X-RateLimit-* headers. */
  rateLimit: RateDecision | undefined;
}

/** A step of the pipeline: may answer itself or hand on to `next`. */
export type Middleware = (
  req: Request,
  ctx: RequestContext,
  next: () => Promise<Response>,
) => Promise<Response>;

/** The last step: answers the request. `params` holds the route's named segments. */
export type Handler = (
  req: Request,
  ctx: RequestContext,
  params: Readonly<Record<string, string>>,
) => Promise<Response>;
