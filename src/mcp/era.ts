/**
 * Era routing: which MCP revision a message posted to `/mcp` speaks. The body
 * decides, as the 2026-07-28 transport page and the official v2 SDK's
 * classifier have it: a request whose `params._meta` carries
 * `io.modelcontextprotocol/protocolVersion` naming 2026-07-28 or later is a
 * modern (stateless) request; everything else (`initialize`, requests
 * without the claim, batches of those, posted responses) is handshake-era
 * traffic and goes on exactly as before. The `MCP-Protocol-Version` header
 * only cross-checks: a disagreement is refused, never resolved, because a
 * gateway may have routed on the header while we would run the body.
 *
 * Pure: no I/O, no SDK. The refusals carry the HTTP status and JSON-RPC
 * error the spec names, and the request's id where it could be read.
 *
 * @module
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  HEADER_MISMATCH,
  INVALID_PARAMS,
  INVALID_REQUEST,
  type JsonRpcId,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from "./wire.ts";

/** The first revision of the stateless era; revisions are ISO dates, so they order as strings. */
export const FIRST_MODERN_REVISION = "2026-07-28";

/** A 2026-era message, its envelope already validated. */
export interface ModernMessage {
  /** Absent for a notification. */
  readonly id?: JsonRpcId;
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>> | undefined;
  /** The revision its envelope (or, for a notification without one, the header) names. */
  readonly revision: string;
  /**
   * The `MCP-Protocol-Version` and `Mcp-Method` headers as routing read them
   * (absent: not sent), so the era does not read them again.
   */
  readonly headers: { readonly version?: string; readonly method?: string };
}

/** A refusal before anything runs: the status and JSON-RPC error to answer with. */
export interface Refusal {
  readonly status: number;
  readonly code: number;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly id: JsonRpcId | null;
}

/** Where a posted body goes. */
export type Route =
  | { readonly era: "legacy" }
  | { readonly era: "modern"; readonly message: ModernMessage }
  | { readonly era: "refused"; readonly refusal: Refusal };

const LEGACY: Route = Object.freeze({ era: "legacy" });

/**
 * Whether `version` names a revision of the stateless era.
 *
 * @example
 * ```ts
 * import { isModernRevision } from "./era.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isModernRevision("2026-07-28"));
 * assert.ok(!isModernRevision("2025-11-25"));
 * ```
 */
export function isModernRevision(version: string): boolean {
  return version >= FIRST_MODERN_REVISION;
}

/**
 * Routes one parsed body (`undefined`: not JSON) by its era.
 *
 * @example A request with the 2026 envelope is modern; `initialize` is not
 * ```ts
 * import { routeByEra } from "./era.ts";
 * import assert from "node:assert/strict";
 *
 * const meta = {
 *   "io.modelcontextprotocol/protocolVersion": "2026-07-28",
 *   "io.modelcontextprotocol/clientCapabilities": {},
 * };
 * const headers = new Headers({ "mcp-protocol-version": "2026-07-28" });
 * const modern = routeByEra(headers, { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta } });
 * assert.equal(modern.era, "modern");
 * const init = routeByEra(new Headers(), { jsonrpc: "2.0", id: 1, method: "initialize", params: {} });
 * assert.equal(init.era, "legacy");
 * ```
 */
