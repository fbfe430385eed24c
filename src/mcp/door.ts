/**
 * The MCP door: Streamable HTTP at `/mcp`, one endpoint for both eras (a
 * "dual-era" server in the 2026-07-28 spec's words), stateless (no sessions,
 * so any replica can answer any request), JSON responses.
 *
 * The door does three things and delegates the rest: it reads the body
 * (capped), routes it by era (era.ts), and runs the admission gate every
 * door runs (http/admission.ts: rate limit, scopes, concurrency) before the
 * era's codec answers: modern.ts for 2026-07-28, legacy.ts (fast path and
 * SDK 1.32) for the handshake era.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/requestBody"
import { requestBodyTooLargeMessage } from "@modelcontextprotocol/sdk/server/requestBody.js";
import { type BodyDeadline, readBodyBytes } from "../http/body.ts";
import type { Handler } from "../http/context.ts";
import type { Admission, AdmissionRequest } from "../http/admission.ts";
import { ToolError } from "../tools/errors.ts";
import { errorBody } from "../tools/errors.ts";
import { routeByEra } from "./era.ts";
import { legacyEra, type LegacyEraOptions } from "./legacy.ts";
import { modernEra } from "./modern.ts";
import { idOf, jsonRpcError, SERVER_ERROR } from "./wire.ts";

export { toCallToolResult } from "./results.ts";
export { FAST_PATH_LATEST_PROTOCOL_VERSION, FAST_PATH_PROTOCOL_VERSIONS } from "./legacy.ts";

/** What the MCP door needs. */
export interface McpDoorOptions extends LegacyEraOptions {
  /** Rate limit, scopes and concurrency: the step every door runs. */
  readonly admission: Admission;
  /** Said in `server/discover`; absent: none. */
  readonly instructions?: string;
  /** `HTTP_BODY_TIMEOUT_SECONDS`: a body still arriving then is a 408. */
  readonly bodyDeadline?: BodyDeadline;
}

/** Builds the `/mcp` POST handler. */
export function mcpDoor(options: McpDoorOptions): Handler {
  const { admission } = options;
  // Stateless without `stream: true`: one for every request.
  const decoder = new TextDecoder();
  const legacy = legacyEra(options);
  const modern = modernEra(options);

  return async function mcp(req, ctx) {
    // The body is read here (capped, as the SDK's reader caps it) so the gate
    // can weigh the tool calls in it before anything runs.
    const bytes = await readBodyBytes(req, options.maxBodyBytes, options.bodyDeadline);
    if (bytes === undefined) {
      return jsonRpcError(
        413,
        SERVER_ERROR,
        requestBodyTooLargeMessage(options.maxBodyBytes),
        null,
      );
    }
    // Decoded as the SDK's own reader does (not fatal: bad bytes become U+FFFD).
    const body = { text: decoder.decode(bytes) };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      parsed = undefined;
    }
    const route = routeByEra(req.headers, parsed);
    let tools: Awaited<ReturnType<Admission>>["tools"];
    let release: () => void;
    try {
      // A refused message costs one point like any other: probing is not free.
      const admitted = await admission(
        ctx,
        route.era === "refused" ? { calls: [], others: 1 } : askedOf(parsed),
      );
      if (route.era === "refused") {
        const r = route.refusal;
        return jsonRpcError(r.status, r.code, r.message, r.id, r.data);
      }
      tools = admitted.tools;
      // One slot per tool call in the message (a batch's run at once), held
      // until the answer is built: with JSON responses, every call is over by then.
      release = admitted.hold();
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      return jsonRpcError(error.httpStatus, SERVER_ERROR, error.message, idOf(parsed), {
        ...errorBody(error, ctx.requestId),
      }, error.headers);
    }
    try {
      return route.era === "modern"
        ? await modern(req, ctx, route.message, tools)
        : await legacy(req, ctx, parsed, body);
    } finally {
      release();
    }
  };
}

/**
 * What a message (or batch) asks of the gate: each `tools/call` naming a
 * tool is a call (its weight, a slot); anything else, `server/discover` and
 * `tools/list` included, is one point and never a tool call's budget.
 */
function askedOf(message: unknown): AdmissionRequest {
  const calls: string[] = [];
  let others = 0;
  for (const m of Array.isArray(message) ? message : [message]) {
    const msg = m as { method?: unknown; params?: { name?: unknown } } | null;
    const name = msg?.method === "tools/call" ? msg.params?.name : undefined;
    if (typeof name === "string") calls.push(name);
    else others++;
  }
  return { calls, others };
}
