/**
 * The one admission step every door and every MCP era runs before anything
 * executes: look the tools up, charge the rate limit their summed cost (plus
 * one point per listing or other message), refuse a key that lacks a tool's
 * scopes, and hold the key's concurrency slots while the calls run. A door
 * that forgot scopes or charged a probe like a tool call was possible while
 * each door wrote these steps itself; now a door only says what the request
 * asks for.
 *
 * The unknown-tool error lives here too, so its text (a valid name echoed,
 * anything else not) is the same on every door; each door maps it to its
 * own wire form (REST: 404; MCP: JSON-RPC -32602).
 *
 * @module
 */
import { insufficientScope, mayCall } from "../auth/scopes.ts";
import { claimText } from "../auth/principal.ts";
import type { ConcurrencyLimit } from "../ratelimit/concurrency.ts";
import type { Tool } from "../tools/define.ts";
import { ToolError } from "../tools/errors.ts";
import type { Registry } from "../tools/registry.ts";
import { TOOL_NAME_PATTERN } from "../tools/registry.ts";
import type { RequestContext } from "./context.ts";
import type { RateLimitPolicy } from "./middleware/rate_limit.ts";

/** What a request asks of the gate. */
export interface AdmissionRequest {
  /** The tool names it calls (a batch may name several; unknown names cost too). */
  readonly calls: readonly string[];
  /**
   * How many of its messages are not tool calls (`tools/list`,
   * `server/discover`, `initialize`, `ping`, notifications): one point each,
   * never a tool call's weight, and no concurrency slot.
   */
  readonly others: number;
}

/** What the gate let in. */
export interface Admitted {
  /** The tools of `calls`, in order; `undefined` where the name is not registered. */
  readonly tools: readonly (Tool | undefined)[];
  /**
   * Takes the key's concurrency slots for the registered tools called and
   * returns what gives them back. A door calls it once the calls are about
   * to run (the REST door after the body is read, so a slow upload holds no
   * slot). Throws the 429/400 of the concurrency limit.
   */
  hold(): () => void;
}

/** The gate. */
export type Admission = (ctx: RequestContext, request: AdmissionRequest) => Promise<Admitted>;

/** What {@linkcode createAdmission} takes. */
export interface AdmissionOptions {
  readonly registry: Registry;
  readonly rateLimit: RateLimitPolicy;
  /** The per-key bound on calls running at once; absent: none (unit tests). */
  readonly concurrency?: ConcurrencyLimit;
  /** The RFC 9728 metadata URL a 403 names, when tokens are accepted. */
  readonly resourceMetadataUrl?: string;
}

const NOTHING_TO_RELEASE = () => {};

/**
 * Builds the gate. Throws (as a promise rejection) the `ToolError` of the
 * first refusal: 429/503 from the rate limit, 403 for a missing scope.
 *
 * @example A listing costs one point and holds no slot
 * ```ts
 * import { createAdmission } from "./admission.ts";
 * import { createRegistry } from "../tools/registry.ts";
 * import type { RequestContext } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * let charged = 0;
 * const admit = createAdmission({
 *   registry: createRegistry([]),
 *   rateLimit: { costOf: () => 5, enforce: (_ctx, cost) => void (charged += cost) },
 * });
 * const ctx = { principal: { id: "k" } } as RequestContext;
 * const admitted = await admit(ctx, { calls: [], others: 1 });
 * assert.equal(charged, 1);
 * assert.deepEqual(admitted.tools, []);
 * admitted.hold()();
 * ```
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { registry, rateLimit, concurrency, resourceMetadataUrl } = options;
  return async function admission(ctx, request) {
    const tools = request.calls.map((name) => registry.get(name));
    let cost = request.others;
    const known: string[] = [];
    for (let i = 0; i < tools.length; i++) {
      const tool = tools[i];
      cost += rateLimit.costOf(request.calls[i], tool?.rateLimitCost);
      if (tool) known.push(tool.name);
    }
    const limiting = rateLimit.enforce(ctx, Math.max(1, cost), known);
    if (limiting) await limiting;
    // Scopes are an HTTP-level refusal (403 + WWW-Authenticate), as the MCP
    // authorization spec has it, for the whole request, a batch included.
    for (const tool of tools) {
      if (tool && !mayCall(ctx.principal!, tool)) {
        throw insufficientScope(tool, ctx.principal, resourceMetadataUrl);
      }
      // Identity-bound parameters: no caller identity, no call (nothing runs).
      if (tool?.identity) {
        for (const claim of Object.values(tool.identity)) {
          if (claimText(ctx.principal!, claim) === undefined) throw identityRequired(tool, claim);
        }
      }
    }
    return {
      tools,
      hold: () =>
        known.length === 0 || !concurrency
          ? NOTHING_TO_RELEASE
          : concurrency.acquire(ctx.principal!.id, known.length),
    };
  };
}

/**
 * The 403 for a call of a tool with identity-bound parameters by a caller
 * whose identity lacks the claim (an API key, or a token without it).
 *
 * @example
 * ```ts
 * import { identityRequired } from "./admission.ts";
 * import assert from "node:assert/strict";
 *
 * const error = identityRequired({ name: "my_orders" }, "sub");
 * assert.equal(error.httpStatus, 403);
 * ```
 */
export function identityRequired(tool: { readonly name: string }, claim: string): ToolError {
  return new ToolError(
    "forbidden",
    `${tool.name} acts for a signed-in user: the caller's token has no usable "${claim}" claim`,
  );
}

/**
 * The error for a tool name that is not registered; echoes the name only when
 * it is a valid one (a hostile name is never reflected).
 *
 * @example
 * ```ts
 * import { unknownTool } from "./admission.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(unknownTool("nope").message, "Unknown tool: nope");
 * assert.equal(unknownTool("<script>").message, "Unknown tool");
 * ```
 */
export function unknownTool(name: string): ToolError {
  return new ToolError(
    "not_found",
    TOOL_NAME_PATTERN.test(name) ? `Unknown tool: ${name}` : "Unknown tool",
  );
}