export function routeByEra(headers: Headers, body: unknown): Route {
  if (Array.isArray(body)) {
    // Batches are handshake-era only: one with a modern element is refused
    // whole (the 2026 revision has no batches), the rest go on as before.
    for (const element of body) {
      if (isObject(element) && hasClaim(element.params)) {
        return refused(
          400,
          INVALID_REQUEST,
          "Bad Request: JSON-RPC batches may not contain requests for protocol revision 2026-07-28 or later",
          null,
        );
      }
    }
    return LEGACY;
  }
  if (!isObject(body) || typeof body.method !== "string" || body.jsonrpc !== "2.0") return LEGACY;
  const method = body.method;
  const isRequest = "id" in body;
  const id = isRequest && isId(body.id) ? body.id : null;
  if (isRequest && id === null) return LEGACY; // not a request the spec knows: the SDK answers it
  const headerVersion = headers.get("mcp-protocol-version") ?? undefined;
  const methodHeader = headers.get("mcp-method") ?? undefined;
  const headerIsModern = headerVersion !== undefined && isModernRevision(headerVersion);
  const params = body.params;

  if (isRequest && method === "initialize" && !hasValidModernClaim(params)) {
    if (headerIsModern) {
      return mismatch(
        headerVersion,
        "an initialize request (handshake era) was sent with a 2026-07-28 MCP-Protocol-Version header",
        id,
      );
    }
    return LEGACY;
  }
  if (hasClaim(params)) {
    const meta = (params as Record<string, unknown>)._meta as Record<string, unknown>;
    const issue = isRequest ? envelopeIssues(meta)[0] : claimIssue(meta);
    if (issue) {
      return refused(
        400,
        INVALID_PARAMS,
        `Invalid _meta envelope for protocol revision 2026-07-28: ${issue.key}: ${issue.problem}`,
        id,
        { envelope: issue },
      );
    }
    const claimed = meta[PROTOCOL_VERSION_META_KEY] as string;
    if (headerVersion !== undefined && headerVersion !== claimed) {
      return mismatch(
        headerVersion,
        `the body's _meta names protocol version ${claimed} but the MCP-Protocol-Version header names ${headerVersion}`,
        id,
      );
    }
    if (!isModernRevision(claimed)) return LEGACY;
    if (methodHeader !== undefined && methodHeader !== method) {
      return mismatch(
        methodHeader,
        `the body names method ${method} but the Mcp-Method header names ${methodHeader}`,
        id,
      );
    }
    return modern(id, method, params, claimed, isRequest, headerVersion, methodHeader);
  }
  if (headerIsModern) {
    if (!isRequest) {
      // Notifications carry no envelope of their own: the header decides.
      if (methodHeader !== undefined && methodHeader !== method) {
        return mismatch(
          methodHeader,
          `the notification names method ${method} but the Mcp-Method header names ${methodHeader}`,
          null,
        );
      }
      return modern(null, method, params, headerVersion, false, headerVersion, methodHeader);
    }
    const meta = isObject(params) && isObject(params._meta) ? params._meta : undefined;
    const missing = meta === undefined
      ? ["_meta"]
      : envelopeIssues(meta).filter((i) => i.problem === "missing").map((i) => i.key);
    return refused(
      400,
      INVALID_PARAMS,
      `Invalid params: the MCP-Protocol-Version header names protocol revision ${headerVersion}, but the request is missing the required _meta key(s): ${
        (missing.length > 0 ? missing : [PROTOCOL_VERSION_META_KEY]).join(", ")
      }`,
      id,
      { envelope: { missing } },
    );
  }
  return LEGACY;
}

function modern(
  id: JsonRpcId | null,
  method: string,
  params: unknown,
  revision: string,
  isRequest: boolean,
  headerVersion: string | undefined,
  methodHeader: string | undefined,
): Route {
  return {
    era: "modern",
    message: {
      ...(isRequest && { id: id! }),
      method,
      params: isObject(params) ? params : undefined,
      revision,
      headers: { version: headerVersion, method: methodHeader },
    },
  };
}

function mismatch(header: string, body: string, id: JsonRpcId | null): Route {
  return refused(
    400,
    HEADER_MISMATCH,
    `Bad Request: the request headers and body disagree: ${body}`,
    id,
    { mismatch: { header, body } },
  );
}

function refused(
  status: number,
  code: number,
  message: string,
  id: JsonRpcId | null,
  data?: Record<string, unknown>,
): Route {
  return { era: "refused", refusal: { status, code, message, id, ...(data && { data }) } };
}

/** The claim: `params._meta` holds the protocol-version key (valid or not). */
function hasClaim(params: unknown): boolean {
  return isObject(params) && isObject(params._meta) && PROTOCOL_VERSION_META_KEY in params._meta;
}

function hasValidModernClaim(params: unknown): boolean {
  if (!hasClaim(params)) return false;
  const meta = (params as { _meta: Record<string, unknown> })._meta;
  const version = meta[PROTOCOL_VERSION_META_KEY];
  return typeof version === "string" && isModernRevision(version) &&
    envelopeIssues(meta).length === 0;
}

