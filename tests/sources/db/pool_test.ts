/**
 * The pool's pipelining on a real PostgreSQL: which statements share a
 * connection, that callers are served in order, and that every statement
 * runs under its own deadline on a shared connection.
 */
import assert from "node:assert/strict";
import { openPostgres, type PostgresOptions } from "../../../src/sources/db/postgres.ts";
import { DatabaseError, sql, type SqlSource } from "../../../src/sources/db/sql_source.ts";
import { MEASURE_EVERY } from "../../../src/sources/db/statement_timings.ts";
import { createTestDatabase, postgresUnavailable } from "./pg_fixture.ts";

const ignore = postgresUnavailable !== undefined;

function open(url: string, overrides: Partial<PostgresOptions> = {}): SqlSource {
  return openPostgres({
    url,
    poolSize: 1,
    poolMaxOverflow: 0,
    recycleSeconds: 1800,
    idleTimeoutSeconds: 60,
    connectTimeoutSeconds: 3,
    queryTimeoutMs: 10_000,
    limits: { maxRows: 1000, maxBytes: 1 << 20 },
    pipelineDepth: 4,
    ...overrides,
  });
}

interface Marked {
  i: number;
  pid: number;
}
/** A fast statement that tells which backend ran it. */
const fast = (source: SqlSource, i: number) =>
  source.query<Marked>(sql`SELECT ${i}::int AS i, pg_backend_pid() AS pid`).then((r) => r.rows[0]);
const slow = (source: SqlSource) =>
  source.query(sql`SELECT pg_sleep(${0.3}::float8)`).then(() => "slept");

/**
 * Twenty measured runs make a statement known to be fast (the first, on a new
 * connection, is not measured). The database's clock counts a backend's waits
 * for a CPU too, so on a busy machine one run can pass the bar and mark the
 * statement slow; it comes back after more runs (one in MEASURE_EVERY is
 * measured then). So a pipelined source runs it until two at once share a
 * connection, within a bound that a statement that never becomes fast fails.
 */
async function learn(source: SqlSource, pipelined = true): Promise<void> {
  for (let i = 0; i < 21; i++) assert.equal((await fast(source, i)).i, i);
  if (!pipelined) return;
  for (let round = 0; round < 20; round++) {
    const pair = [fast(source, 1), fast(source, 2)];
    const stats = source.poolStats?.();
    await Promise.all(pair);
    if (stats?.inUse === 1 && stats.waiting === 0) return;
    for (let i = 0; i < MEASURE_EVERY; i++) await fast(source, i);
  }
  assert.fail("the statement never became known fast");
}

