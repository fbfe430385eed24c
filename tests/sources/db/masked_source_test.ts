import assert from "node:assert/strict";
import { z } from "zod";
import { parseColumnPolicies } from "../../../src/config/column_policies.ts";
import { maskColumns } from "../../../src/sources/db/masked_source.ts";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";
import { openPgliteWorker } from "../../../src/sources/db/pglite_worker.ts";
import { openPostgres } from "../../../src/sources/db/postgres.ts";
import {
  DatabaseError,
  sql,
  type SqlQuery,
  type SqlResult,
  type SqlSource,
} from "../../../src/sources/db/sql_source.ts";
import { defineTool } from "../../../src/tools/define.ts";
import { createTestApp, postJson, SECONDARY_KEY } from "../../harness.ts";
import { columnMaskingSuite, MASKING_ENV, MASKING_FIXTURE_SQL } from "./masked_source_suite.ts";
import { createTestDatabase, postgresUnavailable } from "./pg_fixture.ts";

Deno.test({
  name: "column policies on PostgreSQL",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    await db.admin.unsafe(MASKING_FIXTURE_SQL);
    try {
      await columnMaskingSuite(
        t,
        (env = {}) => createTestApp({ tools: [], env: { DB_URL: db.url, ...MASKING_ENV, ...env } }),
      );
    } finally {
      await db.drop();
    }
  },
});

Deno.test("column policies on the embedded database (PGlite in its worker)", async (t) => {
  const source = await openPgliteWorker({
    limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
    queryTimeoutMs: 5000,
    setupSql: MASKING_FIXTURE_SQL,
  });
  try {
    await columnMaskingSuite(
      t,
      (env = {}) => createTestApp({ tools: [], env: { ...MASKING_ENV, ...env }, sql: source }),
    );
  } finally {
    await source.close();
  }
});

const POSTGRES_OPTIONS = {
  poolSize: 2,
  poolMaxOverflow: 0,
  recycleSeconds: 1800,
  idleTimeoutSeconds: 60,
  connectTimeoutSeconds: 3,
  queryTimeoutMs: 5_000,
  limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
};

