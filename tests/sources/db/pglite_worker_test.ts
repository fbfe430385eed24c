import assert from "node:assert/strict";
import { buildPgliteWorker, WORKER_BUNDLE } from "../../../scripts/build_pglite_worker.ts";
import { DEMO_CHECKSUM_SQL } from "../../../src/sources/db/demo_data.ts";
import { openPgliteWorker } from "../../../src/sources/db/pglite_worker.ts";
import {
  DatabaseError,
  sql,
  type SqlQuery,
  type SqlSource,
} from "../../../src/sources/db/sql_source.ts";
import { compilePermissionFlags, runDeno, spawnServer } from "../../process.ts";
import { EVIL_WRITE_FUNCTION_SQL, sqlSourceSuite } from "./sql_source_suite.ts";

const LIMITS = { maxRows: 1000, maxBytes: 10 * 1024 * 1024 };

/** A query from trusted literal text (the fixture's own SQL). */
function literal(text: string): SqlQuery {
  return sql([text] as unknown as TemplateStringsArray);
}

async function checksum(source: SqlSource): Promise<string> {
  return (await source.query<{ digest: string }>(literal(DEMO_CHECKSUM_SQL))).rows[0].digest;
}

/**
 * Records the longest pause of this thread's event loop while `work` runs:
 * a statement running on this thread would show up as a pause as long as
 * the statement.
 */
async function longestPause<T>(work: () => Promise<T>): Promise<{ value: T; pauseMs: number }> {
  let last = performance.now();
  let pauseMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    pauseMs = Math.max(pauseMs, now - last);
    last = now;
  }, 10);
  try {
    const value = await work();
    pauseMs = Math.max(pauseMs, performance.now() - last);
    return { value, pauseMs };
  } finally {
    clearInterval(timer);
  }
}

Deno.test("openPgliteWorker() passes the SQL source suite", async (t) => {
  const source = await openPgliteWorker({
    limits: LIMITS,
    queryTimeoutMs: 10_000,
    setupSql: EVIL_WRITE_FUNCTION_SQL,
  });
  try {
    assert.equal(source.stopsAtDeadline, true);
    await sqlSourceSuite(t, source);
  } finally {
    await source.close();
  }
});

Deno.test("openPgliteWorker() stops pg_sleep(600) and a runaway recursive CTE at the deadline, off the server's thread", async (t) => {
  const restarts: string[] = [];
  const source = await openPgliteWorker({
    limits: LIMITS,
    queryTimeoutMs: 10_000,
    onRestart: (reason) => restarts.push(reason),
  });
  try {
    const before = await checksum(source);
    const runaway = {
      "pg_sleep(600)": sql`SELECT pg_sleep(600)`,
      "WITH RECURSIVE without end": sql`
        WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r`,
    };
    for (const [name, query] of Object.entries(runaway)) {
      await t.step(`${name} is cut at its deadline; the queue behind it is served`, async () => {
        const restartsBefore = restarts.length;
        const started = performance.now();
        const { value, pauseMs } = await longestPause(async () => {
          const cut = source.query(query, { timeoutMs: 800 }).then(
            () => assert.fail("the statement was not cut"),
            (error) => ({ error, ms: performance.now() - started }),
          );
          // Queued behind it, with a deadline long enough to outlast the restart.
          const behind = source.query<{ n: number }>(
            sql`SELECT count(*)::int AS n FROM customers`,
            { timeoutMs: 20_000 },
          );
          return { cut: await cut, behind: await behind };
        });
        const { error, ms } = value.cut;
        assert.ok(error instanceof DatabaseError, String(error));
        assert.equal(error.kind, "timeout");
        assert.equal(error.code, "57014");
        assert.ok(ms >= 700 && ms < 3500, `cut after ${ms} ms`);
        assert.deepEqual(value.behind.rows, [{ n: 1000 }]);
        // This thread kept running throughout (in-thread, the pause is the whole statement).
        assert.ok(pauseMs < 400, `the event loop paused ${pauseMs} ms`);
        assert.equal(restarts.length, restartsBefore + 1);
        assert.match(restarts.at(-1)!, /cut at its deadline/);
      });
    }
    await t.step("every table is unchanged", async () => {
      assert.equal(await checksum(source), before);
    });
  } finally {
    await source.close();
  }
});

Deno.test("openPgliteWorker() replaces a worker whose memory grew past the limit, after answering", async () => {
  const restarts: string[] = [];
  const source = await openPgliteWorker({
    limits: LIMITS,
    queryTimeoutMs: 20_000,
    recycleAboveBytes: 320 * 1048576,
    onRestart: (reason) => restarts.push(reason),
  });
  try {
    await source.query(sql`SELECT count(*) FROM orders`);
    assert.deepEqual(restarts, [], "the demo database starts below the limit");
    // A 200 MB aggregate: answered, then the worker is replaced to give the memory back.
    const { rows } = await source.query<{ n: number }>(
      sql`SELECT length(string_agg(repeat('x', 100000), '')) AS n FROM generate_series(1, 2000)`,
    );
    assert.deepEqual(rows, [{ n: 200_000_000 }]);
    assert.equal(restarts.length, 1);
    assert.match(restarts[0], /memory grew past 320 MiB/);
    const after = await source.query(sql`SELECT count(*)::int AS n FROM customers`, {
      timeoutMs: 20_000,
    });
    assert.deepEqual(after.rows, [{ n: 1000 }]);
    assert.equal(restarts.length, 1);
  } finally {
    await source.close();
  }
});

