import assert from "node:assert/strict";
import {
  DEMO_CHECKSUM_SQL,
  DEMO_CUSTOMERS,
  DEMO_ORDERS,
  DEMO_SCHEMA_SQL,
  DEMO_SEED_SQL,
} from "../../../src/sources/db/demo_data.ts";
import {
  DEMO_SNAPSHOT,
  openEmbeddedDatabase,
  startPglite,
} from "../../../src/sources/db/pglite.ts";
import { sql } from "../../../src/sources/db/sql_source.ts";

Deno.test("embedded database", async (t) => {
  const db = await openEmbeddedDatabase();
  const checksum = async () =>
    (await db.query<{ digest: string }>(
      sql([DEMO_CHECKSUM_SQL] as unknown as TemplateStringsArray),
    )).rows[0].digest;
  const before = await checksum();

  await t.step("starts from the snapshot with the demo data", async () => {
    const { rows } = await db.query<{ c: number; o: number }>(
      sql`SELECT (SELECT count(*)::int FROM customers) AS c, (SELECT count(*)::int FROM orders) AS o`,
    );
    assert.deepEqual(rows[0], { c: DEMO_CUSTOMERS, o: DEMO_ORDERS });
  });

  const writes = [
    sql`INSERT INTO customers (id, name, email, created_at) VALUES (999999, 'x', 'x@x', now())`,
    sql`UPDATE orders SET amount = 0`,
    sql`DELETE FROM orders`,
    sql`DROP TABLE orders`,
    sql`CREATE TABLE evil (id int)`,
    sql`WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d`,
  ];
  for (const q of writes) {
    await t.step(
      `refuses a write in its read-only transaction: ${q.text.slice(0, 40)}`,
      async () => {
        await assert.rejects(db.query(q), /read-only transaction/);
      },
    );
  }

  const hostile = [
    "' OR 1=1 --",
    "x'; DROP TABLE orders; --",
    "\u2019 OR \u20181\u2019=\u20181",
    "a".repeat(100_000),
  ];
  for (const value of hostile) {
    await t.step(
      `binds a hostile value as data: ${JSON.stringify(value.slice(0, 24))}`,
      async () => {
        const { rows } = await db.query<{ v: string; n: number }>(
          sql`SELECT ${value}::text AS v, (SELECT count(*)::int FROM customers WHERE name = ${value}) AS n`,
        );
        assert.equal(rows[0].v, value);
        assert.equal(rows[0].n, 0);
      },
    );
  }

  await t.step("refuses a NUL byte in a parameter instead of truncating it", async () => {
    await assert.rejects(db.query(sql`SELECT ${"a\u0000b"}::text AS v`));
  });

  await t.step("left every table unchanged", async () => {
    assert.equal(await checksum(), before);
  });

  await t.step("answers ping and refuses a query whose signal already aborted", async () => {
    await db.ping();
    const aborted = AbortSignal.abort(new Error("gone"));
    await assert.rejects(db.query(sql`SELECT 1`, { signal: aborted }), /gone/);
  });

  await db.close();
});

Deno.test("the shipped snapshot holds exactly what demo_data.ts generates (else run `deno task snapshot`)", async () => {
  const fresh = await startPglite();
  const shipped = await startPglite({ dataDir: DEMO_SNAPSHOT });
  try {
    await fresh.exec(DEMO_SCHEMA_SQL);
    await fresh.exec(DEMO_SEED_SQL);
    const digest = async (db: typeof fresh) =>
      (await db.query<{ digest: string }>(DEMO_CHECKSUM_SQL)).rows[0].digest;
    const schema = async (db: typeof fresh) =>
      (await db.query<{ s: string }>(
        `SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position) AS s
         FROM information_schema.columns WHERE table_schema = 'public'`,
      )).rows[0].s;
    assert.equal(await schema(shipped), await schema(fresh));
    assert.equal(await digest(shipped), await digest(fresh));
  } finally {
    await fresh.close();
    await shipped.close();
  }
});
