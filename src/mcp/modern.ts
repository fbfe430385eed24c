/**
 * The 2026-07-28 era of `/mcp`: stateless, no `initialize`. Each request
 * carries its protocol version, client info and capabilities in `_meta`;
 * `server/discover` says what we serve; every result says
 * `resultType: "complete"` and names the server in its `_meta`.
 *
 * What this file checks, in the ladder's order (the routing in era.ts has
 * already refused header/body disagreements on version and method, and bad
 * envelopes):
 * 1. a JSON `Content-Type` (415) and an `Accept` listing both JSON and SSE (406);
 * 2. a revision we serve, else 400 + -32022 with `data.supported`/`data.requested`;
 * 3. the standard headers: `MCP-Protocol-Version` and `Mcp-Method` present,
 *    `Mcp-Name` present and equal to `params.name` on `tools/call` (an
 *    `=?base64?…?=` value decoded first), else 400 + -32020;
 * 4. the method: `server/discover`, `tools/list`, `tools/call`; any other
 *    (`initialize`, `ping`, `logging/setLevel` are gone from this revision,
 *    and we serve no prompts or resources) is 404 + -32601;
 * 5. its params: bad ones are -32602 in the body of a 200, as are unknown tools.
 *
 * Answered by hand, not by the v2 SDK: what it would add is its zod parse of
 * each message, and this door already has the message parsed and admitted
 * (see docs/MCP.md, "MCP revisions", for the measurement).
 *
 * The client's `io.modelcontextprotocol/logLevel` is validated (era.ts) and
 * then honoured trivially: answers are single JSON bodies, so no log
 * notification is ever sent, at any level.
 *
 * @module
 */
import type { RequestContext } from "../http/context.ts";
import { answerHeaders } from "../http/responses.ts";
import { tell } from "../http/answer.ts";
import { unknownTool } from "../http/admission.ts";
import { withRemoteParent } from "../observability/tracing.ts";
import type { Tool } from "../tools/define.ts";
import { type CallContext, callContextOf, type InvokeResult } from "../tools/invoke.ts";
import type { Registry } from "../tools/registry.ts";
import type { ModernMessage } from "./era.ts";
import { callToolResultJson } from "./results.ts";
import {
  HEADER_MISMATCH,
  INVALID_PARAMS,
  jsonRpcError,
  METHOD_NOT_FOUND,
  SERVER_CAPABILITIES,
  SERVER_ERROR,
  SERVER_INFO_META_KEY,
  UNSUPPORTED_PROTOCOL_VERSION,
} from "./wire.ts";

/** The stateless revisions served (the handshake era's are negotiated by `initialize`). */
export const MODERN_REVISIONS: readonly string[] = Object.freeze(["2026-07-28"]);

/**
 * How long a client may reuse a `tools/list` or `server/discover` answer.
 * A reload of the tools file (SIGHUP) changes the list; a minute bounds how
 * long a client keeps calling by a stale one. `private`: the list is filtered
 * by the caller's scopes, so a shared cache must not hand it to another key.
 */
export const LIST_TTL_MS = 60_000;

/** What the 2026-07-28 era needs. */
export interface ModernEraOptions {
  readonly registry: Registry;
  readonly invoke: (tool: Tool, input: unknown, call: CallContext) => Promise<InvokeResult>;
  readonly serverInfo: { readonly name: string; readonly version: string };
  /** Said in `server/discover`; absent: none. */
  readonly instructions?: string;
}

/**
 * Answers one admitted 2026-07-28 message; `tools` are the admission gate's
 * lookups of the tools it calls (one for `tools/call`, else none).
 */
export type ModernEra = (
  req: Request,
  ctx: RequestContext,
  message: ModernMessage,
  tools: readonly (Tool | undefined)[],
) => Promise<Response>;

