import assert from "node:assert/strict";
import {
  DEFAULT_TOOL_SCOPES,
  insufficientScope,
  mayCall,
  requiredScopes,
  SCOPE_PATTERN,
} from "../../src/auth/scopes.ts";

Deno.test("a tool that declares no scopes needs tools:read", () => {
  assert.deepEqual(requiredScopes({}), ["tools:read"]);
  assert.deepEqual(requiredScopes({ scopes: ["sql:query"] }), ["sql:query"]);
  assert.equal(DEFAULT_TOOL_SCOPES, requiredScopes({}));
});

Deno.test("mayCall(): no scope list allows all; a list must hold every scope the tool needs", () => {
  const tool = { scopes: ["sql:query", "pii:read"] };
  assert.equal(mayCall({ id: "a" }, tool), true);
  assert.equal(mayCall({ id: "a", scopes: new Set(["sql:query"]) }, tool), false);
  assert.equal(mayCall({ id: "a", scopes: new Set(["sql:query", "pii:read", "x"]) }, tool), true);
  assert.equal(mayCall({ id: "a", scopes: new Set(["sql:query"]) }, {}), false, "tools:read");
  assert.equal(mayCall({ id: "a", scopes: new Set(["tools:read"]) }, {}), true);
});

Deno.test("insufficientScope() is a 403 with the MCP spec's WWW-Authenticate", () => {
  const error = insufficientScope({ name: "sql_query", scopes: ["sql:query", "pii:read"] });
  assert.equal(error.status, "forbidden");
  assert.equal(error.httpStatus, 403);
  assert.equal(
    error.headers?.["www-authenticate"],
    'Bearer realm="mcp-tool-server", error="insufficient_scope", scope="sql:query pii:read"',
  );
});

Deno.test("SCOPE_PATTERN takes OAuth-style tokens and nothing that could break the header", () => {
  for (const ok of ["tools:read", "sql:query", "admin", "docs.v2:read-all", "orders:*"]) {
    assert.match(ok, SCOPE_PATTERN);
  }
  for (const bad of ["", "Tools:read", "a b", 'x"y', "a:b:c", "a\\b", ":read", "x".repeat(40)]) {
    assert.doesNotMatch(bad, SCOPE_PATTERN, bad);
  }
});
