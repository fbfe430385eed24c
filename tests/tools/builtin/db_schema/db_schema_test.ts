import assert from "node:assert/strict";
import { openPgliteWorker } from "../../../../src/sources/db/pglite_worker.ts";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  createTestApp,
  mcpToolCall,
  postJson,
  PRIMARY_KEY,
  serveOnLoopback,
} from "../../../harness.ts";
import { createTestDatabase, postgresUnavailable } from "../../../sources/db/pg_fixture.ts";
import { dbSchemaSuite, SCHEMA_FIXTURE_SQL } from "./db_schema_suite.ts";

const ENV = {
  ENABLE_DB_SCHEMA_TOOLS: "true",
  DB_QUERY_TIMEOUT_SECONDS: "2",
  TOOL_TIMEOUT_SECONDS: "5",
};

Deno.test({
  name: "database toolset on PostgreSQL",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    await db.admin.unsafe(SCHEMA_FIXTURE_SQL);
    try {
      await dbSchemaSuite(
        t,
        (env = {}) => createTestApp({ tools: [], env: { DB_URL: db.url, ...ENV, ...env } }),
      );
    } finally {
      await db.drop();
    }
  },
});

Deno.test("database toolset on the embedded database (PGlite in its worker)", async (t) => {
  const source = await openPgliteWorker({
    limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
    queryTimeoutMs: 2000,
    setupSql: SCHEMA_FIXTURE_SQL,
  });
  try {
    await dbSchemaSuite(
      t,
      (env = {}) => createTestApp({ tools: [], env: { ...ENV, ...env }, sql: source }),
    );
  } finally {
    await source.close();
  }
});

Deno.test({
  name: "database toolset on PostgreSQL: a table the role may not SELECT is not there",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const role = `mcp_schema_ro_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
    await db.admin.unsafe(SCHEMA_FIXTURE_SQL);
    // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated role name, not input
    await db.admin.unsafe(`CREATE ROLE ${role} LOGIN;
      GRANT USAGE ON SCHEMA public TO ${role};
      GRANT SELECT ON customers TO ${role};
      GRANT SELECT ON sales.leads TO ${role};`);
    const url = new URL(db.url);
    url.username = role;
    const app = await createTestApp({ tools: [], env: { DB_URL: url.toString(), ...ENV } });
    const call = async (tool: string, input: unknown) => {
      const res = await postJson(app, `/v1/mcp/${tool}`, input);
      return { status: res.status, body: await res.json() };
    };
    try {
      const tables = await call("list_tables", {});
      assert.deepEqual(
        tables.body.tables.map((x: { schema: string; name: string }) => `${x.schema}.${x.name}`),
        ["public.customers"],
      );
      // sales.leads is granted, but its schema is not: it cannot be read, so it is not listed.
      const schemas = await call("list_schemas", {});
      assert.deepEqual(schemas.body.schemas.map((s: { name: string }) => s.name), ["public"]);
      assert.equal((await call("describe_table", { table: "orders" })).status, 404);
      assert.equal((await call("sample_rows", { table: "orders" })).status, 404);
      assert.equal((await call("describe_table", { schema: "sales", table: "leads" })).status, 404);
      const customers = await call("describe_table", { table: "customers" });
      assert.deepEqual(customers.body.referenced_by, []);
      assert.equal((await call("sample_rows", { table: "customers", limit: 2 })).status, 200);
    } finally {
      await app.close();
      await db.drop();
      await dropRole(role);
    }
  },
});

async function dropRole(role: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const { TEST_DATABASE_URL } = await import("../../../sources/db/pg_fixture.ts");
  const server = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated role name, not input
    await server.unsafe(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await server.end({ timeout: 1 });
  }
}

Deno.test("database toolset through the MCP door: from list_tables to a correct sql_query", async () => {
  const app = await createTestApp({
    tools: [],
    env: { ...ENV, ENABLE_SQL_QUERY_TOOL: "true" },
  });
  const result = async (tool: string, args: unknown) => {
    const res = await mcpToolCall(app, tool, args);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.result.isError, undefined, JSON.stringify(body));
    return JSON.parse(body.result.content[0].text);
  };
  try {
    const { tables } = await result("list_tables", {});
    const orders = tables.find((t: { name: string }) => t.name === "orders");
    const described = await result("describe_table", { table: orders.name });
    const fk = described.foreign_keys[0];
    assert.deepEqual(fk.references, { schema: "public", table: "customers", columns: ["id"] });
    // The model now knows the join and writes it.
    const query =
      `SELECT c.name, count(*)::int AS n FROM ${orders.name} o JOIN ${fk.references.table} c ` +
      `ON c.${fk.references.columns[0]} = o.${
        fk.columns[0]
      } GROUP BY c.name ORDER BY n DESC, c.name LIMIT 3`;
    const plan = await result("explain_query", { query });
    assert.equal(typeof plan.plan["Node Type"], "string");
    const answer = await result("sql_query", { query });
    assert.equal(answer.row_count, 3);
  } finally {
    await app.close();
  }
});

Deno.test("the official v2 MCP client (auto mode) walks an unknown schema to a masked answer", async () => {
  const app = await createTestApp({
    tools: [],
    env: { ...ENV, ENABLE_SQL_QUERY_TOOL: "true", SQL_COLUMN_POLICIES: "customers.email=mask" },
  });
  const server = serveOnLoopback(app);
  const client = new Client({ name: "schema-walk", version: "1.0.0" }, {
    versionNegotiation: { mode: "auto" },
  });
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${PRIMARY_KEY}` } },
      }),
    );
    const structured = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      return result.structuredContent as Record<string, unknown>;
    };
    const { tables } = await structured("list_tables", {}) as { tables: { name: string }[] };
    assert.ok(tables.some((t) => t.name === "orders"));
    const orders = await structured("describe_table", { table: "orders" }) as {
      foreign_keys: { columns: string[]; references: { table: string; columns: string[] } }[];
    };
    const fk = orders.foreign_keys[0];
    const customers = await structured("describe_table", { table: fk.references.table }) as {
      columns: { name: string; policy?: string }[];
    };
    assert.equal(customers.columns.find((c) => c.name === "email")?.policy, "mask");
    const answer = await structured("sql_query", {
      query: `SELECT c.email, count(*)::int AS n FROM orders o JOIN ${fk.references.table} c ` +
        `ON c.${fk.references.columns[0]} = o.${
          fk.columns[0]
        } GROUP BY c.id, c.email ORDER BY n DESC LIMIT 3`,
    }) as { rows: { email: string; n: number }[] };
    assert.equal(answer.rows.length, 3);
    for (const row of answer.rows) assert.match(row.email, /^c\*\*\*@example\.com$/);
  } finally {
    await client.close();
    await server.stop();
    await app.close();
  }
});
