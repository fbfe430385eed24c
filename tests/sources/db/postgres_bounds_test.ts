/**
 * The PostgreSQL source's bounds under hostile values and a hostile network:
 * caller values bound as PostgreSQL checks them (no driver-side date or
 * boolean rewriting, no hung protocol handler), rows read in batches that
 * stop the database at the byte cap, caller mistakes answered as such, and
 * a watchdog that frees a connection whose answer never comes.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  openPostgres,
  type PostgresOptions,
  WATCHDOG_MARGIN_MS,
} from "../../../src/sources/db/postgres.ts";
import { DatabaseError, sql, type SqlQuery } from "../../../src/sources/db/sql_source.ts";
import { postgresUnavailable, TEST_DATABASE_URL } from "./pg_fixture.ts";
import postgres from "postgres";

const ignore = postgresUnavailable !== undefined;

function options(url: string, overrides: Partial<PostgresOptions> = {}): PostgresOptions {
  return {
    url,
    poolSize: 2,
    poolMaxOverflow: 0,
    recycleSeconds: 0,
    idleTimeoutSeconds: 60,
    connectTimeoutSeconds: 3,
    queryTimeoutMs: 2000,
    limits: { maxRows: 1000, maxBytes: 1_000_000 },
    ...overrides,
  };
}

const raw = (text: string): SqlQuery => sql([text] as unknown as TemplateStringsArray);

Deno.test({
  name:
    "PostgreSQL source: hostile values are checked by PostgreSQL, never rewritten, and never leak a connection",
  ignore,
  async fn(t) {
    const source = openPostgres(options(TEST_DATABASE_URL));
    try {
      await t.step(
        "an impossible date is the caller's mistake, thirty times over on two connections",
        async () => {
          for (let i = 0; i < 30; i++) {
            for (const value of ["2024-13-45", "2024-02-30", "not a date", "2024-02-29T25:00:00"]) {
              await assert.rejects(
                source.query(sql`SELECT ${value}::date AS d`),
                (e) => e instanceof DatabaseError && e.kind === "query" && e.code?.startsWith("22"),
                value,
              );
            }
          }
          // Every connection came back.
          assert.deepEqual(source.poolStats!().inUse, 0);
          const { rows } = await source.query<{ d: Date }>(sql`SELECT ${"2024-02-29"}::date AS d`);
          assert.equal(rows[0].d.getUTCDate(), 29);
        },
      );

      await t.step("timestamps and booleans are the server's reading of the text", async () => {
        const { rows } = await source.query<{ t: string; y: boolean; f: boolean }>(
          sql`SELECT ${"2024-03-01 12:00:00+02"}::timestamptz::text AS t, ${"yes"}::boolean AS y, ${"off"}::boolean AS f`,
        );
        assert.equal(rows[0].y, true);
        assert.equal(rows[0].f, false);
        assert.match(rows[0].t, /^2024-03-01 10:00:00\+00|^2024-03-01/);
        await assert.rejects(
          source.query(sql`SELECT ${"maybe"}::boolean AS b`),
          (e) => e instanceof DatabaseError && e.kind === "query" && e.code === "22P02",
        );
      });

      await t.step(
        "a NUL in the text is refused before it is sent, as the caller's mistake",
        async () => {
          await assert.rejects(
            source.query(raw("SELECT 1\0; SELECT 2")),
            (e) => e instanceof DatabaseError && e.kind === "query",
          );
          await assert.rejects(
            source.query(sql`SELECT ${"a\0b"}::text AS t`),
            (e) => e instanceof DatabaseError && e.kind === "query" && e.code === "22021",
          );
          const { rows } = await source.query<{ one: number }>(sql`SELECT 1 AS one`);
          assert.equal(rows[0].one, 1);
        },
      );
    } finally {
      await source.close();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL source: the database stops at the caps, whatever the text looks like (batches for caller-written SQL, a row limit on Execute for trusted SQL)",
  ignore,
  async fn(t) {
    // Rows past the 60th would fail the statement: reading them means the
    // database was not stopped at the cap.
    const trap = (prefix: string) =>
      raw(
        // deno-lint-ignore sql-safety/no-sql-interpolation -- the test's own literal prefixes
        `${prefix}SELECT CASE WHEN g > 60 THEN g / 0 ELSE g END AS g, md5(g::text) || repeat('x', 1000) AS pad
         FROM generate_series(1, 100000) g`,
      );
    const source = openPostgres(options(TEST_DATABASE_URL, {
      limits: { maxRows: 1000, maxBytes: 20_000 },
    }));
    try {
      for (
        const [name, prefix] of [
          ["plain", ""],
          ["after a -- comment ended by a bare CR", "-- c\r"],
          ["in parentheses", ""],
        ]
      ) {
        await t.step(`${name}: cut at the byte cap, and says so`, async () => {
          const query = name === "in parentheses"
            // deno-lint-ignore sql-safety/no-sql-interpolation -- the test's own statement, parenthesized
            ? raw(`(${trap("").text})`)
            : trap(prefix);
          const result = await source.query<{ g: number }>(query, {
            prepare: false,
            callerWritten: true,
          });
          assert.deepEqual(result.truncated, { reason: "max_bytes", limit: 20_000 });
          assert.ok(result.rows.length > 5 && result.rows.length < 60, String(result.rows.length));
        });
      }
      await t.step(
        "after a statement that failed mid-rows, the next result has no holes",
        async () => {
          const failing = raw(
            "SELECT CASE WHEN g > 60 THEN g / 0 ELSE g END AS g FROM generate_series(1, 100) g",
          );
          await assert.rejects(source.query(failing), (e) => e instanceof DatabaseError);
          const next = await source.query<{ one: number }>(sql`SELECT 1 AS one`);
          assert.deepEqual(next.rows, [{ one: 1 }]);
        },
      );
      await t.step("a SHOW or EXPLAIN answer arrives whole", async () => {
        const shown = await source.query<Record<string, string>>(sql`SHOW statement_timeout`);
        assert.deepEqual(Object.values(shown.rows[0]), ["2s"]);
        const plan = await source.query(raw("EXPLAIN SELECT * FROM generate_series(1, 10)"));
        assert.ok(plan.rows.length >= 1);
      });
      await t.step(
        "the row cap stops it too, one row past the cap telling 'more' from 'exactly'",
        async () => {
          const exact = await source.query(raw("SELECT g FROM generate_series(1, 5) g"), {
            maxRows: 5,
          });
          assert.equal(exact.rows.length, 5);
          assert.equal(exact.truncated, undefined);
          for (const callerWritten of [false, true]) {
            for (const prefix of ["", "-- c\r"]) {
              const more = await source.query(trap(prefix), { maxRows: 5, callerWritten });
              assert.equal(more.rows.length, 5);
              assert.deepEqual(more.truncated, { reason: "max_rows", limit: 5 });
            }
          }
        },
      );
    } finally {
      await source.close();
    }
  },
});

/**
 * A TCP proxy to PostgreSQL that can stop passing the server's answers on
 * (a wedged network or a stuck driver, as the caller sees it).
 */
