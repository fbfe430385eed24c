import assert from "node:assert/strict";
import { createMetrics, type Metrics } from "../../../src/observability/metrics.ts";
import { pgliteSource, startPglite } from "../../../src/sources/db/pglite.ts";
import { openPostgres } from "../../../src/sources/db/postgres.ts";
import { DatabaseError, sql, type SqlSource } from "../../../src/sources/db/sql_source.ts";
import { createTestDatabase, postgresUnavailable } from "./pg_fixture.ts";

/** The pool gauges as a scrape shows them. */
async function scrape(metrics: Metrics): Promise<{ inUse: number; idle: number; waiting: number }> {
  const text = await metrics.registry.metrics();
  const read = (pattern: RegExp) => {
    const match = pattern.exec(text);
    assert.ok(match, `${pattern} in:\n${text}`);
    return Number(match[1]);
  };
  return {
    inUse: read(/^db_pool_connections\{state="in_use"\} (\d+)$/m),
    idle: read(/^db_pool_connections\{state="idle"\} (\d+)$/m),
    waiting: read(/^db_pool_waiting (\d+)$/m),
  };
}

function metricsOf(source: SqlSource): Metrics {
  const metrics = createMetrics({ processMetrics: false });
  metrics.observeDbPool(() => source.poolStats?.());
  return metrics;
}

/** Polls `probe` until it returns `want` (or fails after `ms`). */
async function until<T>(probe: () => Promise<T>, want: T, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  let last: T;
  do {
    last = await probe();
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 20));
  } while (performance.now() < end);
  assert.fail(`still ${last} after ${ms} ms, want ${want}`);
}

Deno.test({
  name: "PostgreSQL pool gauges: in use, idle and waiting move by exactly the calls in flight",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    // Three connections at most.
    const source = openPostgres({
      url: db.url,
      poolSize: 2,
      poolMaxOverflow: 1,
      recycleSeconds: 1800,
      idleTimeoutSeconds: 60,
      connectTimeoutSeconds: 3,
      queryTimeoutMs: 10_000,
      limits: { maxRows: 10, maxBytes: 1 << 20 },
    });
    const metrics = metricsOf(source);
    // What the server sees of our pool: its backends, and those running a statement.
    const backends = async (state?: "active") =>
      (await db.admin`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'mcp-tool-server'
          AND (${state ?? null}::text IS NULL OR state = ${state ?? null})`)[0].n as number;
    const sleep = (seconds: number) =>
      source.query(sql`SELECT pg_sleep(${seconds}::float8)`).then(() => "done");
    try {
      await t.step("an unused pool reports nothing open", async () => {
        assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 0, waiting: 0 });
      });

      await t.step(
        "five sleeps on three connections: 3 in use, 2 waiting, then 2 in use and 1 idle",
        async () => {
          const first = [1, 2, 3].map(() => sleep(1));
          const second = [4, 5].map(() => sleep(1));
          await until(() => backends("active"), 3);
          assert.deepEqual(await scrape(metrics), { inUse: 3, idle: 0, waiting: 2 });
          assert.deepEqual(await Promise.all(first), ["done", "done", "done"]);
          await until(() => backends("active"), 2);
          assert.deepEqual(await scrape(metrics), { inUse: 2, idle: 1, waiting: 0 });
          assert.deepEqual(await Promise.all(second), ["done", "done"]);
          // Back to rest: every connection open and idle, as the server counts them.
          assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 3, waiting: 0 });
          assert.equal(await backends(), 3);
        },
      );

      await t.step("a caller that gives up waiting stops counting at once", async () => {
        const hogs = [1, 2, 3].map(() => sleep(0.8));
        await until(() => backends("active"), 3);
        const late = source.query(sql`SELECT 1`, { timeoutMs: 300 });
        // Counted from the call itself, before any I/O.
        assert.deepEqual(await scrape(metrics), { inUse: 3, idle: 0, waiting: 1 });
        await assert.rejects(late, (e) => e instanceof DatabaseError && e.kind === "busy");
        assert.deepEqual(await scrape(metrics), { inUse: 3, idle: 0, waiting: 0 });
        await Promise.all(hogs);
        assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 3, waiting: 0 });
      });

      await t.step("a connection the server drops leaves the idle count", async () => {
        await db.admin`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE pid = (SELECT min(pid) FROM pg_stat_activity
                       WHERE datname = current_database() AND application_name = 'mcp-tool-server')`;
        await until(async () => (await scrape(metrics)).idle, 2);
        assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 2, waiting: 0 });
        assert.equal(await backends(), 2);
      });

      await t.step("ping borrows a connection and gives it back", async () => {
        const pinging = source.ping();
        const during = await scrape(metrics);
        assert.equal(during.inUse + during.waiting, 1);
        assert.equal(during.inUse + during.idle, 2);
        await pinging;
        assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 2, waiting: 0 });
      });

      await t.step("closing the pool closes every connection", async () => {
        await source.close();
        assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 0, waiting: 0 });
        assert.equal(await backends(), 0);
      });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test("PGlite pool gauges: its one session in use, the other calls waiting", async () => {
  const db = await startPglite();
  const source = pgliteSource(db);
  const metrics = metricsOf(source);
  try {
    assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 1, waiting: 0 });
    // PGlite runs one call at a time: of three started together, one runs, two wait.
    const calls = [1, 2, 3].map((i) => source.query(sql`SELECT ${i}::int AS i`));
    assert.deepEqual(await scrape(metrics), { inUse: 1, idle: 0, waiting: 2 });
    assert.deepEqual((await Promise.all(calls)).map((r) => r.rows[0].i), [1, 2, 3]);
    assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 1, waiting: 0 });
    // A failing query gives the session back too.
    await assert.rejects(source.query(sql`SELECT * FROM no_such_table`), DatabaseError);
    assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 1, waiting: 0 });
  } finally {
    await source.close();
  }
  assert.deepEqual(await scrape(metrics), { inUse: 0, idle: 0, waiting: 0 });
});
