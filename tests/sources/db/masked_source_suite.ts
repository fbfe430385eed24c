/**
 * Column policies against every way around them, run on PostgreSQL and on
 * the embedded database alike (masked_source_test.ts): `sql_query`, the
 * database toolset and a code tool, through the REST door.
 *
 * @module
 */
import assert from "node:assert/strict";
import { postJson, SECONDARY_KEY, type TestApp } from "../../harness.ts";

/** On top of the demo data (run as the owner): the columns, and relations that read them. */
export const MASKING_FIXTURE_SQL = `
ALTER TABLE customers ADD COLUMN tax_id text, ADD COLUMN phone text;
UPDATE customers SET tax_id = 'TAX-' || lpad(id::text, 6, '0'),
  phone = '+1 555 010 ' || lpad(id::text, 4, '0');
CREATE VIEW customer_contacts AS SELECT id, email FROM customers;
CREATE VIEW contacts_again AS SELECT * FROM customer_contacts;
CREATE VIEW harmless AS SELECT id, amount FROM orders;
CREATE MATERIALIZED VIEW customer_emails AS SELECT email FROM customers;
CREATE TABLE vip_customers (level integer) INHERITS (customers);
INSERT INTO vip_customers (id, name, email, created_at, tax_id, level)
  VALUES (5001, 'Vera Vip', 'vera.vip@example.org', now(), 'TAX-VIP', 1);
CREATE SCHEMA other;
CREATE TABLE other.customers (id integer, email text);
INSERT INTO other.customers VALUES (1, 'plain@other.example');
`;

/** The environment the suite's apps run with. */
export const MASKING_ENV: Record<string, string> = {
  ENABLE_SQL_QUERY_TOOL: "true",
  ENABLE_DB_SCHEMA_TOOLS: "true",
  SQL_COLUMN_POLICIES:
    "customers.email=mask, customers.tax_id=deny, customers.name=hash, customers.phone=last4",
  SQL_COLUMN_POLICIES_LIFTED_BY: "pii:read",
  SQL_HASH_KEY: "a-test-hash-key-of-at-least-32-characters",
  API_KEY_PRIMARY_SCOPES: "tools:read,sql:query,db:schema",
  API_KEY_SECONDARY_SCOPES: "tools:read,sql:query,db:schema,pii:read",
  DB_QUERY_TIMEOUT_SECONDS: "5",
  TOOL_TIMEOUT_SECONDS: "10",
};

/** Builds an app on the suite's database with `env` on top of {@linkcode MASKING_ENV}. */
export type OpenApp = (env?: Record<string, string>) => Promise<TestApp>;

type Body = Record<string, unknown> & { error?: string; rows?: Record<string, unknown>[] };

async function call(app: TestApp, tool: string, input: unknown, key?: string) {
  const res = await postJson(app, `/v1/mcp/${tool}`, input, key ? { key } : {});
  return { status: res.status, body: await res.json() as Body };
}

/** The values no masked answer may carry. */
const RAW = [/[a-z0-9.]{2,}@example\.(com|org)/i, /TAX-\d/, /TAX-VIP/, /555 010/];

function assertNoRaw(where: string, body: unknown): void {
  const text = JSON.stringify(body);
  // A masked email keeps its first letter and domain by design (c***@example.com).
  for (const raw of RAW) assert.doesNotMatch(text, raw, `${where}: ${text}`);
}