function freezingProxy(target: URL) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let frozen = false;
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
      conns.add(client).add(server);
      const pump = async (from: Deno.Conn, to: Deno.Conn, freezable: boolean) => {
        const buf = new Uint8Array(64 * 1024);
        try {
          for (;;) {
            const n = await from.read(buf);
            if (n === null) break;
            if (freezable && frozen) continue;
            await to.write(buf.subarray(0, n));
          }
        } catch { /* closed */ }
        for (const c of [from, to]) {
          try {
            c.close();
          } catch { /* already */ }
          conns.delete(c);
        }
      };
      pump(client, server, false);
      pump(server, client, true);
    }
  })().catch(() => {});
  const url = new URL(target);
  url.port = String((listener.addr as Deno.NetAddr).port);
  return {
    url: url.toString(),
    freeze(on: boolean) {
      frozen = on;
    },
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already */ }
      }
    },
  };
}

Deno.test({
  name:
    "PostgreSQL source: a connection whose answer never comes is destroyed by the watchdog, and its slot comes back",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const proxy = freezingProxy(new URL(TEST_DATABASE_URL));
    const source = openPostgres(options(proxy.url, { poolSize: 1, queryTimeoutMs: 500 }));
    try {
      assert.equal((await source.query<{ one: number }>(sql`SELECT 1 AS one`)).rows[0].one, 1);
      proxy.freeze(true);
      const started = performance.now();
      await assert.rejects(
        source.query(sql`SELECT 2 AS two`),
        (e) =>
          e instanceof DatabaseError && e.kind === "unavailable" &&
          /did not settle/.test(e.message),
      );
      const waited = performance.now() - started;
      assert.ok(waited >= 500 + WATCHDOG_MARGIN_MS - 50, `answered after ${waited} ms`);
      assert.equal(source.poolStats!().inUse, 0);
      proxy.freeze(false);
      // The one slot serves again, on a fresh connection.
      assert.equal(
        (await source.query<{ three: number }>(sql`SELECT 3 AS three`)).rows[0].three,
        3,
      );
    } finally {
      await source.close();
      proxy.close();
    }
  },
});

Deno.test({
  name:
    "postgres.js results (vendored, PATCHES.md hunk 4): the rows are the only own properties, the result's fields read and write as published",
  ignore,
  async fn() {
    const client = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const result = await client.unsafe(
        "SELECT n, n * 2 AS twice FROM generate_series(1, 3) AS n",
      );
      assert.ok(Array.isArray(result));
      // Nothing but the rows is an own property (the published class defined
      // five non-enumerable ones on each result, ~3 µs a query): spreading,
      // Object.keys, JSON and deep comparisons see a plain array of rows.
      assert.deepEqual(Object.getOwnPropertyNames(result), ["0", "1", "2", "length"]);
      assert.equal(
        JSON.stringify(result),
        '[{"n":1,"twice":2},{"n":2,"twice":4},{"n":3,"twice":6}]',
      );
      assert.deepEqual([...result], [{ n: 1, twice: 2 }, { n: 2, twice: 4 }, { n: 3, twice: 6 }]);
      // The fields the driver fills.
      assert.equal(result.count, 3);
      assert.equal(result.command, "SELECT");
      assert.deepEqual(result.columns.map((c) => c.name), ["n", "twice"]);
      assert.equal(typeof result.statement.string, "string");
      assert.ok(result.state !== null && typeof result.state === "object");
      // Derived arrays are plain arrays, as published (Symbol.species).
      assert.equal(result.map((r) => r.n).constructor, Array);
      // Each result keeps its own fields.
      const other = await client.unsafe("SELECT 1 AS one");
      assert.equal(other.count, 1);
      assert.equal(result.count, 3);
      const writable = result as unknown as { count: number };
      writable.count = 7;
      assert.equal(result.count, 7);
      assert.equal(other.count, 1);
    } finally {
      await client.end();
    }
  },
});
