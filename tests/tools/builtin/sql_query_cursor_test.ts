/**
 * Continuing a truncated result with its cursor, through two app instances
 * sharing `CURSOR_SECRET` (as two replicas behind a load balancer), on
 * PostgreSQL and the embedded database, for `sql_query` and a tools-file
 * SQL tool.
 */
import assert from "node:assert/strict";
import { openPgliteWorker } from "../../../src/sources/db/pglite_worker.ts";
import type { SqlSource } from "../../../src/sources/db/sql_source.ts";
import { createTestApp, postJson, SECONDARY_KEY, type TestApp } from "../../harness.ts";
import { createTestDatabase, postgresUnavailable } from "../../sources/db/pg_fixture.ts";

const SECRET = "shared-cursor-secret-for-two-replicas";

const TOOLS_FILE = `
tools:
  orders_upto:
    kind: sql
    description: Orders with an id up to a bound, in id order.
    statement: SELECT id, status FROM orders WHERE id <= :upto ORDER BY id
    max_rows: 40
    parameters:
      upto: { type: integer, description: highest id, min: 1, max: 10000 }
`;

type Body = Record<string, unknown> & { rows: { id: number }[]; cursor?: string; error?: string };

async function pages(
  apps: TestApp[],
  path: string,
  input: Record<string, unknown>,
): Promise<{ ids: number[]; calls: number }> {
  const ids: number[] = [];
  let cursor: string | undefined;
  let calls = 0;
  do {
    // Alternate replicas: any one continues another's cursor.
    const app = apps[calls % apps.length];
    const res = await postJson(app, path, cursor ? { ...input, cursor } : input);
    const body: Body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    ids.push(...body.rows.map((r) => r.id));
    cursor = body.cursor;
    calls++;
    assert.ok(calls < 50);
  } while (cursor !== undefined);
  return { ids, calls };
}

async function cursorSuite(
  t: Deno.TestContext,
  open: (env: Record<string, string>) => Promise<TestApp>,
): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, TOOLS_FILE);
  const env = {
    ENABLE_SQL_QUERY_TOOL: "true",
    CURSOR_SECRET: SECRET,
    TOOLS_FILE: path,
    RATE_LIMIT_RPM: "10000",
  };
  const a = await open(env);
  const b = await open(env);
  const stranger = await open({ ...env, CURSOR_SECRET: `${SECRET}-elsewhere` });
  const expected = Array.from({ length: 250 }, (_, i) => i + 1);
  const query = {
    query: "SELECT id FROM orders WHERE id <= :upto ORDER BY id",
    params: { upto: 250 },
  };
  try {
    await t.step("sql_query: pages across two replicas add up to the whole result", async () => {
      const { ids, calls } = await pages([a, b], "/v1/mcp/sql_query", { ...query, max_rows: 100 });
      assert.deepEqual(ids, expected);
      assert.equal(calls, 3);
    });

    await t.step("a page cut by the byte cap continues where it stopped", async () => {
      const app = await open({ ...env, MAX_RESULT_BYTES: "2048" });
      try {
        const { ids, calls } = await pages([app], "/v1/mcp/sql_query", {
          ...query,
          query: "SELECT id, md5(id::text) AS h FROM orders WHERE id <= :upto ORDER BY id",
        });
        assert.deepEqual(ids, expected);
        assert.ok(calls >= 6, String(calls));
      } finally {
        await app.close();
      }
    });

    await t.step("a tools-file SQL tool pages the same way", async () => {
      const { ids, calls } = await pages([b, a], "/v1/mcp/orders_upto", { upto: 100 });
      assert.deepEqual(ids, expected.slice(0, 100));
      assert.equal(calls, 3);
    });

    const first: Body = await (await postJson(a, "/v1/mcp/sql_query", { ...query, max_rows: 100 }))
      .json();
    const cursor = first.cursor!;
    const refusals: [string, TestApp, Record<string, unknown>, string | undefined, RegExp][] = [
      [
        "another key's cursor",
        b,
        { ...query, max_rows: 100, cursor },
        SECONDARY_KEY,
        /another API key/,
      ],
      ["other arguments", b, { ...query, max_rows: 50, cursor }, undefined, /another call/],
      [
        "another query",
        b,
        { query: "SELECT id FROM customers ORDER BY id", max_rows: 100, cursor },
        undefined,
        /another call/,
      ],
      ["another tool", b, { upto: 250, cursor }, undefined, /another call/],
      [
        "a changed cursor",
        b,
        { ...query, max_rows: 100, cursor: cursor.replace(/.$/, (c) => c === "A" ? "B" : "A") },
        undefined,
        /not issued by this server/,
      ],
      [
        "a replica with another secret",
        stranger,
        { ...query, max_rows: 100, cursor },
        undefined,
        /not issued by this server/,
      ],
      [
        "a cursor on a statement that is not a SELECT",
        b,
        { query: "SHOW search_path", cursor },
        undefined,
        /Only a SELECT/,
      ],
    ];
    for (const [name, app, input, key, reason] of refusals) {
      await t.step(`refuses ${name} with a 400`, async () => {
        const tool = "upto" in input ? "orders_upto" : "sql_query";
        const res = await postJson(app, `/v1/mcp/${tool}`, input, key ? { key } : {});
        const body = await res.json();
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(body.status, "invalid_input");
        assert.match(body.error, reason);
      });
    }
  } finally {
    await Promise.all([a.close(), b.close(), stranger.close()]);
    await Deno.remove(path);
  }
}

Deno.test({
  name: "result cursors on PostgreSQL: two replicas sharing CURSOR_SECRET",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    try {
      await cursorSuite(t, (env) => createTestApp({ tools: [], env: { DB_URL: db.url, ...env } }));
    } finally {
      await db.drop();
    }
  },
});

Deno.test("result cursors on the embedded database: two replicas sharing CURSOR_SECRET", async (t) => {
  const source: SqlSource = await openPgliteWorker({
    limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
    queryTimeoutMs: 2000,
  });
  try {
    await cursorSuite(t, async (env) => {
      if (env.MAX_RESULT_BYTES === undefined) return createTestApp({ tools: [], env, sql: source });
      // A source's caps are its own: a smaller byte cap needs a source of its own.
      const small = await openPgliteWorker({
        limits: { maxRows: 1000, maxBytes: Number(env.MAX_RESULT_BYTES) },
        queryTimeoutMs: 2000,
      });
      const app = await createTestApp({ tools: [], env, sql: small });
      return { ...app, close: () => app.close().finally(() => small.close()) };
    });
  } finally {
    await source.close();
  }
});
