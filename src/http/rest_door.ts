/**
 * The REST door: `POST /v1/mcp/<tool>` with the tool's input as the JSON
 * body answers 200 with the tool's JSON result; `GET /v1/mcp` lists the tools.
 *
 * @module
 */
import type { Registry } from "../tools/registry.ts";
import { deprecationHeaders, TOOL_NAME_PATTERN } from "../tools/registry.ts";
import { type CallContext, callContextOf, type InvokeResult } from "../tools/invoke.ts";
import type { Tool } from "../tools/define.ts";
import { ToolError } from "../tools/errors.ts";
import { insufficientScope, mayCall } from "../auth/scopes.ts";
import { type BodyDeadline, readJsonBody } from "./body.ts";
import type { Handler, RequestContext } from "./context.ts";
import type { RateLimitPolicy } from "./middleware/rate_limit.ts";
import type { ConcurrencyLimit } from "../ratelimit/concurrency.ts";
import { jsonAnswer } from "./responses.ts";

/** What the REST door needs. */
export interface RestDoorOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly maxBodyBytes: number;
  /** `HTTP_BODY_TIMEOUT_SECONDS`: a body still arriving then is a 408. */
  readonly bodyDeadline?: BodyDeadline;
  readonly rateLimit: RateLimitPolicy;
  /** The per-key bound on calls running at once; absent: none (unit tests). */
  readonly concurrency?: ConcurrencyLimit;
}

/** The 404 for a tool name that is not registered; echoes the name only when it is a valid one. */
export function unknownTool(name: string): ToolError {
  return new ToolError(
    "not_found",
    TOOL_NAME_PATTERN.test(name) ? `Unknown tool: ${name}` : "Unknown tool",
  );
}

/** Builds the two handlers of the REST door. */
export function restDoor(options: RestDoorOptions): { call: Handler; list: Handler } {
  return {
    async list(_req, ctx) {
      const limiting = options.rateLimit.enforce(ctx, 1);
      if (limiting) await limiting;
      // Read per request: a reload of the tools file swaps the registry's contents.
      return jsonAnswer(ctx, { tools: options.registry.descriptorsFor(ctx.principal!) });
    },
    async call(req, ctx, params) {
      // Unknown names cost too: probing for tools is not free.
      const tool = options.registry.get(params.tool);
      const limiting = options.rateLimit.enforce(
        ctx,
        options.rateLimit.costOf(params.tool, tool?.rateLimitCost),
        tool ? [params.tool] : [],
      );
      if (limiting) await limiting;
      if (!tool) throw unknownTool(params.tool);
      if (!mayCall(ctx.principal!, tool)) throw insufficientScope(tool);
      const input = await readJsonBody(req, options.maxBodyBytes, options.bodyDeadline);
      // Taken once the body is in: a slow upload holds no slot.
      const release = options.concurrency?.acquire(ctx.principal!.id, 1);
      let result: InvokeResult;
      try {
        result = await options.invoke(tool, input, callContextOf(req, ctx, "rest"));
      } finally {
        release?.();
      }
      ctx.audited = true;
      if (tool.deprecated) {
        const headers = deprecationHeaders(tool.deprecated);
        if (!result.ok) {
          throw new ToolError(result.error.status, result.error.message, {
            httpStatus: result.error.httpStatus,
            details: result.error.details,
            headers: { ...result.error.headers, ...headers },
            extra: result.error.extra,
            cause: result.error.cause,
          });
        }
        return okResponse(ctx, result, headers);
      }
      if (!result.ok) throw result.error;
      return okResponse(ctx, result);
    },
  };
}

/**
 * A result as JSON, every header given at once (see `jsonAnswer`); a
 * cacheable tool's says where it came from (`X-Cache: hit|miss`).
 */
function okResponse(
  ctx: RequestContext,
  result: Extract<InvokeResult, { ok: true }>,
  headers?: Readonly<Record<string, string>>,
): Response {
  if (!result.cache) return jsonAnswer(ctx, result.value, headers);
  return jsonAnswer(ctx, result.value, { ...headers, "x-cache": result.cache });
}
