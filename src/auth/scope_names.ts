/**
 * Scope names and the default a tool needs. Imports nothing: `config/`
 * validates scope lists with this pattern, and config must import nothing
 * above it (it used to reach the pattern through `auth/scopes.ts`, which
 * imports the tool layer, which imports the logger, which imports config).
 *
 * @module
 */

/**
 * Scope names: `word` or `word:word`, as OAuth scope tokens go, without spaces or quotes.
 *
 * @example
 * ```ts
 * import { SCOPE_PATTERN } from "./scope_names.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(SCOPE_PATTERN.test("sql:query"));
 * assert.ok(!SCOPE_PATTERN.test("sql query"));
 * ```
 */
export const SCOPE_PATTERN = /^[a-z][a-z0-9_.-]{0,31}(:[a-z0-9_.*-]{1,32})?$/;

/** What a tool that declares no scopes needs. */
export const DEFAULT_TOOL_SCOPES: readonly string[] = Object.freeze(["tools:read"]);
