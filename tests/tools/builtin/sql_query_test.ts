import assert from "node:assert/strict";
import { DEMO_CHECKSUM_SQL } from "../../../src/sources/db/demo_data.ts";
import { BUILTIN_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { DEMO_SNAPSHOT, pgliteSource, startPglite } from "../../../src/sources/db/pglite.ts";
import { openPgliteWorker } from "../../../src/sources/db/pglite_worker.ts";
import { sql, type SqlQuery } from "../../../src/sources/db/sql_source.ts";
import { createTestApp, postJson, type TestApp } from "../../harness.ts";
import { createTestDatabase, postgresUnavailable } from "../../sources/db/pg_fixture.ts";
import { EVIL_WRITE_FUNCTION_SQL } from "../../sources/db/sql_source_suite.ts";

const marker = `/tmp/mcp-tool-server-pwned-${crypto.randomUUID()}`;

/** Attacks from the corpus, sent as the `query` of sql_query. */
const ATTACKS: string[] = [
  "SELECT 1; COMMIT; DROP TABLE orders;",
  "COMMIT; INSERT INTO orders (id, customer_id, amount, status, created_at) VALUES (999999, 1, 1, 'pending', now()); SELECT 1",
  "ROLLBACK; DROP TABLE orders;",
  "END; DELETE FROM orders;",
  "COMMIT; SET default_transaction_read_only = off; DROP TABLE orders;",
  "COMMIT; BEGIN READ WRITE; UPDATE orders SET amount = 0;",
  "/* c */ COMMIT; DELETE FROM orders;",
  "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d;",
  "SELECT evil_write()",
  "SELECT * FROM orders FOR UPDATE",
  "EXPLAIN ANALYZE DELETE FROM orders",
  `COPY orders TO PROGRAM 'touch ${marker}'`,
  `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`,
  "DO $$ BEGIN DELETE FROM orders; END $$",
  "SET default_transaction_read_only = off",
  "SELECT set_config('default_transaction_read_only', 'off', false)",
  "SELECT * INTO evil FROM orders",
  "CREATE TABLE evil AS SELECT 1",
  "DELETE FROM orders",
  "TRUNCATE orders",
  "SELECT pg_read_file('/etc/passwd')",
];

/** Where the corpus runs: an app serving sql_query, and its database's state. */
interface Target {
  readonly app: TestApp;
  /** A digest of every demo table's rows. */
  checksum(): Promise<string>;
  /** How many tables the public schema holds. */
  tables(): Promise<number>;
}

/** A query from trusted literal text (the fixture's own SQL). */
function literal(text: string): SqlQuery {
  return sql([text] as unknown as TemplateStringsArray);
}

/**
 * Answers a request that needs no database, timed: while a statement runs,
 * the server must keep answering these.
 */
async function timedLive(app: TestApp): Promise<number> {
  const started = performance.now();
  const res = await app.request("/health/live", { key: null });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  return performance.now() - started;
}

/** The attack corpus, through sql_query, with every table checked after each attack. */
async function attackCorpus(t: Deno.TestContext, target: Target): Promise<void> {
  const { app } = target;
  const before = await target.checksum();
  const tablesBefore = await target.tables();
  const call = (input: unknown) => postJson(app, "/v1/mcp/sql_query", input);

  await t.step("answers a plain query with columns and rows", async () => {
    const res = await call({
      query: "SELECT id, name FROM customers WHERE id = :id",
      params: { id: 7 },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.columns, ["id", "name"]);
    assert.equal(body.rows[0].id, 7);
    assert.equal(body.truncated, false);
  });

  for (const attack of ATTACKS) {
    await t.step(`refuses: ${attack.slice(0, 60)}`, async () => {
      const res = await call({ query: attack });
      assert.ok(res.status >= 400 && res.status < 600, String(res.status));
      const body = await res.json();
      assert.equal(typeof body.error, "string");
      assert.equal(typeof body.request_id, "string");
      assert.ok(["invalid_input", "forbidden"].includes(body.status), JSON.stringify(body));
      assert.equal(await target.checksum(), before);
      assert.equal(await target.tables(), tablesBefore);
    });
  }

  await t.step("a comment that looks like a second statement is only a comment", async () => {
    const res = await call({ query: "SELECT 1 AS one -- ; DROP TABLE orders" });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).rows[0].one, 1);
    assert.equal(await target.checksum(), before);
  });

  await t.step("COPY TO PROGRAM never ran its command", async () => {
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
  });

  const runaway = {
    "pg_sleep(600)": "SELECT pg_sleep(600)",
    "a recursive CTE without end":
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) AS n FROM r",
  };
  for (const [name, query] of Object.entries(runaway)) {
    await t.step(
      `${name} is cut by the statement timeout with 504 retry; the server answers meanwhile`,
      async () => {
        const started = performance.now();
        const running = call({ query });
        await new Promise((r) => setTimeout(r, 300));
        // Mid-statement: a request that needs no database is answered at once.
        const liveMs = await timedLive(app);
        assert.ok(liveMs < 500, `/health/live took ${liveMs} ms during the statement`);
        const res = await running;
        assert.ok(performance.now() - started > 300);
        assert.equal(res.status, 504);
        assert.equal((await res.json()).status, "retry");
        assert.ok(performance.now() - started < 4000);
        // The next query is served (on the embedded database, by a fresh instance).
        const next = await call({ query: "SELECT count(*)::int AS n FROM orders" });
        assert.equal(next.status, 200, await next.clone().text());
        assert.equal((await next.json()).rows[0].n > 0, true);
      },
    );
  }

  await t.step("a cartesian join of 10^11 rows is capped, fast, and says so", async () => {
    const started = performance.now();
    const res = await call({
      query: "SELECT a.id, b.id AS b, c.id AS c FROM orders a, orders b, orders c",
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.row_count, 1000);
    assert.equal(body.truncated, true);
    assert.match(body.truncated_reason, /1000 rows/);
    assert.ok(performance.now() - started < 4000);
  });

  const hostile = [
    "' OR 1=1 --",
    "x'; DROP TABLE orders; --",
    "\u2019 OR \u20181\u2019=\u20181",
    "a".repeat(9000),
  ];
  for (const value of hostile) {
    await t.step(
      `binds a hostile parameter as data: ${JSON.stringify(value.slice(0, 20))}`,
      async () => {
        const res = await call({
          query: "SELECT count(*)::int AS n FROM customers WHERE name = :v",
          params: { v: value },
        });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).rows[0].n, 0);
      },
    );
  }

  await t.step("refuses a NUL byte and an oversized parameter cleanly", async () => {
    const nul = await call({ query: "SELECT :v::text AS v", params: { v: "a\u0000b" } });
    assert.ok(nul.status >= 400 && nul.status < 500, String(nul.status));
    await nul.body?.cancel();
    const big = await call({
      query: "SELECT :v::text AS v",
      params: { v: "a".repeat(10_001) },
    });
    assert.equal(big.status, 400);
    await big.body?.cancel();
  });

  await t.step("refuses interpolation-looking text and unknown placeholders", async () => {
    for (const query of ["SELECT * FROM customers WHERE id = ${id}", "SELECT :missing"]) {
      const res = await call({ query });
      assert.equal(res.status, 400, query);
      assert.equal((await res.json()).status, "invalid_input");
    }
  });

  await t.step("a database error in the caller's SQL is a 400 naming it", async () => {
    const res = await call({ query: "SELECT nope FROM customers" });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /column "nope" does not exist/);
  });

  await t.step("every table is unchanged at the end", async () => {
    assert.equal(await target.checksum(), before);
    assert.equal(await target.tables(), tablesBefore);
  });
}

