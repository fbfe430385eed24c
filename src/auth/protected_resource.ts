/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata: the document a client
 * fetches to learn which authorization server issues tokens for this server,
 * and the `WWW-Authenticate` challenges (401, and 403 `insufficient_scope`)
 * that point to it, as the MCP authorization spec words them.
 *
 * @module
 */
import type { OAuthConfig } from "../config/env.ts";

/** The path of the metadata; RFC 9728 §3.1 appends the resource's path to it. */
export const METADATA_PATH = "/.well-known/oauth-protected-resource";

/**
 * Where the metadata of `resource` lives: the well-known path inserted
 * between the resource's origin and its path (RFC 9728 §3.1).
 *
 * @example
 * ```ts
 * import { resourceMetadataUrl } from "./protected_resource.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   resourceMetadataUrl("https://mcp.example.com/mcp"),
 *   "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
 * );
 * assert.equal(
 *   resourceMetadataUrl("https://mcp.example.com"),
 *   "https://mcp.example.com/.well-known/oauth-protected-resource",
 * );
 * ```
 */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return `${url.origin}${METADATA_PATH}${path}`;
}

/**
 * The metadata document.
 *
 * @example
 * ```ts
 * import { protectedResourceMetadata } from "./protected_resource.ts";
 * import assert from "node:assert/strict";
 *
 * const doc = protectedResourceMetadata(
 *   { resource: "https://mcp.example.com/mcp", authorizationServers: ["https://id.example.com"] },
 *   ["tools:read"],
 * );
 * assert.equal(doc.resource, "https://mcp.example.com/mcp");
 * assert.deepEqual(doc.bearer_methods_supported, ["header"]);
 * ```
 */
export function protectedResourceMetadata(
  oauth:
    & Pick<OAuthConfig, "resource" | "authorizationServers">
    & Partial<Pick<OAuthConfig, "algorithms">>,
  scopes: readonly string[],
): Record<string, unknown> {
  return {
    resource: oauth.resource,
    authorization_servers: [...oauth.authorizationServers],
    scopes_supported: [...scopes],
    bearer_methods_supported: ["header"],
    ...(oauth.algorithms ? { resource_signing_alg_values_supported: [...oauth.algorithms] } : {}),
    resource_name: "mcp-tool-server",
  };
}

/**
 * The `WWW-Authenticate` value of a 401 (`error` only when a token was
 * presented and refused, as RFC 6750 §3.1 has it) or of a 403.
 *
 * @example
 * ```ts
 * import { bearerChallenge } from "./protected_resource.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   bearerChallenge("https://m.example/.well-known/oauth-protected-resource", { error: "invalid_token" }),
 *   'Bearer realm="mcp-tool-server", resource_metadata="https://m.example/.well-known/oauth-protected-resource", error="invalid_token"',
 * );
 * ```
 */
export function bearerChallenge(
  metadataUrl: string | undefined,
  extra: { readonly error?: string; readonly scope?: string } = {},
): string {
  let value = 'Bearer realm="mcp-tool-server"';
  if (metadataUrl !== undefined) value += `, resource_metadata="${metadataUrl}"`;
  if (extra.error !== undefined) value += `, error="${extra.error}"`;
  if (extra.scope !== undefined) value += `, scope="${extra.scope}"`;
  return value;
}