Deno.test("openPgliteWorker() queue: busy at the caller's deadline, gone at once when the caller aborts", async () => {
  const source = await openPgliteWorker({ limits: LIMITS, queryTimeoutMs: 10_000 });
  try {
    assert.deepEqual(source.poolStats!(), { inUse: 0, idle: 1, waiting: 0 });
    const sleeping = source.query(sql`SELECT pg_sleep(1.5)`, { timeoutMs: 10_000 });
    const waitsTooLong = source.query(sql`SELECT 1`, { timeoutMs: 500 });
    const controller = new AbortController();
    const abandoned = source.query(sql`SELECT 1`, { signal: controller.signal });
    assert.deepEqual(source.poolStats!(), { inUse: 1, idle: 0, waiting: 2 });
    controller.abort(new Error("caller gone"));
    await assert.rejects(abandoned, /caller gone/);
    assert.deepEqual(source.poolStats!(), { inUse: 1, idle: 0, waiting: 1 });
    const started = performance.now();
    await assert.rejects(waitsTooLong, (e) => e instanceof DatabaseError && e.kind === "busy");
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual((await sleeping).rows.length, 1);
    assert.deepEqual(source.poolStats!(), { inUse: 0, idle: 1, waiting: 0 });
  } finally {
    await source.close();
  }
  assert.deepEqual(source.poolStats!(), { inUse: 0, idle: 0, waiting: 0 });
  await assert.rejects(
    source.query(sql`SELECT 1`),
    (e) => e instanceof DatabaseError && e.kind === "unavailable",
  );
});

Deno.test("openPgliteWorker() in a data directory: starts with the demo data, keeps it, holds a lock, recovers from a cut", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pglite-data-" });
  try {
    const first = await openPgliteWorker({
      limits: LIMITS,
      queryTimeoutMs: 10_000,
      directory: dir,
      setupSql: "CREATE TABLE kept AS SELECT 42 AS answer",
    });
    try {
      const { rows } = await first.query(sql`SELECT count(*)::int AS n FROM customers`);
      assert.deepEqual(rows, [{ n: 1000 }]);
      await assert.rejects(
        openPgliteWorker({ limits: LIMITS, queryTimeoutMs: 10_000, directory: dir }),
        /is in use by another process/,
      );
    } finally {
      await first.close();
    }
    await Deno.stat(`${dir}/pgdata/PG_VERSION`);

    const again = await openPgliteWorker({
      limits: LIMITS,
      queryTimeoutMs: 10_000,
      directory: dir,
    });
    try {
      const read = () => again.query<{ answer: number }>(sql`SELECT answer FROM kept`);
      assert.deepEqual((await read()).rows, [{ answer: 42 }]);
      // Cut mid-statement, the worker is replaced without closing PGlite; the
      // next one opens the same folder (Postgres recovers it) and the data is there.
      await assert.rejects(
        again.query(sql`SELECT pg_sleep(600)`, { timeoutMs: 500 }),
        (e) => e instanceof DatabaseError && e.kind === "timeout",
      );
      assert.deepEqual((await read()).rows, [{ answer: 42 }]);
      await assert.rejects(
        again.query(sql`DROP TABLE kept`),
        (e) => e instanceof DatabaseError && e.kind === "read_only",
      );
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const MAIN = new URL("../../../main.ts", import.meta.url).pathname;
const KEY = "pglite-data-dir-key-0123456789";

Deno.test("the server keeps PGLITE_DATA_DIR with read and write permission on that folder only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pglite-server-" });
  const env = {
    API_KEY_PRIMARY: KEY,
    PGLITE_DATA_DIR: dir,
    ENABLE_SQL_QUERY_TOOL: "true",
    DB_QUERY_TIMEOUT_SECONDS: "1",
  };
  const call = (url: string, tool: string, input: unknown) =>
    fetch(`${url}/v1/mcp/${tool}`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify(input),
    });
  try {
    const flags = await compilePermissionFlags();
    const refused = await runDeno(["run", ...flags, MAIN], env);
    assert.equal(refused.code, 1);
    assert.ok(
      refused.stderr.includes(
        `Cannot start: PGLITE_DATA_DIR "${dir}" needs --allow-read=${dir} --allow-write=${dir}`,
      ),
      refused.stderr,
    );

    const granted = [...flags, `--allow-read=${dir}`, `--allow-write=${dir}`];
    for (const round of ["first start: the demo data", "second start: the same folder"]) {
      const server = await spawnServer(["run", ...granted, MAIN], env);
      try {
        const found = await call(server.url, "lookup_customer", { id: 5 });
        assert.equal(found.status, 200, `${round}: ${await found.clone().text()}`);
        assert.equal((await found.json()).id, 5);
        // Cut at its deadline; the worker that replaces it opens the same folder.
        const cut = await call(server.url, "sql_query", { query: "SELECT pg_sleep(600)" });
        assert.equal(cut.status, 504, round);
        await cut.body?.cancel();
        const after = await call(server.url, "sql_query", {
          query: "SELECT count(*)::int AS n FROM orders",
        });
        assert.equal(after.status, 200, `${round}: ${await after.clone().text()}`);
        await after.body?.cancel();
      } finally {
        assert.equal((await server.stop()).code, 0, server.stderr());
      }
      await Deno.stat(`${dir}/pgdata/PG_VERSION`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the committed worker bundle is what `deno task pglite-worker` builds now", async () => {
  const committed = await Deno.readTextFile(WORKER_BUNDLE);
  const fresh = await buildPgliteWorker();
  assert.ok(
    committed === fresh,
    "src/sources/db/pglite_worker_bundle.txt is stale: run `deno task pglite-worker`",
  );
});
