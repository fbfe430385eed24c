/**
 * The database toolset's behaviour, run on PostgreSQL and on the embedded
 * database alike (db_schema_test.ts): each tool, each refusal, hostile
 * names, the table allow-list and the toolset's scope.
 *
 * @module
 */
import assert from "node:assert/strict";
import { postJson, SECONDARY_KEY, type TestApp } from "../../../harness.ts";

/** Objects the suite looks for, on top of the demo data (run as the owner). */
export const SCHEMA_FIXTURE_SQL = `
COMMENT ON TABLE customers IS 'People who order';
COMMENT ON COLUMN customers.email IS 'Where we write to them';
CREATE SCHEMA sales;
COMMENT ON SCHEMA sales IS 'The sales team''s data';
CREATE TABLE sales.leads (
  id integer PRIMARY KEY,
  customer_id integer REFERENCES public.customers (id),
  score numeric(5, 2) NOT NULL DEFAULT 0 CHECK (score >= 0),
  note text,
  UNIQUE (customer_id, note)
);
INSERT INTO sales.leads VALUES (1, 1, 10, 'first'), (2, 2, 20, 'second');
CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
CREATE TABLE "Weird ""Name"".x" ("Col ""1""" integer, "café" text);
INSERT INTO "Weird ""Name"".x" VALUES (1, 'ünïcode ☃');
CREATE TABLE "Ωmega" (id integer);
CREATE TABLE "customers; DROP TABLE orders" (id integer);
ANALYZE;
`;

/** Builds an app serving the toolset on the suite's database, with `env` added. */
export type OpenApp = (env?: Record<string, string>) => Promise<TestApp>;

type Body = Record<string, unknown> & { error?: string; status?: string };

async function call(
  app: TestApp,
  tool: string,
  input: unknown,
  key?: string,
): Promise<{ status: number; body: Body }> {
  const res = await postJson(app, `/v1/mcp/${tool}`, input, key ? { key } : {});
  return { status: res.status, body: await res.json() };
}

const names = (tables: { schema: string; name: string }[]) =>
  tables.map((t) => `${t.schema}.${t.name}`);

