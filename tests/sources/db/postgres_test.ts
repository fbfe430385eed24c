import assert from "node:assert/strict";
import { openPostgres, type PostgresOptions } from "../../../src/sources/db/postgres.ts";
import { DatabaseError, makeSqlQuery, sql } from "../../../src/sources/db/sql_source.ts";
import postgres from "postgres";
import {
  createTestDatabase,
  postgresUnavailable,
  TEST_DATABASE_URL,
  type TestDatabase,
} from "./pg_fixture.ts";
import { EVIL_WRITE_FUNCTION_SQL, sqlSourceSuite } from "./sql_source_suite.ts";
import { freePort } from "../../process.ts";

const ignore = postgresUnavailable !== undefined;

function options(url: string, overrides: Partial<PostgresOptions> = {}): PostgresOptions {
  return {
    url,
    poolSize: 4,
    poolMaxOverflow: 2,
    recycleSeconds: 1800,
    idleTimeoutSeconds: 60,
    connectTimeoutSeconds: 3,
    queryTimeoutMs: 10_000,
    limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
    ...overrides,
  };
}

/** Our server's backends on the test database (`state`: only those in that state). */
async function ourBackends(db: TestDatabase, state?: "active"): Promise<number> {
  const [{ n }] = await db.admin`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'mcp-tool-server'
      AND (${state ?? null}::text IS NULL OR state = ${state ?? null})`;
  return n;
}

/** Polls `probe` every 50 ms until `done` holds or `ms` pass; returns the last value. */
async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const end = performance.now() + ms;
  let value = await probe();
  while (!done(value) && performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    value = await probe();
  }
  return value;
}