/** Runs the suite against `open`. */
export async function columnMaskingSuite(t: Deno.TestContext, open: OpenApp): Promise<void> {
  const app = await open();
  const sqlQuery = (sql: string, key?: string, params?: Record<string, unknown>) =>
    call(app, "sql_query", params === undefined ? { query: sql } : { query: sql, params }, key);
  try {
    await t.step(
      "SELECT * shows masked, hashed and last-4 values and no denied column",
      async () => {
        const { status, body } = await sqlQuery("SELECT * FROM customers WHERE id = 1");
        assert.equal(status, 200, JSON.stringify(body));
        const row = body.rows![0];
        assert.deepEqual(Object.keys(row), ["id", "name", "email", "created_at", "phone"]);
        assert.match(String(row.email), /^[a-z]\*\*\*@example\.(com|org)$/);
        assert.match(String(row.name), /^[0-9a-f]{32}$/);
        assert.equal(row.phone, "***0001");
        assertNoRaw("select *", body);
      },
    );

    await t.step("a caller with the lifting scope reads the columns as they are", async () => {
      const { status, body } = await sqlQuery(
        "SELECT email, tax_id, name FROM customers WHERE id = 1",
        SECONDARY_KEY,
      );
      assert.equal(status, 200, JSON.stringify(body));
      assert.match(String(body.rows![0].email), /^customer1@example\.com$/);
      assert.equal(body.rows![0].tax_id, "TAX-000001");
    });

    const leaks: [string, string][] = [
      ["whole row as JSON", "SELECT row_to_json(c) AS r FROM customers c WHERE id < 5"],
      ["whole row as text", "SELECT c::text AS r FROM customers c WHERE id < 5"],
      ["to_jsonb", "SELECT to_jsonb(c) AS r FROM customers AS c LIMIT 3"],
      ["json_agg of the table", "SELECT json_agg(customers) AS r FROM customers WHERE id < 4"],
      ["string_agg", "SELECT string_agg(email, ',') AS r FROM customers"],
      ["scalar subquery", "SELECT (SELECT email FROM customers ORDER BY id LIMIT 1) AS r"],
      ["CTE", "WITH x AS (SELECT * FROM customers) SELECT * FROM x LIMIT 3"],
      ["derived table", "SELECT * FROM (SELECT * FROM customers) s LIMIT 3"],
      ["schema-qualified", "SELECT * FROM public.customers LIMIT 3"],
      ["spaced, quoted, commented name", 'SELECT * FROM PUBLIC /* x */ . "customers" LIMIT 3'],
      ["upper case", "SELECT EMAIL FROM CUSTOMERS LIMIT 3"],
      ["join", "SELECT c.email FROM orders o JOIN customers c ON c.id = o.customer_id LIMIT 3"],
      [
        "lateral",
        "SELECT x.* FROM orders o, LATERAL (SELECT email FROM customers WHERE id = o.customer_id) x LIMIT 2",
      ],
      ["union", "SELECT email FROM customers UNION ALL SELECT 'z' LIMIT 3"],
      [
        "in a function argument",
        "SELECT upper(email) AS u, md5(email) AS m FROM customers LIMIT 2",
      ],
      ["exists", "SELECT id FROM customers WHERE email LIKE '%.%@%' LIMIT 3"],
      ["array_agg of rows", "SELECT array_agg(c) AS r FROM customers c WHERE id < 3"],
      [
        "the inheritance child's rows through the parent",
        "SELECT * FROM customers WHERE id = 5001",
      ],
      ["natural join", "SELECT * FROM customers NATURAL JOIN customers AS c2 LIMIT 2"],
      ["ordering", "SELECT id FROM customers ORDER BY email LIMIT 3"],
    ];
    for (const [name, sql] of leaks) {
      await t.step(`no leak: ${name}`, async () => {
        const { status, body } = await sqlQuery(sql);
        assert.equal(status, 200, `${sql}: ${JSON.stringify(body)}`);
        assertNoRaw(name, body);
      });
    }

    await t.step("a filter sees the masked value: no oracle on the raw one", async () => {
      const raw = await sqlQuery("SELECT email FROM customers WHERE id = 2", SECONDARY_KEY);
      const email = String(raw.body.rows![0].email);
      const { body } = await sqlQuery(
        "SELECT count(*) AS n FROM customers WHERE email = :email",
        undefined,
        { email },
      );
      assert.equal(Number(body.rows![0].n), 0);
      const prefix = await sqlQuery(
        "SELECT count(*) AS n FROM customers WHERE email LIKE :p",
        undefined,
        { p: email.slice(0, 3) + "%" },
      );
      assert.equal(Number(prefix.body.rows![0].n), 0);
    });

    await t.step("an error message shows the masked value, never the raw one", async () => {
      const { status, body } = await sqlQuery("SELECT email::integer FROM customers WHERE id = 3");
      assert.equal(status, 400);
      assertNoRaw("cast error", body);
      assert.match(String(body.error), /\*\*\*@/);
    });

    // 400: the database's own complaint (the column is not there); 403: the policy's refusal.
    const refusals: [string, string, number, RegExp][] = [
      ["the denied column", "SELECT tax_id FROM customers", 400, /tax_id/],
      [
        "a filter on the denied column",
        "SELECT id FROM customers WHERE tax_id = 'x'",
        400,
        /tax_id/,
      ],
      ["a view over the table", "SELECT * FROM customer_contacts", 403, /customer_contacts.*reads/],
      ["a view over that view", "SELECT * FROM contacts_again", 403, /contacts_again.*reads/],
      ["a materialized view", "SELECT * FROM customer_emails", 403, /customer_emails.*reads/],
      ["an inheritance child", "SELECT * FROM vip_customers", 403, /vip_customers.*reads/],
      ["ONLY", "SELECT * FROM ONLY customers", 403, /ONLY/],
      [
        "a CTE named like the table",
        "WITH customers AS (SELECT 1 AS x) SELECT * FROM customers",
        403,
        /CTE/,
      ],
      ["TABLE", "TABLE customers", 403, /not supported/],
      ["TABLESAMPLE", "SELECT * FROM customers TABLESAMPLE SYSTEM (100)", 403, /not supported/],
      ["a system column", "SELECT ctid, xmin FROM customers", 400, /ctid|xmin/],
      ["a column list alias", "SELECT * FROM customers AS c(a, b, c, d, e, f)", 400, /columns/],
      [
        "a positional placeholder (the guard refuses it before the hash key could be bound there)",
        "SELECT $1::text AS k FROM customers",
        400,
        /\$1/,
      ],
    ];
    for (const [name, sql, expected, reason] of refusals) {
      await t.step(`refused: ${name}`, async () => {
        const { status, body } = await sqlQuery(sql);
        assert.equal(status, expected, `${sql}: ${JSON.stringify(body)}`);
        assert.match(String(body.error), reason);
        assertNoRaw(name, body);
      });
    }

    await t.step("another schema's table of the same name is not policed", async () => {
      const { status, body } = await sqlQuery("SELECT email FROM other.customers");
      assert.equal(status, 200);
      assert.equal(body.rows![0].email, "plain@other.example");
      const view = await sqlQuery("SELECT count(*) AS n FROM harmless");
      assert.equal(view.status, 200, "a view over another table still reads");
    });

    await t.step("hashes are stable: they join and group", async () => {
      const { body } = await sqlQuery(
        "SELECT count(*) AS n FROM customers a JOIN customers b ON a.name = b.name",
      );
      assert.equal(Number(body.rows![0].n), 1001);
      const again = await sqlQuery("SELECT name FROM customers WHERE id = 1");
      const first = await sqlQuery("SELECT name FROM customers WHERE id = 1");
      assert.equal(again.body.rows![0].name, first.body.rows![0].name);
    });

    await t.step("EXPLAIN shows no key material", async () => {
      const { status, body } = await sqlQuery(
        "EXPLAIN SELECT * FROM customers WHERE name = 'x'",
      );
      assert.equal(status, 200, JSON.stringify(body));
      const text = JSON.stringify(body);
      assert.doesNotMatch(text, /\\\\x[0-9a-f]{16}/, text);
      const plan = await call(app, "explain_query", {
        query: "SELECT * FROM customers WHERE name = 'x'",
      });
      assert.equal(plan.status, 200, JSON.stringify(plan.body));
      assert.doesNotMatch(JSON.stringify(plan.body), /\\\\x[0-9a-f]{16}/);
    });

    await t.step(
      "describe_table says which columns are policed, unless the caller lifts them",
      async () => {
        const policy = async (key?: string) => {
          const { status, body } = await call(app, "describe_table", { table: "customers" }, key);
          assert.equal(status, 200, JSON.stringify(body));
          return Object.fromEntries(
            (body.columns as { name: string; policy?: string }[]).map((c) => [c.name, c.policy]),
          );
        };
        assert.deepEqual(await policy(), {
          id: undefined,
          name: "hash",
          email: "mask",
          created_at: undefined,
          tax_id: "deny",
          phone: "last4",
        });
        assert.equal((await policy(SECONDARY_KEY)).email, undefined);
      },
    );

    await t.step("sample_rows is masked too, and refuses a view over the table", async () => {
      const { status, body } = await call(app, "sample_rows", { table: "customers", limit: 5 });
      assert.equal(status, 200, JSON.stringify(body));
      assertNoRaw("sample_rows", body);
      const view = await call(app, "sample_rows", { table: "customer_contacts" });
      assert.equal(view.status, 403, JSON.stringify(view.body));
      assertNoRaw("sample_rows view", view.body);
    });
  } finally {
    await app.close();
  }

  await t.step("a policy naming no column stops the start", async () => {
    await assert.rejects(
      () => open({ SQL_COLUMN_POLICIES: "customers.emial=mask" }),
      /Cannot start: .*"emial"/,
    );
    await assert.rejects(
      () => open({ SQL_COLUMN_POLICIES: "custmers.email=mask" }),
      /Cannot start: .*"custmers"/,
    );
  });
}