/** One problem of an envelope: which key, and what is wrong with it. */
export interface EnvelopeIssue {
  readonly key: string;
  readonly problem: string;
}

const LOG_LEVELS = new Set([
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
]);

const REQUIRED_META_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY] as const;
const TYPED_CAPABILITIES = ["sampling", "elicitation", "roots"] as const;
const CAPABILITY_RECORDS = ["experimental", "extensions"] as const;
const OPTIONAL_INFO_STRINGS = ["title", "websiteUrl", "description"] as const;

/**
 * The problems of a request's `_meta` as a 2026-07-28 envelope: missing
 * required keys first, then wrong types, in a stable order (the first one is
 * the one answered). Hand-written rather than a zod parse per request: this
 * runs on every modern request.
 */
export function envelopeIssues(meta: Readonly<Record<string, unknown>>): EnvelopeIssue[] {
  const issues: EnvelopeIssue[] = [];
  for (const key of REQUIRED_META_KEYS) {
    if (!(key in meta)) issues.push({ key, problem: "missing" });
  }
  const version = meta[PROTOCOL_VERSION_META_KEY];
  if (version !== undefined && typeof version !== "string") {
    issues.push({ key: PROTOCOL_VERSION_META_KEY, problem: "expected a protocol version string" });
  }
  const caps = meta[CLIENT_CAPABILITIES_META_KEY];
  if (caps !== undefined) {
    const problem = capabilitiesProblem(caps);
    if (problem) issues.push({ key: CLIENT_CAPABILITIES_META_KEY, problem });
  }
  const info = meta[CLIENT_INFO_META_KEY];
  if (info !== undefined) {
    const problem = implementationProblem(info);
    if (problem) issues.push({ key: CLIENT_INFO_META_KEY, problem });
  }
  const level = meta[LOG_LEVEL_META_KEY];
  if (level !== undefined && !(typeof level === "string" && LOG_LEVELS.has(level))) {
    issues.push({
      key: LOG_LEVEL_META_KEY,
      problem: `expected one of ${[...LOG_LEVELS].join(", ")}`,
    });
  }
  const token = meta.progressToken;
  if (token !== undefined && typeof token !== "string" && typeof token !== "number") {
    issues.push({ key: "progressToken", problem: "expected a string or a number" });
  }
  return issues;
}

/** A notification's envelope: only the claim's type is checked (its other keys are optional). */
function claimIssue(meta: Readonly<Record<string, unknown>>): EnvelopeIssue | undefined {
  return typeof meta[PROTOCOL_VERSION_META_KEY] === "string"
    ? undefined
    : { key: PROTOCOL_VERSION_META_KEY, problem: "expected a protocol version string" };
}

/** The 2026 `ClientCapabilities` shape: known members typed; unknown ones are the client's own. */
function capabilitiesProblem(caps: unknown): string | undefined {
  if (!isObject(caps)) return "expected an object";
  for (const key of TYPED_CAPABILITIES) {
    if (caps[key] !== undefined && !isObject(caps[key])) return `${key}: expected an object`;
  }
  for (const key of CAPABILITY_RECORDS) {
    const record = caps[key];
    if (record === undefined) continue;
    if (!isObject(record)) return `${key}: expected an object`;
    for (const name in record) {
      if (!isObject(record[name])) return `${key}.${name}: expected an object`;
    }
  }
  const roots = caps.roots as Record<string, unknown> | undefined;
  if (roots?.listChanged !== undefined && typeof roots.listChanged !== "boolean") {
    return "roots.listChanged: expected a boolean";
  }
  return undefined;
}

/** The `Implementation` shape of `clientInfo`: a string name and version, optional strings beside. */
function implementationProblem(info: unknown): string | undefined {
  if (!isObject(info)) return "expected an object";
  if (typeof info.name !== "string") return "name: expected a string";
  if (typeof info.version !== "string") return "version: expected a string";
  for (const key of OPTIONAL_INFO_STRINGS) {
    if (info[key] !== undefined && typeof info[key] !== "string") {
      return `${key}: expected a string`;
    }
  }
  if (info.icons !== undefined && !Array.isArray(info.icons)) return "icons: expected an array";
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isId(value: unknown): value is JsonRpcId {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}
