/**
 * Chains middleware in front of a handler, once, at start.
 *
 * @module
 */
import type { Handler, Middleware } from "./context.ts";

/** Returns a handler that runs `middleware` in order, then `handler`. */
export function compose(middleware: readonly Middleware[], handler: Handler): Handler {
  return middleware.reduceRight<Handler>(
    (next, mw) => (req, ctx, params) => mw(req, ctx, () => next(req, ctx, params)),
    handler,
  );
}