Deno.test({
  name: "pool: known-fast statements are pipelined on as few connections as they fill",
  ignore,
  async fn(t) {
    const db = await createTestDatabase();
    const shared = open(db.url, { poolSize: 3 });
    const single = open(db.url, { pipelineDepth: 1 });
    try {
      await learn(shared);
      await learn(single, false);

      await t.step("four at once share one connection, though two more are there", async () => {
        const calls = [1, 2, 3, 4].map((i) => fast(shared, i));
        // (An idle connection may be open: learning may have opened one.)
        const { inUse, waiting } = shared.poolStats!()!;
        assert.deepEqual({ inUse, waiting }, { inUse: 1, waiting: 0 });
        const rows = await Promise.all(calls);
        assert.deepEqual(rows.map((r) => r.i), [1, 2, 3, 4]);
        assert.equal(new Set(rows.map((r) => r.pid)).size, 1, "one backend ran all four");
      });

      await t.step("past the depth, the next ones take other connections", async () => {
        const calls = [1, 2, 3, 4, 5, 6].map((i) => fast(shared, i));
        const rows = await Promise.all(calls);
        assert.deepEqual(rows.map((r) => r.i), [1, 2, 3, 4, 5, 6]);
        // (A connection not open yet is not pipelined on: it may not open.)
        assert.equal(new Set(rows.slice(0, 4).map((r) => r.pid)).size, 1);
        assert.ok(!rows.slice(4).some((r) => r.pid === rows[0].pid));
      });

      await t.step("with a depth of 1 the same calls queue for the connection", async () => {
        const queued = [1, 2, 3].map((i) => fast(single, i));
        assert.deepEqual(single.poolStats?.(), { inUse: 1, idle: 0, waiting: 2 });
        assert.deepEqual((await Promise.all(queued)).map((r) => r.i), [1, 2, 3]);
      });
    } finally {
      await shared.close();
      await single.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "pool: callers beyond the connections are served in order; a slow one is never overtaken",
  ignore,
  async fn(t) {
    const db = await createTestDatabase();
    const source = open(db.url);
    try {
      await learn(source);

      await t.step("fast ones fill the connection, then wait in line", async () => {
        const calls = [1, 2, 3, 4, 5, 6].map((i) => fast(source, i));
        assert.deepEqual(source.poolStats?.(), { inUse: 1, idle: 0, waiting: 2 });
        assert.deepEqual((await Promise.all(calls)).map((r) => r.i), [1, 2, 3, 4, 5, 6]);
      });

      await t.step("a statement not known to be fast has the connection to itself", async () => {
        const order: string[] = [];
        const sleeping = slow(source).then((v) => (order.push("slow"), v));
        const after = fast(source, 7).then((r) => (order.push("fast"), r.i));
        assert.deepEqual(source.poolStats?.(), { inUse: 1, idle: 0, waiting: 1 });
        assert.deepEqual(await Promise.all([sleeping, after]), ["slept", 7]);
        assert.deepEqual(order, ["slow", "fast"]);
      });

      await t.step(
        "a slow one waiting holds up those behind it, so a connection drains for it",
        async () => {
          const order: string[] = [];
          const first = fast(source, 1).then((r) => (order.push("first"), r.i));
          const sleeping = slow(source).then((v) => (order.push("slow"), v)); // waits: the connection is busy
          // Would fit beside the first, but the slow one is ahead of it in line.
          const third = fast(source, 3).then((r) => (order.push("third"), r.i));
          assert.deepEqual(source.poolStats?.(), { inUse: 1, idle: 0, waiting: 2 });
          assert.deepEqual(await Promise.all([first, sleeping, third]), [1, "slept", 3]);
          assert.deepEqual(order, ["first", "slow", "third"]);
          assert.deepEqual(source.poolStats?.(), { inUse: 0, idle: 1, waiting: 0 });
        },
      );

      await t.step("a waiter who gives up lets those behind it through at once", async () => {
        const sleeping = slow(source); // has the connection
        const controller = new AbortController();
        const leaving = source.query(sql`SELECT pg_sleep(${0.01}::float8)`, {
          signal: controller.signal,
        });
        const behind = fast(source, 9);
        assert.deepEqual(source.poolStats?.()?.waiting, 2);
        controller.abort(new Error("left"));
        await assert.rejects(leaving, /left/);
        assert.deepEqual(source.poolStats?.()?.waiting, 1);
        assert.equal(await sleeping, "slept");
        assert.equal((await behind).i, 9);
      });
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "pool: caller SQL and identity transactions never share a connection, whatever their text",
  ignore,
  async fn(t) {
    const db = await createTestDatabase();
    try {
      await t.step(
        "caller SQL with the text of a known-fast statement waits for its own",
        async () => {
          const source = open(db.url, { pipelineDepth: 8 });
          try {
            await learn(source);
            const text = sql`SELECT ${5}::int AS i, pg_backend_pid() AS pid`;
            const trusted = [fast(source, 1), fast(source, 2)];
            // Its BEGIN … ROLLBACK and session reset would take in whatever was pipelined with it.
            const caller = source.query<Marked>(text, { callerWritten: true });
            assert.deepEqual(source.poolStats?.(), { inUse: 1, idle: 0, waiting: 1 });
            assert.deepEqual((await Promise.all(trusted)).map((r) => r.i), [1, 2]);
            assert.equal((await caller).rows[0].i, 5);
          } finally {
            await source.close();
          }
        },
      );

      await t.step("each identity's transaction has the connection alone", async () => {
        const source = open(db.url, {
          pipelineDepth: 8,
          identitySettings: { "app.user_id": "sub" },
        });
        const as = (sub: string) =>
          source.query<{ u: string }>(
            sql`SELECT current_setting('app.user_id', true) AS u, pg_backend_pid() AS pid`,
            { identity: { sub } },
          ).then((r) => r.rows[0].u);
        try {
          for (let i = 0; i < 25; i++) assert.equal(await as("warm"), "warm");
          // Pipelined, one user's statement would run inside another's transaction.
          const users = ["alice", "bob", "carol"].map(as);
          assert.deepEqual(source.poolStats?.(), { inUse: 1, idle: 0, waiting: 2 });
          assert.deepEqual(await Promise.all(users), ["alice", "bob", "carol"]);
        } finally {
          await source.close();
        }
      });
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "pool: a statement that fails in a pipeline fails alone; those around it are answered",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = open(db.url, { pipelineDepth: 8 });
    const divide = (by: number) =>
      source.query<{ q: number; pid: number }>(
        sql`SELECT 10 / ${by}::int AS q, pg_backend_pid() AS pid`,
      ).then((r) => r.rows[0]);
    try {
      for (let i = 0; i < 21; i++) assert.equal((await divide(1)).q, 10);
      const settled = await Promise.allSettled([1, 0, 2, 5, 0, 10].map(divide));
      const answers = settled.map((s) => s.status === "fulfilled" ? s.value.q : "failed");
      assert.deepEqual(answers, [10, "failed", 5, 2, "failed", 1]);
      const pids = settled.flatMap((s) => s.status === "fulfilled" ? [s.value.pid] : []);
      assert.equal(new Set(pids).size, 1, "all on one connection");
      const failure = settled[1] as PromiseRejectedResult;
      assert.ok(failure.reason instanceof DatabaseError);
      assert.equal(failure.reason.code, "22012"); // division_by_zero
      // The connection is still good, and still shared.
      assert.deepEqual(
        (await Promise.all([3, 4].map(divide))).map((r) => r.pid),
        [pids[0], pids[0]],
      );
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "pool: each pipelined statement runs under its own deadline's statement timeout",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = open(db.url, { pipelineDepth: 8 });
    const setting = (timeoutMs?: number) =>
      source.query<{ t: string; pid: number }>(
        sql`SELECT current_setting('statement_timeout') AS t, pg_backend_pid() AS pid`,
        timeoutMs === undefined ? {} : { timeoutMs },
      ).then((r) => r.rows[0]);
    try {
      for (let i = 0; i < 21; i++) assert.equal((await setting()).t, "10s");
      // Alternating short deadlines (each lowers the session's timeout) and
      // none (the pool's 10 s), all in flight on one connection at once.
      const asked = [2000, undefined, 1500, undefined, 3000, 3000, undefined, 700];
      const rows = await Promise.all(asked.map(setting));
      assert.equal(new Set(rows.map((r) => r.pid)).size, 1, "all on one connection");
      assert.deepEqual(rows.map((r) => r.t), [
        "2s",
        "10s",
        "1500ms",
        "10s",
        "3s",
        "3s",
        "10s",
        "700ms",
      ]);
      // And after them, alone: the pool's own again.
      assert.equal((await setting()).t, "10s");

      // One sent while the statement ahead of it still runs on the server:
      // that one's `SET` (back to 10 s) is what the session will have when
      // it comes, whatever answered first.
      const sleepy = (seconds: number) =>
        source.query<{ t: string }>(
          sql`SELECT current_setting('statement_timeout') AS t, pg_sleep(${seconds}::float8) AS s`,
        ).then((r) => r.rows[0].t);
      for (let i = 0; i < 21; i++) await sleepy(0);
      const a = setting(2000);
      const b = sleepy(0.05); // known fast, so pipelined behind `a`, with its own SET
      const c = a.then(() => setting(2000)); // sent while `b` sleeps
      assert.deepEqual([(await a).t, await b, (await c).t], ["2s", "10s", "2s"]);
    } finally {
      await source.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "pool: a statement that grows slow stops sharing its connection",
  ignore,
  async fn() {
    const db = await createTestDatabase();
    const source = open(db.url);
    // Three texts of the same statement: the database's clock times a run
    // with the backend's waits for a CPU, so on a busy machine one early run
    // of pg_sleep(0) can pass 1 ms and mark its text slow. A text that never
    // becomes known fast in three is a failure; one hiccup is not.
    const texts = [
      (s: number) => sql`SELECT pg_sleep(${s}::float8) AS s`,
      (s: number) => sql`SELECT pg_sleep(${s}::float8) AS s2`,
      (s: number) => sql`SELECT pg_sleep(${s}::float8) AS s3`,
    ];
    const started: Promise<unknown>[] = [];
    let text = texts[0];
    const sleep = (seconds: number) => {
      const run = source.query(text(seconds)).then(() => seconds);
      started.push(run.catch(() => {}));
      return run;
    };
    try {
      let shared = false;
      for (const candidate of texts) {
        text = candidate;
        for (let i = 0; i < 21; i++) await sleep(0);
        const together = [sleep(0), sleep(0)];
        const stats = source.poolStats?.();
        shared = stats?.inUse === 1 && stats.idle === 0 && stats.waiting === 0;
        await Promise.all(together);
        if (shared) break;
      }
      assert.ok(shared, "known fast: shared (none of three texts became known fast)");
      // The same text now takes 20 ms: one run in MEASURE_EVERY is measured,
      // and one measured run over the bar is enough.
      for (let i = 0; i < MEASURE_EVERY; i++) await sleep(0.02);
      const apart = [sleep(0), sleep(0)];
      assert.deepEqual(source.poolStats?.(), { inUse: 1, idle: 0, waiting: 1 }, "no longer shared");
      await Promise.all(apart);
    } finally {
      // Nothing left running against a database about to be dropped.
      await Promise.all(started);
      await source.close();
      await db.drop();
    }
  },
});
