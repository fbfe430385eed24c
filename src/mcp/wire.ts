/**
 * The JSON-RPC vocabulary both MCP eras share: error codes, the `_meta` keys
 * of the 2026-07-28 envelope, what the server declares, and the one builder
 * of a JSON-RPC error response. No SDK import: the fast paths of both eras
 * use these without loading it.
 *
 * @module
 */

/** A JSON-RPC request id. */
export type JsonRpcId = string | number;

/** JSON-RPC 2.0 and MCP error codes (never one invented in the reserved range). */
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** The transport's own refusals (413, 406, 415, and the admission gate's 429/403). */
export const SERVER_ERROR = -32000;
/** 2026-07-28: a standard header disagrees with the body, or is missing. */
export const HEADER_MISMATCH = -32020;
/** 2026-07-28: the request names a revision the server does not serve. */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** The 2026-07-28 envelope's reserved `_meta` keys. */
export const PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion";
export const CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo";
export const CLIENT_CAPABILITIES_META_KEY = "io.modelcontextprotocol/clientCapabilities";
export const LOG_LEVEL_META_KEY = "io.modelcontextprotocol/logLevel";
export const SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo";

/**
 * What the server declares, in `initialize` and in `server/discover`: tools,
 * and nothing it cannot deliver. No `logging`: every answer is one JSON
 * body, so a log notification could never reach the client.
 */
export const SERVER_CAPABILITIES = Object.freeze({
  tools: Object.freeze({ listChanged: false }),
});

/**
 * A JSON-RPC error response, shaped like the SDK's own (`jsonrpc`, `error`, `id`).
 *
 * @example
 * ```ts
 * import { jsonRpcError } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * const res = jsonRpcError(400, -32020, "Bad Request", 7);
 * assert.equal(res.status, 400);
 * assert.deepEqual(await res.json(), {
 *   jsonrpc: "2.0",
 *   error: { code: -32020, message: "Bad Request" },
 *   id: 7,
 * });
 * ```
 */
export function jsonRpcError(
  status: number,
  code: number,
  message: string,
  id: JsonRpcId | null,
  data?: Readonly<Record<string, unknown>>,
  headers?: Readonly<Record<string, string>>,
): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code, message, ...(data && { data }) }, id }),
    { status, headers: { "content-type": "application/json", ...headers } },
  );
}

/**
 * The id of a single JSON-RPC message, when it can be read (a batch or a
 * body without one: `null`), for the errors answered before the SDK sees it.
 */
export function idOf(message: unknown): JsonRpcId | null {
  if (message === null || typeof message !== "object" || Array.isArray(message)) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}