/** Builds the 2026-07-28 era's answerer. */
export function modernEra(options: ModernEraOptions): ModernEra {
  const { registry, invoke } = options;
  // Every result ends the same way: written once, appended as text (no
  // spread copy of each result, no serializing the same object per request).
  const tail = `,"resultType":"complete","_meta":${
    JSON.stringify({ [SERVER_INFO_META_KEY]: options.serverInfo })
  }}}`;
  const discovered = Object.freeze({
    supportedVersions: MODERN_REVISIONS,
    capabilities: SERVER_CAPABILITIES,
    ...(options.instructions !== undefined && { instructions: options.instructions }),
    ttlMs: LIST_TTL_MS,
    cacheScope: "private",
  });

  return async function modern(req, ctx, message, tools) {
    const id = message.id ?? null;
    if (!isJson(req.headers.get("content-type"))) {
      return jsonRpcError(
        415,
        SERVER_ERROR,
        "Unsupported Media Type: Content-Type must be application/json",
        id,
      );
    }
    const accept = req.headers.get("accept");
    if (!accept?.includes("application/json") || !accept.includes("text/event-stream")) {
      return jsonRpcError(
        406,
        SERVER_ERROR,
        "Not Acceptable: Client must accept both application/json and text/event-stream",
        id,
      );
    }
    if (!MODERN_REVISIONS.includes(message.revision)) {
      return jsonRpcError(
        400,
        UNSUPPORTED_PROTOCOL_VERSION,
        `Unsupported protocol version: ${message.revision} (supported: ${
          MODERN_REVISIONS.join(", ")
        })`,
        id,
        { supported: MODERN_REVISIONS, requested: message.revision },
      );
    }
    // A notification is accepted and has nothing to run (this revision
    // defines none a client posts that a stateless tools server acts on).
    if (message.id === undefined) return new Response(null, { status: 202 });
    const headerProblem = standardHeaderProblem(req.headers, message);
    if (headerProblem) {
      return jsonRpcError(
        400,
        HEADER_MISMATCH,
        `Bad Request: the request headers and body disagree: ${headerProblem.body}`,
        id,
        { mismatch: headerProblem },
      );
    }
    const params = message.params ?? {};
    let audited = false;
    // The result as JSON text: each case's object, or the call's hand-written text.
    let json: string;
    const headers: Record<string, string> = { "content-type": "application/json" };
    switch (message.method) {
      case "server/discover":
        json = JSON.stringify(discovered);
        break;
      case "tools/list":
        if (params.cursor !== undefined && typeof params.cursor !== "string") {
          return inBand(ctx, id, INVALID_PARAMS, "Invalid params: cursor: expected a string");
        }
        // One page: the registry's order, fixed by configuration, so the
        // same key gets the same list (and its cache stays valid).
        json = JSON.stringify({
          tools: registry.descriptorsFor(ctx.principal!),
          ttlMs: LIST_TTL_MS,
          cacheScope: "private",
        });
        break;
      case "tools/call": {
        const { name, arguments: args } = params;
        if (typeof name !== "string") {
          return inBand(ctx, id, INVALID_PARAMS, "Invalid params: name: expected a string");
        }
        if (
          args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))
        ) {
          return inBand(ctx, id, INVALID_PARAMS, "Invalid params: arguments: expected an object");
        }
        const tool = tools[0];
        if (!tool) return inBand(ctx, id, INVALID_PARAMS, unknownTool(name).message);
        const meta = params._meta as Record<string, unknown>;
        const trace = {
          traceparent: typeof meta.traceparent === "string" ? meta.traceparent : undefined,
          tracestate: typeof meta.tracestate === "string" ? meta.tracestate : undefined,
        };
        const outcome = await withRemoteParent(
          trace,
          () => invoke(tool, args ?? {}, callContextOf(req, ctx, "mcp", trace.traceparent)),
        );
        audited = true;
        if (outcome.ok && outcome.cache) headers["x-cache"] = outcome.cache;
        json = callToolResultJson(outcome, ctx.requestId);
        break;
      }
      default:
        return jsonRpcError(404, METHOD_NOT_FOUND, `Method not found: ${message.method}`, id);
    }
    // `{"jsonrpc":"2.0","id":…,"result":{…,"resultType":"complete","_meta":…}}`
    const open = json.slice(0, -1);
    return tell(
      new Response(
        `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${open}${
          open.length > 1 ? tail : tail.slice(1)
        }`,
        { status: 200, headers: answerHeaders(ctx, headers) },
      ),
      { stamped: true, audited },
    );
  };
}

/** A JSON-RPC error a handler produced: in the body of a 200, as the transport page has it. */
function inBand(
  ctx: RequestContext,
  id: string | number | null,
  code: number,
  message: string,
): Response {
  return tell(
    new Response(JSON.stringify({ jsonrpc: "2.0", id, error: { code, message } }), {
      status: 200,
      headers: answerHeaders(ctx, { "content-type": "application/json" }),
    }),
    { stamped: true },
  );
}

/** A standard header that is missing or disagrees with the body: what it said, and why. */
interface HeaderProblem {
  readonly header: string;
  readonly body: string;
}

/**
 * The presence half of the standard-header rule, and `Mcp-Name` against
 * the body (the version and method cross-checks ran in era.ts).
 */
function standardHeaderProblem(
  headers: Headers,
  message: ModernMessage,
): HeaderProblem | undefined {
  // Read once, by the routing (era.ts): each Headers read is a native call.
  if (message.headers.version === undefined) {
    return {
      header: "(missing)",
      body:
        `the body's _meta names protocol version ${message.revision} but the required MCP-Protocol-Version header is absent`,
    };
  }
  if (message.headers.method === undefined) {
    return {
      header: "(missing)",
      body: `the body names method ${message.method} but the required Mcp-Method header is absent`,
    };
  }
  if (message.method !== "tools/call") return undefined;
  const name = message.params?.name;
  if (typeof name !== "string") return undefined; // the params check answers it
  const raw = headers.get("mcp-name");
  if (raw === null) {
    return {
      header: "(missing)",
      body: `the body carries params.name="${name}" but the required Mcp-Name header is absent`,
    };
  }
  const decoded = decodeHeaderValue(raw);
  if (decoded === undefined) {
    return { header: raw, body: "the Mcp-Name header carries an invalid Base64 sentinel value" };
  }
  if (decoded !== name) {
    return {
      header: raw,
      body: `the body carries params.name="${name}" but the Mcp-Name header names "${decoded}"`,
    };
  }
  return undefined;
}

const BASE64_CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A header value as the transport page encodes names that are not plain
 * header text: `=?base64?<canonical base64 of UTF-8>?=`; any other value is
 * itself. `undefined`: the sentinel with a payload that is not canonical
 * base64 or not UTF-8 (refused, never guessed at).
 *
 * @example
 * ```ts
 * import { decodeHeaderValue } from "./modern.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeHeaderValue("echo"), "echo");
 * assert.equal(decodeHeaderValue("=?base64?ZWNobw==?="), "echo");
 * assert.equal(decodeHeaderValue("=?base64?ZWNobw?="), undefined);
 * ```
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!value.startsWith("=?base64?") || !value.endsWith("?=") || value.length < 11) return value;
  const b64 = value.slice(9, -2);
  if (!BASE64_CANONICAL.test(b64)) return undefined;
  try {
    return UTF8.decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** `application/json`, any parameters (as the SDK's own check reads it). */
function isJson(contentType: string | null): boolean {
  return contentType !== null &&
    contentType.split(";", 1)[0].trim().toLowerCase() === "application/json";
}