/** Runs every step on apps from `open` (each closed at the end). */
export async function dbSchemaSuite(t: Deno.TestContext, open: OpenApp): Promise<void> {
  const app = await open({ API_KEY_SECONDARY_SCOPES: "db:schema" });
  try {
    await t.step(
      "list_schemas: user schemas with comments and counts, no system ones",
      async () => {
        const { status, body } = await call(app, "list_schemas", {});
        assert.equal(status, 200, JSON.stringify(body));
        const schemas = body.schemas as { name: string; comment: string | null; tables: number }[];
        assert.deepEqual(schemas.map((s) => s.name), ["public", "sales"]);
        assert.equal(schemas[1].comment, "The sales team's data");
        assert.equal(schemas[1].tables, 1);
        assert.ok(schemas[0].tables >= 6);
      },
    );

    await t.step("list_tables: tables and views, kinds, estimates, comments", async () => {
      const { status, body } = await call(app, "list_tables", {});
      assert.equal(status, 200, JSON.stringify(body));
      const tables = body.tables as {
        schema: string;
        name: string;
        kind: string;
        row_estimate: number | null;
        comment: string | null;
      }[];
      const all = names(tables);
      for (
        const expected of [
          "public.customers",
          "public.orders",
          "public.big_orders",
          'public.Weird "Name".x',
          "public.Ωmega",
          "public.customers; DROP TABLE orders",
          "sales.leads",
        ]
      ) assert.ok(all.includes(expected), `${expected} in ${all}`);
      assert.ok(all.every((n) => !/^(pg_|information_schema)/.test(n)), String(all));
      const customers = tables.find((x) => x.name === "customers")!;
      assert.equal(customers.kind, "table");
      assert.equal(customers.comment, "People who order");
      assert.equal(customers.row_estimate, 1000);
      const view = tables.find((x) => x.name === "big_orders")!;
      assert.equal(view.kind, "view");
      assert.equal(view.row_estimate, null);
      const sales = await call(app, "list_tables", { schema: "sales" });
      assert.deepEqual(names(sales.body.tables as never), ["sales.leads"]);
      const none = await call(app, "list_tables", { schema: "public' OR '1'='1" });
      assert.deepEqual(none.body.tables, []);
    });

    await t.step("describe_table: columns, keys both ways, checks, indexes", async () => {
      const { status, body } = await call(app, "describe_table", { table: "customers" });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.comment, "People who order");
      const columns = body.columns as { name: string; type: string; nullable: boolean }[];
      assert.deepEqual(columns.map((c) => c.name), ["id", "name", "email", "created_at"]);
      assert.deepEqual(columns[0], {
        name: "id",
        type: "integer",
        nullable: false,
        default: null,
        comment: null,
      });
      assert.equal((columns[2] as { comment?: string }).comment, "Where we write to them");
      assert.deepEqual(body.primary_key, ["id"]);
      assert.deepEqual((body.unique as { columns: string[] }[]).map((u) => u.columns), [[
        "email",
      ]]);
      const refs = body.referenced_by as { schema: string; table: string; columns: string[] }[];
      assert.deepEqual(refs.map((r) => `${r.schema}.${r.table}(${r.columns})`), [
        "public.orders(customer_id)",
        "sales.leads(customer_id)",
      ]);
      const orders = (await call(app, "describe_table", { table: "orders" })).body;
      assert.deepEqual(orders.foreign_keys, [{
        name: "orders_customer_id_fkey",
        columns: ["customer_id"],
        references: { schema: "public", table: "customers", columns: ["id"] },
      }]);
      assert.equal((orders.checks as unknown[]).length, 2);
      const indexes = orders.indexes as { name: string; primary: boolean; definition: string }[];
      assert.ok(indexes.some((i) => i.name === "orders_customer_id_idx" && !i.primary));
      assert.ok(indexes.some((i) => i.primary && /UNIQUE INDEX orders_pkey/.test(i.definition)));
      const leads = (await call(app, "describe_table", { schema: "sales", table: "leads" })).body;
      const score = (leads.columns as { name: string; default: string | null; type: string }[])
        .find((c) => c.name === "score")!;
      assert.equal(score.type, "numeric(5,2)");
      assert.equal(score.default, "0");
      assert.deepEqual((leads.unique as { columns: string[] }[])[0].columns, [
        "customer_id",
        "note",
      ]);
      const view = (await call(app, "describe_table", { table: "big_orders" })).body;
      assert.equal(view.kind, "view");
      assert.equal(view.primary_key, null);
    });

    await t.step(
      "describe_table: quoted, unicode and SQL-looking names are exact names",
      async () => {
        const weird = await call(app, "describe_table", { table: 'Weird "Name".x' });
        assert.equal(weird.status, 200, JSON.stringify(weird.body));
        assert.deepEqual((weird.body.columns as { name: string }[]).map((c) => c.name), [
          'Col "1"',
          "café",
        ]);
        const omega = await call(app, "describe_table", { table: "Ωmega" });
        assert.equal(omega.status, 200);
        const sqlName = await call(app, "describe_table", {
          table: "customers; DROP TABLE orders",
        });
        assert.equal(sqlName.status, 200);
        assert.deepEqual((sqlName.body.columns as { name: string }[]).map((c) => c.name), ["id"]);
        for (
          const table of [
            "CUSTOMERS",
            '"customers"',
            "public.customers",
            "customers'--",
            "customers\u0000",
            "pg_class",
            "pg_authid",
            "nope",
          ]
        ) {
          const { status, body } = await call(app, "describe_table", { table });
          assert.ok(
            status === 404 || status === 400,
            `${table}: ${status} ${JSON.stringify(body)}`,
          );
          if (status === 404) assert.match(String(body.error), /does not exist or may not be read/);
        }
        for (const schema of ["pg_catalog", "information_schema", "PUBLIC"]) {
          const table = schema === "pg_catalog" ? "pg_class" : "tables";
          const { status } = await call(app, "describe_table", { schema, table });
          assert.equal(status, 404, schema);
        }
      },
    );

    await t.step(
      "sample_rows: a few rows of a table, a view, an odd name; limits held",
      async () => {
        const { status, body } = await call(app, "sample_rows", { table: "customers", limit: 3 });
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.row_count, 3);
        assert.deepEqual(body.columns, ["id", "name", "email", "created_at"]);
        const fallback = await call(app, "sample_rows", { table: "orders" });
        assert.equal(fallback.body.row_count, 5);
        const view = await call(app, "sample_rows", { table: "big_orders", limit: 2 });
        assert.equal(view.body.row_count, 2);
        const weird = await call(app, "sample_rows", { table: 'Weird "Name".x' });
        assert.deepEqual(weird.body.rows, [{ 'Col "1"': 1, "café": "ünïcode ☃" }]);
        const leads = await call(app, "sample_rows", { schema: "sales", table: "leads" });
        assert.equal(leads.body.row_count, 2);
        assert.equal((await call(app, "sample_rows", { table: "orders", limit: 51 })).status, 400);
        assert.equal((await call(app, "sample_rows", { table: "orders", limit: 0 })).status, 400);
        for (const table of ["orders LIMIT 100", "orders; DELETE FROM orders", "pg_authid"]) {
          assert.equal((await call(app, "sample_rows", { table })).status, 404, table);
        }
        // The SQL-looking table is read as itself, and orders is still whole.
        const odd = await call(app, "sample_rows", { table: "customers; DROP TABLE orders" });
        assert.equal(odd.status, 200);
        const count = await call(app, "sample_rows", { table: "orders", limit: 1 });
        assert.equal(count.body.row_count, 1);
      },
    );

    await t.step("explain_query: a plan as JSON, without running the query", async () => {
      const { status, body } = await call(app, "explain_query", {
        query: "SELECT * FROM orders WHERE customer_id = :id",
        params: { id: 3 },
      });
      assert.equal(status, 200, JSON.stringify(body));
      const plan = body.plan as Record<string, unknown>;
      assert.equal(typeof plan["Node Type"], "string");
      assert.equal(typeof plan["Total Cost"], "number");
      assert.ok(!("Actual Rows" in plan));
      // Planned, never run: a sleep of ten minutes answers at once.
      const started = performance.now();
      const sleep = await call(app, "explain_query", { query: "SELECT pg_sleep(600)" });
      assert.equal(sleep.status, 200, JSON.stringify(sleep.body));
      assert.ok(performance.now() - started < 3000);
    });

    const refusals: [string, RegExp][] = [
      ["DELETE FROM orders", /Statement type not allowed: DELETE/],
      ["EXPLAIN SELECT 1", /explain_query adds EXPLAIN itself/],
      ["EXPLAIN ANALYZE SELECT 1", /EXPLAIN ANALYZE is not allowed/],
      ["EXPLAIN ANALYZE DELETE FROM orders", /EXPLAIN ANALYZE is not allowed/],
      ["SELECT 1; DROP TABLE orders", /Only one statement/],
      ["SELECT 1) ; DROP TABLE orders; --", /Syntax error|Only one statement/],
      ["WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", /Data-modifying WITH/],
      ["SELECT * FROM orders FOR UPDATE", /Locking clauses/],
      ["SELECT pg_read_file('/etc/passwd')", /Function not allowed/],
      ["SELECT pg_advisory_lock(1)", /Function not allowed/],
      ["SELECT lo_from_bytea(0, 'x')", /Function not allowed/],
      ["SHOW search_path", /Give one SELECT alone/],
      ["SELECT * FROM nope", /Query failed: relation "nope" does not exist/],
    ];
    for (const [query, reason] of refusals) {
      await t.step(`explain_query refuses: ${query}`, async () => {
        const { status, body } = await call(app, "explain_query", { query });
        assert.equal(status, 400, JSON.stringify(body));
        assert.equal(body.status, "invalid_input");
        assert.match(String(body.error), reason);
      });
    }

    await t.step("every tool needs db:schema; a key without it is refused", async () => {
      const scoped = await call(app, "list_tables", {}, SECONDARY_KEY);
      assert.equal(scoped.status, 200);
      const narrow = await open({ API_KEY_SECONDARY_SCOPES: "sql:query,tools:read" });
      try {
        for (const tool of ["list_schemas", "list_tables", "describe_table", "sample_rows"]) {
          const { status, body } = await call(narrow, tool, { table: "orders" }, SECONDARY_KEY);
          assert.equal(status, 403, `${tool}: ${JSON.stringify(body)}`);
          assert.match(String(body.error), /needs db:schema/);
        }
      } finally {
        await narrow.close();
      }
    });
  } finally {
    await app.close();
  }

  await t.step("SQL_QUERY_ALLOWED_TABLES: only allowed tables exist for every tool", async () => {
    const narrow = await open({ SQL_QUERY_ALLOWED_TABLES: "customers,sales.leads" });
    try {
      const schemas = await call(narrow, "list_schemas", {});
      assert.deepEqual(
        (schemas.body.schemas as { name: string; tables: number }[]).map((s) =>
          `${s.name}:${s.tables}`
        ),
        ["public:1", "sales:1"],
      );
      const tables = await call(narrow, "list_tables", {});
      assert.deepEqual(names(tables.body.tables as never), ["public.customers", "sales.leads"]);
      for (
        const [tool, input] of [
          ["describe_table", { table: "orders" }],
          ["describe_table", { table: "big_orders" }],
          ["sample_rows", { table: "orders" }],
          ["sample_rows", { schema: "sales", table: "customers" }],
          ["describe_table", { schema: "public", table: "leads" }],
        ] as const
      ) {
        const { status, body } = await call(narrow, tool, input);
        assert.equal(status, 404, `${tool} ${JSON.stringify(input)}: ${JSON.stringify(body)}`);
      }
      // Keys to a table that is not allowed are left out, both ways.
      const customers = await call(narrow, "describe_table", { table: "customers" });
      assert.deepEqual(
        (customers.body.referenced_by as { table: string }[]).map((r) => r.table),
        ["leads"],
      );
      assert.ok(!JSON.stringify(customers.body).includes("orders"));
      const sample = await call(narrow, "sample_rows", { schema: "sales", table: "leads" });
      assert.equal(sample.status, 200);
      for (
        const query of [
          "SELECT * FROM orders",
          "SELECT * FROM public.orders",
          "SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id",
          "SELECT * FROM sales.customers",
          "SELECT (SELECT count(*) FROM big_orders)",
        ]
      ) {
        const { status, body } = await call(narrow, "explain_query", { query });
        assert.equal(status, 400, query);
        assert.match(String(body.error), /Table not allowed/);
      }
      const allowed = await call(narrow, "explain_query", { query: "SELECT * FROM customers" });
      assert.equal(allowed.status, 200);
    } finally {
      await narrow.close();
    }
  });
}
