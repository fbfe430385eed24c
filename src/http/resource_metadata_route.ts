/**
 * `GET /.well-known/oauth-protected-resource` (and the same with the
 * resource's path appended, RFC 9728 §3.1): the Protected Resource Metadata
 * of this server, without a key. Scopes listed are the token scopes that
 * count (`OAUTH_SCOPE_MAP`'s names, else the tools' own scopes).
 *
 * @module
 */
import type { OAuthConfig } from "../config/env.ts";
import { protectedResourceMetadata } from "../auth/protected_resource.ts";
import { requiredScopes } from "../auth/scopes.ts";
import type { Registry } from "../tools/registry.ts";
import type { Handler } from "./context.ts";
import { jsonResponse } from "./responses.ts";

/** Builds the handler; the scope list follows the registry across reloads. */
export function resourceMetadataRoute(oauth: OAuthConfig, registry: Registry): Handler {
  return function resourceMetadata() {
    const scopes = oauth.scopeMap
      ? Object.keys(oauth.scopeMap)
      : [...new Set(registry.tools.flatMap((tool) => requiredScopes(tool)))];
    const response = jsonResponse(protectedResourceMetadata(oauth, scopes.sort()));
    response.headers.set("cache-control", "public, max-age=300");
    return Promise.resolve(response);
  };
}