const ENV = {
  ENABLE_SQL_QUERY_TOOL: "true",
  DB_QUERY_TIMEOUT_SECONDS: "1",
  TOOL_TIMEOUT_SECONDS: "5",
};

Deno.test({
  name: "sql_query holds against the attack corpus on PostgreSQL; every table is unchanged",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    await db.admin.unsafe(EVIL_WRITE_FUNCTION_SQL);
    const app = await createTestApp({ tools: BUILTIN_TOOLS, env: { DB_URL: db.url, ...ENV } });
    try {
      await attackCorpus(t, {
        app,
        checksum: async () => (await db.admin.unsafe(DEMO_CHECKSUM_SQL))[0].digest as string,
        tables: async () =>
          (await db.admin`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)[0]
            .n,
      });
    } finally {
      await app.close();
      await db.drop();
    }
  },
});

Deno.test("sql_query holds against the attack corpus on the embedded database (PGlite in its worker); every table is unchanged", async (t) => {
  // The app's own embedded database, plus the fixture's writing function.
  const source = await openPgliteWorker({
    limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
    queryTimeoutMs: 1000,
    setupSql: EVIL_WRITE_FUNCTION_SQL,
  });
  const app = await createTestApp({ tools: BUILTIN_TOOLS, env: ENV, sql: source });
  // Read through the same database (read-only, like everything else).
  const read = async <R>(text: string) =>
    (await source.query<R>(literal(text), { timeoutMs: 10_000 })).rows[0];
  try {
    await attackCorpus(t, {
      app,
      checksum: async () => (await read<{ digest: string }>(DEMO_CHECKSUM_SQL)).digest,
      tables: async () =>
        (await read<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
        )).n,
    });
  } finally {
    await app.close();
    await source.close();
  }
});

Deno.test("sql_query on the default embedded database: served, and a runaway statement is cut", async () => {
  const app = await createTestApp({ tools: BUILTIN_TOOLS, env: ENV });
  try {
    assert.equal(app.sql.kind, "pglite");
    const res = await postJson(app, "/v1/mcp/sql_query", { query: "SELECT pg_sleep(600)" });
    assert.equal(res.status, 504);
    await res.body?.cancel();
    const lookup = await postJson(app, "/v1/mcp/lookup_customer", { id: 3 });
    assert.equal(lookup.status, 200, await lookup.clone().text());
    assert.equal((await lookup.json()).id, 3);
    assert.ok(
      app.lines().some((l) =>
        l.message === "embedded database restarted" && /cut at its deadline/.test(String(l.reason))
      ),
    );
  } finally {
    await app.close();
  }
});

Deno.test("sql_query is refused at start on a database that cannot stop a statement (PGlite on the server's thread)", async () => {
  const db = await startPglite({ dataDir: DEMO_SNAPSHOT });
  const source = pgliteSource(db);
  try {
    await assert.rejects(
      createTestApp({ tools: BUILTIN_TOOLS, env: ENV, sql: source }),
      /ENABLE_SQL_QUERY_TOOL needs a database that stops a statement at its deadline/,
    );
  } finally {
    await source.close();
  }
});

Deno.test({
  name:
    "sql_query: a row wider than its share of the byte cap is refused by the database, and the wrapper keeps the caller's order and columns",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    const app = await createTestApp({
      tools: BUILTIN_TOOLS,
      env: { DB_URL: db.url, ...ENV, MAX_RESULT_BYTES: "160000" },
    });
    const call = (query: string) => postJson(app, "/v1/mcp/sql_query", { query });
    try {
      await t.step("one wide row: refused with the cap named, not buffered", async () => {
        for (
          const query of [
            "SELECT string_agg(md5(g::text), '') AS wide FROM generate_series(1, 1000) g",
            // A column named like the wrapper's alias does not dodge the check.
            "SELECT string_agg(md5(g::text), '') AS wide, 1 AS mcp_q FROM generate_series(1, 1000) g",
            "SELECT 1 AS x -- trailing comment",
          ]
        ) {
          const res = await call(query);
          const body = await res.json();
          if (query.includes("trailing")) {
            assert.equal(res.status, 200, JSON.stringify(body));
            continue;
          }
          assert.equal(res.status, 400, JSON.stringify(body));
          assert.match(body.error, /A row is wider than 10000 bytes/);
        }
      });
      await t.step("ORDER BY, duplicate column names and VALUES survive the wrapper", async () => {
        const ordered = await (await call(
          "SELECT id FROM orders ORDER BY id DESC LIMIT 5;",
        )).json();
        const ids = ordered.rows.map((r: { id: number }) => r.id);
        assert.deepEqual(ids, [...ids].sort((a: number, b: number) => b - a));
        const dup = await call("SELECT 1 AS a, 2 AS a");
        assert.equal(dup.status, 200, await dup.clone().text());
        const values = await (await call("VALUES (1, 'x'), (2, 'y')")).json();
        assert.equal(values.row_count, 2);
      });
      await t.step(
        "an impossible date in params is the caller's mistake (400), not an outage",
        async () => {
          const res = await postJson(app, "/v1/mcp/sql_query", {
            query: "SELECT count(*)::int AS n FROM orders WHERE created_at >= CAST(:since AS date)",
            params: { since: "2024-02-30" },
          });
          const body = await res.json();
          assert.equal(res.status, 400, JSON.stringify(body));
          assert.equal(body.status, "invalid_input");
        },
      );
    } finally {
      await app.close();
      await db.drop();
    }
  },
});