Deno.test({
  name: "maskColumns(): a view made after the start is refused once the catalog is read again",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const source = maskColumns(openPostgres({ url: db.url, ...POSTGRES_OPTIONS }), {
      policies: parseColumnPolicies("customers.email=deny"),
      hashKey: "k".repeat(32),
      parser: await createPgParser(),
      rereadMs: 0,
    });
    try {
      await source.ready();
      await db.admin.unsafe("CREATE VIEW late_emails AS SELECT email FROM customers");
      await assert.rejects(
        () => source.query(sql`SELECT * FROM late_emails`),
        (error: unknown) =>
          error instanceof DatabaseError && error.kind === "refused" &&
          /late_emails.*reads public\.customers/.test(error.message),
      );
      // A column added since the read stays hidden until the next one (the subquery lists columns).
      await db.admin.unsafe("ALTER TABLE customers ADD COLUMN secret text DEFAULT 'raw'");
      const { rows } = await source.query(sql`SELECT * FROM customers LIMIT 1`);
      assert.deepEqual(Object.keys(rows[0]), ["id", "name", "created_at"]);
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test("maskColumns(): until the catalog can be read, statements are refused as unavailable", async () => {
  let down = true;
  const inner: SqlSource = {
    kind: "postgres",
    query<R>(q: SqlQuery): Promise<SqlResult<R>> {
      if (down) return Promise.reject(new DatabaseError("unavailable", "connection refused"));
      if (q.text.includes("pg_class")) {
        return Promise.resolve({
          rows: [{ oid: 7, schema: "public", name: "customers", visible: true }] as R[],
        });
      }
      if (q.text.includes("pg_attribute")) {
        return Promise.resolve({ rows: [{ oid: 7, name: "id" }, { oid: 7, name: "ssn" }] as R[] });
      }
      return Promise.resolve({ rows: [{ text: q.text }] as R[] });
    },
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const source = maskColumns(inner, {
    policies: parseColumnPolicies("customers.ssn=deny"),
    liftedBy: "pii:read",
    hashKey: "k".repeat(32),
    parser: await createPgParser(),
  });
  await assert.rejects(source.ready(), /connection refused/);
  await assert.rejects(
    () => source.query(sql`SELECT * FROM customers`),
    (error: unknown) => error instanceof DatabaseError && error.kind === "unavailable",
  );
  down = false;
  const masked = await source.query<{ text: string }>(sql`SELECT * FROM customers`);
  assert.equal(
    masked.rows[0].text,
    'SELECT * FROM (SELECT "id" FROM "public"."customers") AS "customers"',
  );
  const lifted = await source.query<{ text: string }>(sql`SELECT * FROM customers`, {
    scopes: new Set(["pii:read"]),
  });
  assert.equal(lifted.rows[0].text, "SELECT * FROM customers");
  const unscoped = await source.query<{ text: string }>(sql`SELECT * FROM customers`, {
    scopes: new Set(["tools:read"]),
  });
  assert.notEqual(unscoped.rows[0].text, "SELECT * FROM customers");
});

Deno.test({
  name: "column policies reach a code tool's own SQL",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const customer = defineTool({
      name: "customer_row",
      description: "A customer row",
      input: z.strictObject({ id: z.int() }),
      async handler({ id }, ctx) {
        return (await ctx.sql.query(sql`SELECT * FROM customers WHERE id = ${id}`)).rows[0];
      },
    });
    const app = await createTestApp({
      tools: [customer],
      env: { DB_URL: db.url, SQL_COLUMN_POLICIES: "customers.email=mask,customers.name=deny" },
    });
    try {
      const res = await postJson(app, "/v1/mcp/customer_row", { id: 4 });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.email, "c***@example.com");
      assert.equal("name" in body, false);
    } finally {
      await app.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "column policies reach a tools-file tool on the server's own database",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const path = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      path,
      `tools:
  customer_contact:
    kind: sql
    description: One customer's contact.
    statement: SELECT id, name, email FROM customers WHERE id = :id
    parameters:
      id: { type: integer, description: The customer }
`,
    );
    const app = await createTestApp({
      tools: [],
      env: {
        DB_URL: db.url,
        TOOLS_FILE: path,
        SQL_COLUMN_POLICIES: "customers.email=last4,customers.name=hash",
      },
    });
    try {
      const res = await postJson(app, "/v1/mcp/customer_contact", { id: 12 });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.rows[0].email, "***.com");
      assert.match(body.rows[0].name, /^[0-9a-f]{32}$/);
    } finally {
      await app.close();
      await db.drop();
      await Deno.remove(path);
    }
  },
});

Deno.test({
  name: "a tools file's postgres source takes its own column_policies",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const path = await Deno.makeTempFile({ suffix: ".yaml" });
    const file = (policies: string) =>
      Deno.writeTextFile(
        path,
        `sources:
  crm:
    kind: postgres
    url: ${db.url}
    column_policies: ${policies}
    column_policies_lifted_by: crm:pii
tools:
  crm_contact:
    kind: sql
    source: crm
    description: One customer's contact.
    statement: SELECT c.* FROM customers c WHERE id = :id
    parameters:
      id: { type: integer, description: The customer }
`,
      );
    try {
      await file("customers.email=mask, customers.name=deny");
      const app = await createTestApp({
        tools: [],
        env: {
          TOOLS_FILE: path,
          API_KEY_SECONDARY_SCOPES: "tools:read,crm:pii",
          ENVIRONMENT: "development",
        },
      });
      try {
        const masked = await (await postJson(app, "/v1/mcp/crm_contact", { id: 7 })).json();
        assert.equal(masked.rows[0].email, "c***@example.com");
        assert.equal("name" in masked.rows[0], false);
        const lifted = await (await postJson(app, "/v1/mcp/crm_contact", { id: 7 }, {
          key: SECONDARY_KEY,
        })).json();
        assert.equal(lifted.rows[0].email, "customer7@example.com");
      } finally {
        await app.close();
      }
      await file("customers.mail=mask");
      await assert.rejects(
        () => createTestApp({ tools: [], env: { TOOLS_FILE: path } }),
        /sources\.crm\.column_policies names the column "mail"/,
      );
      await file("customers.email=show");
      await assert.rejects(
        () => createTestApp({ tools: [], env: { TOOLS_FILE: path } }),
        /column_policies.*deny, mask, last4 or hash/,
      );
    } finally {
      await db.drop();
      await Deno.remove(path);
    }
  },
});
