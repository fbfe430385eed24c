/**
 * The behaviour every SQL source must have, run against PGlite and against
 * PostgreSQL alike, so a tool never knows which one it runs on.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  DEMO_CHECKSUM_SQL,
  DEMO_CUSTOMERS,
  DEMO_ORDERS,
} from "../../../src/sources/db/demo_data.ts";
import {
  DatabaseError,
  sql,
  type SqlQuery,
  type SqlSource,
} from "../../../src/sources/db/sql_source.ts";

/** A query from trusted literal text (the fixture's own SQL). */
function literal(text: string): SqlQuery {
  return sql([text] as unknown as TemplateStringsArray);
}

/** Runs the shared steps on `source`, which must hold the demo data and be able to run `evil_write()`. */
export async function sqlSourceSuite(t: Deno.TestContext, source: SqlSource): Promise<void> {
  const checksum = async () =>
    (await source.query<{ digest: string }>(literal(DEMO_CHECKSUM_SQL))).rows[0].digest;
  const before = await checksum();

  await t.step("holds the demo data", async () => {
    const { rows } = await source.query<{ c: number; o: number }>(
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
    sql`SELECT evil_write()`,
  ];
  for (const q of writes) {
    await t.step(`refuses a write as read_only: ${q.text.slice(0, 40)}`, async () => {
      await assert.rejects(
        source.query(q),
        (e) => e instanceof DatabaseError && e.kind === "read_only",
      );
    });
  }

  // Caller-written text takes the other path (a rolled-back transaction,
  // batches, a session reset): writes are refused there too.
  for (const q of writes) {
    await t.step(
      `refuses a caller-written write as read_only: ${q.text.slice(0, 40)}`,
      async () => {
        await assert.rejects(
          source.query(q, { callerWritten: true, prepare: false }),
          (e) => e instanceof DatabaseError && e.kind === "read_only",
        );
      },
    );
  }

  await t.step("caller-written: returns rows, and cuts them at the caps", async () => {
    const { rows } = await source.query<{ id: number }>(
      sql`SELECT id FROM customers WHERE id = ${42}`,
      { callerWritten: true },
    );
    assert.deepEqual(rows, [{ id: 42 }]);
    const capped = await source.query(sql`SELECT id FROM customers ORDER BY id`, {
      callerWritten: true,
      maxRows: 5,
    });
    assert.equal(capped.rows.length, 5);
    assert.equal(capped.truncated?.reason, "max_rows");
  });

  await t.step("returns array columns as arrays, on either path", async () => {
    for (const callerWritten of [false, true]) {
      const { rows } = await source.query<{ ids: number[]; names: string[] }>(
        sql`SELECT ARRAY[1, 2]::int4[] AS ids, ARRAY['a', 'b c']::text[] AS names`,
        { callerWritten },
      );
      assert.deepEqual(rows, [{ ids: [1, 2], names: ["a", "b c"] }]);
    }
  });

  await t.step("two statements are refused on either path", async () => {
    for (const callerWritten of [false, true]) {
      await assert.rejects(
        source.query(sql`SELECT 1; DELETE FROM orders`, { callerWritten }),
        (e) => e instanceof DatabaseError && e.kind === "query",
      );
    }
  });

  await t.step("refuses two statements in one query", async () => {
    await assert.rejects(
      source.query(sql`SELECT 1; DELETE FROM orders`),
      (e) => e instanceof DatabaseError && e.kind === "query",
    );
    await assert.rejects(
      source.query(sql`SELECT ${1}::int; COMMIT; DELETE FROM orders`),
      (e) => e instanceof DatabaseError && e.kind === "query",
    );
  });

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
        const { rows } = await source.query<{ v: string; n: number }>(
          sql`SELECT ${value}::text AS v, (SELECT count(*)::int FROM customers WHERE name = ${value}) AS n`,
        );
        assert.equal(rows[0].v, value);
        assert.equal(rows[0].n, 0);
      },
    );
  }

  await t.step("refuses a NUL byte in a parameter instead of truncating it", async () => {
    await assert.rejects(source.query(sql`SELECT ${"a\u0000b"}::text AS v`), DatabaseError);
  });

  await t.step("caps rows and says so, fast, even on a huge cartesian product", async () => {
    const started = performance.now();
    const result = await source.query<{ id: number }>(
      sql`SELECT a.id FROM orders a, orders b, orders c`,
      { maxRows: 50 },
    );
    assert.equal(result.rows.length, 50);
    assert.deepEqual(result.truncated, { reason: "max_rows", limit: 50 });
    assert.ok(performance.now() - started < 5000);
  });

  await t.step("does not mark a result that is exactly the cap as truncated", async () => {
    const result = await source.query(sql`SELECT g FROM generate_series(1, 10) g`, { maxRows: 10 });
    assert.equal(result.rows.length, 10);
    assert.equal(result.truncated, undefined);
  });

  await t.step("caps bytes and says so", async () => {
    const result = await source.query<{ s: string }>(
      sql`SELECT repeat('x', 1000) AS s FROM generate_series(1, 100)`,
      { maxBytes: 10_000 },
    );
    assert.ok(result.rows.length >= 8 && result.rows.length < 10, String(result.rows.length));
    assert.deepEqual(result.truncated, { reason: "max_bytes", limit: 10_000 });
  });

  await t.step("runs statements that are not SELECTs (SHOW, EXPLAIN)", async () => {
    const show = await source.query<Record<string, string>>(sql`SHOW transaction_read_only`);
    assert.equal(Object.values(show.rows[0])[0], "on");
    const explain = await source.query(sql`EXPLAIN SELECT * FROM orders WHERE id = ${1}`);
    assert.ok(explain.rows.length > 0);
  });

  await t.step("answers a syntax error as a query error", async () => {
    await assert.rejects(
      source.query(sql`SELEC 1`),
      (e) => e instanceof DatabaseError && e.kind === "query" && e.code === "42601",
    );
  });

  await t.step("answers ping and refuses a query whose signal already aborted", async () => {
    await source.ping();
    await assert.rejects(
      source.query(sql`SELECT 1`, { signal: AbortSignal.abort(new Error("gone")) }),
      /gone/,
    );
  });

  await t.step("left every table unchanged", async () => {
    assert.equal(await checksum(), before);
  });
}

/** A function that writes when called: a SELECT calling it must still change nothing. */
export const EVIL_WRITE_FUNCTION_SQL = `
CREATE FUNCTION evil_write() RETURNS int LANGUAGE sql AS $$
  DELETE FROM orders;
  SELECT 1;
$$;`;
