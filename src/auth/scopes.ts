/**
 * Per-tool scopes. A tool needs every scope it declares, or `tools:read` when
 * it declares none (so a key limited to, say, `sql:query` cannot call the
 * other tools just because their authors said nothing). A key with no scope
 * list may call every tool: the behaviour before scopes existed.
 *
 * @module
 */
import type { Principal } from "./principal.ts";
import type { Tool } from "../tools/define.ts";
import { ToolError } from "../tools/errors.ts";
import { DEFAULT_TOOL_SCOPES } from "./scope_names.ts";
import { bearerChallenge } from "./protected_resource.ts";

export { DEFAULT_TOOL_SCOPES, SCOPE_PATTERN } from "./scope_names.ts";

/** The scopes a call of `tool` needs. */
export function requiredScopes(tool: Pick<Tool, "scopes">): readonly string[] {
  return tool.scopes ?? DEFAULT_TOOL_SCOPES;
}

/** Whether `principal` may call `tool`. */
export function mayCall(principal: Principal, tool: Pick<Tool, "scopes">): boolean {
  const held = principal.scopes;
  if (held === undefined) return true;
  for (const scope of requiredScopes(tool)) if (!held.has(scope)) return false;
  return true;
}

/**
 * The 403 for a key or token that lacks a tool's scopes, on both doors: the
 * MCP authorization spec's `WWW-Authenticate: Bearer error="insufficient_scope"`
 * naming the scopes the call needs, and the resource metadata when tokens
 * are accepted (so a client knows where to ask for more).
 */
export function insufficientScope(
  tool: Pick<Tool, "name" | "scopes">,
  principal?: Pick<Principal, "via">,
  metadataUrl?: string,
): ToolError {
  const scopes = requiredScopes(tool).join(" ");
  const holder = principal?.via === "token" ? "This token" : "This API key";
  return new ToolError("forbidden", `${holder} may not call ${tool.name}: it needs ${scopes}`, {
    headers: {
      "www-authenticate": bearerChallenge(metadataUrl, {
        error: "insufficient_scope",
        scope: scopes,
      }),
    },
  });
}
