/**
 * Row-level security end to end on real PostgreSQL: the demo policy
 * (examples/rls/policy.sql), a non-superuser role, `DB_IDENTITY_SETTINGS`,
 * and tokens for two customers. The model asking for another user's rows
 * gets none, through a tools-file tool and through `sql_query`; the setting
 * never outlives its transaction on a pooled connection.
 *
 * @module
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { createTestDatabase, postgresUnavailable, TEST_DATABASE_URL } from "./pg_fixture.ts";
import { createTestApp, postJson, type TestApp } from "../../harness.ts";
import { ISSUER, RESOURCE, signToken, startJwksServer, testKey } from "../../auth/jwks_server.ts";

const POLICY = await Deno.readTextFile(
  new URL("../../../examples/rls/policy.sql", import.meta.url),
);
const TOOLS = `tools:
  orders_of:
    kind: sql
    description: Orders of a customer.
    statement: SELECT id, customer_id FROM orders WHERE customer_id = :customer_id ORDER BY id
    parameters:
      customer_id: { type: integer, description: the customer }
`;

const key = await testKey("k1");

async function withRlsApp(fn: (app: TestApp, admin: postgres.Sql) => Promise<void>) {
  const db = await createTestDatabase();
  const role = `mcp_rls_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const jwks = startJwksServer([key]);
  const toolsFile = await Deno.makeTempFile({ suffix: ".yaml" });
  let app: TestApp | undefined;
  try {
    await db.admin.unsafe(POLICY);
    // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated role name, not input
    await db.admin.unsafe(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS;
      GRANT USAGE ON SCHEMA public TO ${role};
      GRANT SELECT ON customers, orders TO ${role}`);
    await Deno.writeTextFile(toolsFile, TOOLS);
    const url = new URL(db.url);
    url.username = role;
    app = await createTestApp({
      tools: [],
      env: {
        DB_URL: url.toString(),
        DB_POOL_SIZE: "1",
        DB_POOL_MAX_OVERFLOW: "0",
        DB_IDENTITY_SETTINGS: "app.user_id=sub",
        ENABLE_SQL_QUERY_TOOL: "true",
        SQL_QUERY_ALLOWED_FUNCTIONS: "current_setting",
        TOOLS_FILE: toolsFile,
        DEMO_TOOLS: "false",
        AUTH_MODE: "both",
        OAUTH_ISSUER: ISSUER,
        OAUTH_RESOURCE: RESOURCE,
        OAUTH_JWKS_URL: jwks.url,
      },
    });
    await fn(app, db.admin);
  } finally {
    await app?.close();
    await jwks.close();
    await Deno.remove(toolsFile);
    await db.drop();
    const cleanup = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated role name, not input
      await cleanup.unsafe(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await cleanup.end({ timeout: 1 });
    }
  }
}

async function rowsOf(res: Response): Promise<Record<string, unknown>[]> {
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).rows;
}

Deno.test({
  name: "row-level security: the model asking for another user's rows gets none",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    await withRlsApp(async (app, admin) => {
      const [{ n: all }] = await admin`SELECT count(*)::int AS n FROM orders WHERE customer_id = 1`;
      assert.ok(all > 0);
      const alice = await signToken(key, { sub: "1", scope: "tools:read sql:query" });
      // Her own orders.
      const own = await rowsOf(
        await postJson(app, "/v1/mcp/orders_of", { customer_id: 1 }, { key: alice }),
      );
      assert.equal(own.length, all);
      // Customer 2's orders, asked for by name: none.
      assert.deepEqual(
        await rowsOf(await postJson(app, "/v1/mcp/orders_of", { customer_id: 2 }, { key: alice })),
        [],
      );
      // The same through sql_query, however the SQL is written.
      for (
        const query of [
          "SELECT * FROM orders WHERE customer_id = 2",
          "SELECT count(*)::int AS n FROM orders WHERE customer_id <> 1",
          "SELECT * FROM customers WHERE id <> 1",
        ]
      ) {
        const rows = await rowsOf(
          await postJson(app, "/v1/mcp/sql_query", { query }, { key: alice }),
        );
        assert.ok(rows.length === 0 || rows[0].n === 0, `${query}: ${JSON.stringify(rows)}`);
      }
      const counted = await rowsOf(
        await postJson(
          app,
          "/v1/mcp/sql_query",
          { query: "SELECT count(*)::int AS n FROM orders" },
          {
            key: alice,
          },
        ),
      );
      assert.equal(counted[0].n, all);
    });
  },
});

Deno.test({
  name:
    "row-level security: no identity sees nothing, a hostile claim is a bound value, nothing leaks",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    await withRlsApp(async (app) => {
      // An API key has no end user: the setting is '' and matches no row.
      assert.deepEqual(
        await rowsOf(await postJson(app, "/v1/mcp/orders_of", { customer_id: 1 })),
        [],
      );
      // A subject that looks like SQL is only ever a value.
      const hostile = await signToken(key, { sub: "1' OR '1'='1" });
      assert.deepEqual(
        await rowsOf(
          await postJson(app, "/v1/mcp/orders_of", { customer_id: 1 }, { key: hostile }),
        ),
        [],
      );
      // One pooled connection: after a user's call, the next caller's session has no setting.
      const alice = await signToken(key, { sub: "1", scope: "tools:read sql:query" });
      const own = await rowsOf(
        await postJson(app, "/v1/mcp/orders_of", { customer_id: 1 }, { key: alice }),
      );
      assert.ok(own.length > 0);
      const seen = await rowsOf(
        await postJson(app, "/v1/mcp/sql_query", {
          query: "SELECT current_setting('app.user_id', true) AS v",
        }),
      );
      assert.ok(seen[0].v === "" || seen[0].v === null, JSON.stringify(seen));
      assert.deepEqual(
        await rowsOf(await postJson(app, "/v1/mcp/orders_of", { customer_id: 1 })),
        [],
      );
    });
  },
});
