/**
 * The REST door: `POST /v1/mcp/<tool>` with the tool's input as the JSON
 * body answers 200 with the tool's JSON result; `GET /v1/mcp` lists the tools.
 *
 * @module
 */
import type { Registry } from "../tools/registry.ts";
import { deprecationHeaders } from "../tools/registry.ts";
import { type CallContext, callContextOf, type InvokeResult } from "../tools/invoke.ts";
import type { Tool } from "../tools/define.ts";
import { ToolError } from "../tools/errors.ts";
import { type BodyDeadline, readJsonBody } from "./body.ts";
import type { Handler, RequestContext } from "./context.ts";
import { type Admission, unknownTool } from "./admission.ts";
import { errorResponse, jsonAnswer } from "./responses.ts";
import { tell } from "./answer.ts";

const AUDITED = Object.freeze({ audited: true });

/** What the REST door needs. */
export interface RestDoorOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly maxBodyBytes: number;
  /** `HTTP_BODY_TIMEOUT_SECONDS`: a body still arriving then is a 408. */
  readonly bodyDeadline?: BodyDeadline;
  /** Rate limit, scopes and concurrency: the step every door runs (see admission.ts). */
  readonly admission: Admission;
}

/** Builds the two handlers of the REST door. */
export function restDoor(options: RestDoorOptions): { call: Handler; list: Handler } {
  const { admission } = options;
  return {
    async list(_req, ctx) {
      await admission(ctx, { calls: [], others: 1 });
      // Read per request: a reload of the tools file swaps the registry's contents.
      return jsonAnswer(ctx, { tools: options.registry.descriptorsFor(ctx.principal!) });
    },
    async call(req, ctx, params) {
      // Unknown names cost too: probing for tools is not free.
      const admitted = await admission(ctx, { calls: [params.tool], others: 0 });
      const tool = admitted.tools[0];
      if (!tool) throw unknownTool(params.tool);
      const input = await readJsonBody(req, options.maxBodyBytes, options.bodyDeadline);
      // Taken once the body is in: a slow upload holds no slot.
      const release = admitted.hold();
      let result: InvokeResult;
      try {
        result = await options.invoke(tool, input, callContextOf(req, ctx, "rest"));
      } finally {
        release();
      }
      // The call wrote its audit line: the answer says so (see answer.ts).
      if (tool.deprecated) {
        const headers = deprecationHeaders(tool.deprecated);
        if (!result.ok) {
          return tell(
            errorResponse(
              new ToolError(result.error.status, result.error.message, {
                httpStatus: result.error.httpStatus,
                details: result.error.details,
                headers: { ...result.error.headers, ...headers },
                extra: result.error.extra,
                cause: result.error.cause,
              }),
              ctx.requestId,
            ),
            AUDITED,
          );
        }
        return tell(okResponse(ctx, result, headers), AUDITED);
      }
      if (!result.ok) return tell(errorResponse(result.error, ctx.requestId), AUDITED);
      return tell(okResponse(ctx, result), AUDITED);
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
