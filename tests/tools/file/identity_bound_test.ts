/**
 * Identity-bound parameters (`from: claim sub`): filled from the verified
 * token, hidden from tools/list and OpenAPI, refused as an argument, and a
 * call without the identity refused before anything runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";
import type { SqlQuery, SqlSource } from "../../../src/sources/db/sql_source.ts";
import { createStatementGuard } from "../../../src/sources/db/statement_guard.ts";
import { loadToolsFile } from "../../../src/tools/file/load.ts";
import { createTestApp, errorOf, MCP_HEADERS, postJson, type TestApp } from "../../harness.ts";
import { ISSUER, RESOURCE, signToken, startJwksServer, testKey } from "../../auth/jwks_server.ts";

const guard = createStatementGuard(await createPgParser());

const FILE = `tools:
  my_orders:
    kind: sql
    description: The signed-in user's orders.
    statement: SELECT :user_id::text AS owner, :status::text AS status
    parameters:
      user_id: { type: string, description: the user, from: claim sub, max_length: 64 }
      status: { type: string, description: order status, required: false }
`;

function recordingSql(): SqlSource & { queries: SqlQuery[] } {
  const queries: SqlQuery[] = [];
  return {
    kind: "postgres",
    queries,
    query(query: SqlQuery) {
      queries.push(query);
      return Promise.resolve({ rows: [{ values: query.values }] });
    },
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  } as unknown as SqlSource & { queries: SqlQuery[] };
}

const key = await testKey("k1");

async function withApp(fn: (app: TestApp, sql: ReturnType<typeof recordingSql>) => Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, FILE);
  const jwks = startJwksServer([key]);
  const sql = recordingSql();
  const app = await createTestApp({
    tools: [],
    sql,
    env: {
      TOOLS_FILE: path,
      AUTH_MODE: "both",
      OAUTH_ISSUER: ISSUER,
      OAUTH_RESOURCE: RESOURCE,
      OAUTH_JWKS_URL: jwks.url,
    },
  });
  try {
    await fn(app, sql);
  } finally {
    await app.close();
    await jwks.close();
    await Deno.remove(path);
  }
}

Deno.test("tools file: from: claim must name a claim, on a required string parameter", () => {
  const bad = (param: string) =>
    loadToolsFile(
      `tools:\n  t:\n    kind: sql\n    description: d\n    statement: SELECT :u::text\n    parameters:\n      u: ${param}\n`,
      { env: {}, guard },
    );
  assert.ok(!bad("{ type: string, description: u, from: header x }").ok);
  assert.ok(!bad("{ type: integer, description: u, from: claim sub }").ok);
  assert.ok(!bad("{ type: string, description: u, from: claim sub, default: x }").ok);
  assert.ok(!bad("{ type: string, description: u, from: claim sub, required: false }").ok);
  assert.ok(bad("{ type: string, description: u, from: claim tenant_id }").ok);
});

Deno.test("an identity-bound parameter takes the token's claim and is hidden from listings", async () => {
  await withApp(async (app, sql) => {
    const token = await signToken(key, { sub: "alice" });
    const res = await postJson(app, "/v1/mcp/my_orders", { status: "open" }, { key: token });
    assert.equal(res.status, 200);
    assert.deepEqual(sql.queries.at(-1)!.values, ["alice", "open"]);
    await res.body?.cancel();
    const list = await app.request("/mcp", {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    const [tool] = (await list.json()).result.tools;
    assert.deepEqual(Object.keys(tool.inputSchema.properties), ["status", "cursor"]);
    assert.ok(!JSON.stringify(tool).includes("user_id"));
    const openapi = await (await app.request("/openapi.json", { key: null })).text();
    assert.ok(openapi.includes("my_orders"));
    assert.ok(!openapi.includes("user_id"));
  });
});

Deno.test("an argument trying to set an identity-bound parameter is refused, nothing runs", async () => {
  await withApp(async (app, sql) => {
    const token = await signToken(key, { sub: "alice" });
    const res = await postJson(app, "/v1/mcp/my_orders", { user_id: "bob" }, { key: token });
    assert.equal(res.status, 400);
    const error = await errorOf(res);
    assert.deepEqual(error.details, [{ field: "user_id", message: "Unknown field" }]);
    assert.equal(sql.queries.length, 0);
  });
});

Deno.test("a call without the bound claim is refused before the tool runs", async () => {
  await withApp(async (app, sql) => {
    // An API key has no end user.
    const byKey = await postJson(app, "/v1/mcp/my_orders", {});
    assert.equal(byKey.status, 403);
    assert.match((await errorOf(byKey)).error, /acts for a signed-in user.*"sub"/);
    // A client-credentials token has no subject.
    const noSub = await postJson(app, "/v1/mcp/my_orders", {}, {
      key: await signToken(key, { sub: null as unknown as string }),
    });
    assert.equal(noSub.status, 403);
    await noSub.body?.cancel();
    // On the MCP door too.
    const mcp = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "my_orders", arguments: {} },
      }),
    });
    assert.equal(mcp.status, 403);
    await mcp.body?.cancel();
    // A claim over the parameter's own bounds is no identity either.
    const long = await postJson(app, "/v1/mcp/my_orders", {}, {
      key: await signToken(key, { sub: "x".repeat(65) }),
    });
    assert.equal(long.status, 403);
    await long.body?.cancel();
    assert.equal(sql.queries.length, 0);
  });
});