Deno.test({
  name: "PostgreSQL source passes the SQL source suite",
  ignore,
  async fn(t) {
    const db = await createTestDatabase();
    await db.admin.unsafe(EVIL_WRITE_FUNCTION_SQL);
    const source = openPostgres(options(db.url));
    try {
      await sqlSourceSuite(t, source);
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "PostgreSQL source: timeouts, cancellation, killed connections, pool exhaustion",
  ignore,
  async fn(t) {
    const db = await createTestDatabase();
    const source = openPostgres(options(db.url, { poolSize: 2, poolMaxOverflow: 0 }));
    const sleeping = () => ourBackends(db, "active");
    try {
      await t.step("connections start read-only", async () => {
        const { rows } = await source.query<Record<string, string>>(
          sql`SHOW default_transaction_read_only`,
        );
        assert.equal(Object.values(rows[0])[0], "on");
      });

      await t.step("the statement timeout cuts pg_sleep on the server", async () => {
        const started = performance.now();
        await assert.rejects(
          source.query(sql`SELECT pg_sleep(600)`, { timeoutMs: 300 }),
          (e) => e instanceof DatabaseError && e.kind === "timeout" && e.code === "57014",
        );
        assert.ok(performance.now() - started < 3000);
        assert.equal(await sleeping(), 0);
      });

      await t.step("the server-wide timeout applies when the call asks for more", async () => {
        const short = openPostgres(options(db.url, { queryTimeoutMs: 200 }));
        try {
          await assert.rejects(
            short.query(sql`SELECT pg_sleep(600)`, { timeoutMs: 60_000 }),
            (e) => e instanceof DatabaseError && e.kind === "timeout",
          );
        } finally {
          await short.close();
        }
      });

      await t.step(
        "an aborted call answers at once; the server stops the statement at its deadline",
        async () => {
          const controller = new AbortController();
          const started = performance.now();
          const pending = source.query(sql`SELECT pg_sleep(600)`, {
            signal: controller.signal,
            timeoutMs: 1000,
          }).then(() => undefined, (e) => e);
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(await sleeping(), 1);
          controller.abort(new Error("client went away"));
          assert.match(String(await pending), /client went away/);
          assert.ok(performance.now() - started < 600);
          for (let i = 0; i < 100 && await sleeping() > 0; i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          assert.equal(await sleeping(), 0);
          assert.ok(performance.now() - started < 2500);
        },
      );

      await t.step("a burst of abandoned calls leaves every connection usable", async () => {
        // What a load generator hanging up mid-flight does: many calls whose
        // callers go away while their statements are queued or running.
        const calls = Array.from({ length: 40 }, (_, i) => {
          const controller = new AbortController();
          const p = source.query(sql`SELECT pg_sleep(0.05), ${i}::int AS i`, {
            signal: controller.signal,
          })
            .then(() => "done", () => "aborted");
          // Early aborts land while FETCH is still queued behind BEGIN and
          // DECLARE on the wire: the window where postgres.js lost queries.
          setTimeout(() => controller.abort(new Error("gone")), i % 4);
          return p;
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const settled = await Promise.race([
          Promise.all(calls).then(() => true),
          new Promise<false>((r) => timer = setTimeout(() => r(false), 5000)),
        ]);
        clearTimeout(timer);
        assert.ok(settled, "abandoned calls never settled: their connections leaked");
        const started = performance.now();
        const results = await Promise.all(
          Array.from(
            { length: 6 },
            () => source.query<{ one: number }>(sql`SELECT 1 AS one`, { timeoutMs: 3000 }),
          ),
        );
        assert.ok(results.every((r) => r.rows[0].one === 1));
        assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
      });

      await t.step(
        "a connection killed mid-query is 'unavailable', and the pool heals",
        async () => {
          // Settled into a value at once: it fails while the admin query runs.
          const pending = source.query(sql`SELECT pg_sleep(600)`).then(() => undefined, (e) => e);
          await new Promise((r) => setTimeout(r, 300));
          await db.admin`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'mcp-tool-server'
            AND state = 'active'`;
          const error = await pending;
          assert.ok(error instanceof DatabaseError && error.kind === "unavailable", String(error));
          for (let i = 0; i < 4; i++) {
            const { rows } = await source.query<{ one: number }>(sql`SELECT 1 AS one`);
            assert.equal(rows[0].one, 1);
          }
        },
      );

      await t.step("an exhausted pool waits until the deadline, then answers 'busy'", async () => {
        const hogs = [1, 2].map(() =>
          source.query(sql`SELECT pg_sleep(2)`).then(() => "ok", (e) => String(e))
        );
        await new Promise((r) => setTimeout(r, 200));
        const started = performance.now();
        await assert.rejects(
          source.query(sql`SELECT 1`, { timeoutMs: 600 }),
          (e) => e instanceof DatabaseError && e.kind === "busy",
        );
        const waited = performance.now() - started;
        assert.ok(waited > 400 && waited < 1500, `waited ${waited} ms`);
        assert.deepEqual(await Promise.all(hogs), ["ok", "ok"]);
        // Once the hogs are done, the pool serves again.
        assert.equal((await source.query<{ one: number }>(sql`SELECT 1 AS one`)).rows[0].one, 1);
      });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL source: when the caller answers on abort itself, an aborted call is not raced, and one that waited for a connection sends nothing",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(options(db.url, { poolSize: 1, poolMaxOverflow: 0 }));
    try {
      const controller = new AbortController();
      const opts = { signal: controller.signal, callerAnswersOnAbort: true };
      const started = performance.now();
      const running = source.query<{ v: number }>(sql`SELECT pg_sleep(0.4), 7 AS v`, opts);
      // The one connection is busy: this one waits for it. Sent, it would fail
      // with "division by zero".
      const waiting = source.query(sql`SELECT 1/0`, opts).then(() => "answered", (e) => e);
      await new Promise((r) => setTimeout(r, 100));
      controller.abort(new Error("deadline"));
      // The running statement is not raced: its answer comes when it ends.
      assert.equal((await running).rows[0].v, 7);
      assert.ok(performance.now() - started >= 380);
      // The waiting one got its turn after that, and stopped without sending.
      assert.match(String(await waiting), /deadline/);
      assert.deepEqual(source.poolStats?.(), { inUse: 0, idle: 1, waiting: 0 });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "PostgreSQL source: an unreachable database is 'unavailable' at once, not a hang",
  async fn() {
    // A port nothing listens on: connecting is refused straight away.
    const port = freePort();
    const source = openPostgres(options(`postgres://postgres@127.0.0.1:${port}/none`));
    try {
      const started = performance.now();
      await assert.rejects(
        source.query(sql`SELECT 1`),
        (e) => e instanceof DatabaseError && e.kind === "unavailable",
      );
      await assert.rejects(
        source.ping(),
        (e) => e instanceof DatabaseError && e.kind === "unavailable",
      );
      await assert.rejects(
        source.connect(),
        (e) => e instanceof DatabaseError && e.kind === "unavailable",
      );
      assert.ok(performance.now() - started < 3000);
    } finally {
      await source.close();
    }
    // Closed: refused without trying.
    await assert.rejects(source.connect(), /pool is closed/);
  },
});

Deno.test({
  name: "PostgreSQL source: connect() opens the connection the first call then shares",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(options(db.url));
    try {
      // At start: the check is on its way when a call comes in.
      const connecting = source.connect();
      const { rows } = await source.query<{ one: number }>(sql`SELECT 1 AS one`);
      await connecting;
      assert.deepEqual(rows, [{ one: 1 }]);
      // One backend, not one for the check and one for the call.
      assert.equal(await ourBackends(db), 1);
      assert.deepEqual(source.poolStats?.(), { inUse: 0, idle: 1, waiting: 0 });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "docs/SECURITY.md's least-privilege role works: it reads the demo tables and cannot write",
  ignore,
  async fn() {
    const page = await Deno.readTextFile(new URL("../../../docs/SECURITY.md", import.meta.url));
    const block = /\*\*Use a least-privilege role\.\*\*[\s\S]*?```sql\n([\s\S]*?)```/.exec(page)
      ?.[1];
    assert.ok(block, "docs/SECURITY.md has the role's SQL");
    const db = await createTestDatabase();
    const role = `mcp_reader_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
    const dbName = new URL(db.url).pathname.slice(1);
    const statements = block.replaceAll("mcp_reader", role).replaceAll(
      "DATABASE app",
      `DATABASE ${dbName}`,
    )
      .split("\n").filter((l) => !l.startsWith("--")).join("\n");
    const url = new URL(db.url);
    url.username = role;
    url.password = "change-me";
    const source = openPostgres(options(url.toString()));
    try {
      await db.admin.unsafe(statements);
      const { rows } = await source.query<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM orders`,
      );
      assert.equal(rows[0].n, 5000);
      await assert.rejects(
        source.query(sql`DELETE FROM orders`),
        (e) => e instanceof DatabaseError && e.kind === "read_only",
      );
      await assert.rejects(
        source.query(sql`SELECT * FROM pg_authid`),
        (e) => e instanceof DatabaseError && e.code === "42501",
      );
    } finally {
      await source.close();
      await db.admin`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${db.admin(role)}`;
      await db.admin`REVOKE ALL ON SCHEMA public FROM ${db.admin(role)}`;
      await db.drop();
      const server = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
      await server`DROP ROLE IF EXISTS ${server(role)}`;
      await server.end();
    }
  },
});

Deno.test({
  name: "trusted statements wait for a free connection, never queued behind a slow one",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(options(db.url, { poolSize: 2, poolMaxOverflow: 0 }));
    try {
      const direct = { name: "t" };
      // Warm both connections, so neither is still connecting below.
      await Promise.all([
        source.query(sql`SELECT pg_sleep(0.05)`, direct),
        source.query(sql`SELECT pg_sleep(0.05)`, direct),
      ]);
      const started = performance.now();
      const slow = source.query(sql`SELECT pg_sleep(1.5)`, direct);
      const short = source.query(sql`SELECT pg_sleep(0.1)`, direct);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(source.poolStats?.().inUse, 2);
      // Both connections busy: postgres.js's own pool would pipeline this one
      // onto the first (the slow one); a lent connection waits for the short.
      const { rows } = await source.query<{ one: number }>(sql`SELECT 1 AS one`, direct);
      const waited = performance.now() - started;
      assert.deepEqual(rows, [{ one: 1 }]);
      assert.ok(
        waited < 1000,
        `answered after ${Math.round(waited)} ms: queued behind the slow one`,
      );
      await Promise.all([slow, short]);
      assert.deepEqual(source.poolStats?.(), { inUse: 0, idle: 2, waiting: 0 });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name:
    "after a burst, light load reuses one connection; overflow ones close when idle, the pool's own stay",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(
      options(db.url, { poolSize: 2, poolMaxOverflow: 2, idleTimeoutSeconds: 1 }),
    );
    const backends = () => ourBackends(db);
    const pid = async (direct: boolean) =>
      (await source.query<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`, {
        callerWritten: !direct,
      }))
        .rows[0].pid;
    try {
      // Four at once open all four connections.
      const burst = await Promise.all(
        [1, 2, 3, 4].map(async () =>
          (await source.query<{ pid: number }>(
            sql`SELECT pg_backend_pid() AS pid, pg_sleep(0.2)`,
          )).rows[0].pid
        ),
      );
      assert.equal(new Set(burst).size, 4);
      assert.equal(await backends(), 4);
      // One caller at a time: always the same connection, not each in turn
      // (postgres.js's own pool rotates through all four, so none ever idles).
      const pids = new Set<number>();
      for (let i = 0; i < 20; i++) pids.add(await pid(i % 2 === 0));
      assert.equal(pids.size, 1, `sequential calls used ${pids.size} connections`);
      // The two overflow connections close after the idle timeout (1 s)...
      assert.equal(await until(backends, (n) => n <= 2, 5000), 2);
      // ...and the pool's own two stay open, idle.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await backends(), 2);
      assert.deepEqual(source.poolStats?.(), { inUse: 0, idle: 2, waiting: 0 });
      assert.ok(pids.has(await pid(true)));
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "a closed PostgreSQL source refuses calls without connecting",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(options(db.url));
    try {
      await source.query(sql`SELECT 1`);
      await source.close();
      await assert.rejects(
        source.query(sql`SELECT 1`, {}),
        (e) => e instanceof DatabaseError && e.kind === "unavailable",
      );
      await assert.rejects(
        source.ping(),
        (e) => e instanceof DatabaseError && e.kind === "unavailable",
      );
      // Backends of the closed connections may linger a moment; a new one would stay.
      assert.equal(await until(() => ourBackends(db), (n) => n === 0, 3000), 0);
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "connections are replaced after DB_POOL_RECYCLE_SECONDS, between statements",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(
      options(db.url, { poolSize: 1, poolMaxOverflow: 0, recycleSeconds: 1 }),
    );
    const pid = async () =>
      (await source.query<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`, {}))
        .rows[0].pid;
    try {
      const first = await pid();
      assert.equal(await pid(), first);
      // postgres.js ends a connection at its lifetime (up to its jitter on top), once idle.
      const next = await until(pid, (p) => p !== first, 6000);
      assert.notEqual(next, first, "still the first connection after 6 s");
      assert.deepEqual(source.poolStats?.(), { inUse: 0, idle: 1, waiting: 0 });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "openPostgres() keeps the server's statements prepared, never a caller's one-off text",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const source = openPostgres(options(db.url, { poolSize: 1, poolMaxOverflow: 0 }));
    try {
      for (let i = 0; i < 5; i++) {
        await source.query(makeSqlQuery(`SELECT ${i} AS caller_marker_${i}`, []), {
          callerWritten: true,
        });
      }
      await source.query(sql`SELECT 1 AS trusted_marker`);
      const { rows } = await source.query<{ statement: string }>(
        sql`SELECT statement FROM pg_prepared_statements`,
      );
      const texts = rows.map((r) => r.statement).join("\n");
      assert.match(texts, /trusted_marker/);
      assert.doesNotMatch(texts, /caller_marker/);
    } finally {
      await source.close();
      await db.drop();
    }
  },
});
