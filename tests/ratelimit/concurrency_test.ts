/**
 * The per-key concurrency limit: its bookkeeping, and through both doors of
 * a real app on real PostgreSQL (a throw-away database), where one key's
 * slow statements in parallel must not starve another key.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import {
  createConcurrencyLimit,
  defaultConcurrencyLimit,
} from "../../src/ratelimit/concurrency.ts";
import { sql } from "../../src/sources/db/sql_source.ts";
import { defineTool } from "../../src/tools/define.ts";
import { ToolError } from "../../src/tools/errors.ts";
import { createTestApp, MCP_HEADERS, mcpToolCall, postJson, SECONDARY_KEY } from "../harness.ts";
import { createTestDatabase, postgresUnavailable } from "../sources/db/pg_fixture.ts";

Deno.test("defaultConcurrencyLimit() is half the pool, at least 1", () => {
  assert.deepEqual([1, 2, 3, 4, 10, 11].map(defaultConcurrencyLimit), [1, 1, 1, 2, 5, 5]);
});

Deno.test("createConcurrencyLimit() bounds each key on its own and frees slots on release", () => {
  const limited: string[] = [];
  const bound = createConcurrencyLimit({ limit: 3, onLimited: (id) => limited.push(id) });
  const a1 = bound.acquire("a", 1);
  const a2 = bound.acquire("a", 2);
  assert.equal(bound.running("a"), 3);
  assert.throws(
    () => bound.acquire("a", 1),
    (e) =>
      e instanceof ToolError && e.status === "concurrency_limited" && e.httpStatus === 429 &&
      e.headers?.["retry-after"] === "1" && e.extra?.max_concurrent_calls === 3,
  );
  assert.deepEqual(limited, ["a"]);
  const b = bound.acquire("b", 3);
  a1();
  a1(); // a second release gives nothing back twice
  assert.equal(bound.running("a"), 2);
  bound.acquire("a", 1)();
  a2();
  b();
  assert.equal(bound.running("a"), 0);
  assert.equal(bound.running("b"), 0);
});

Deno.test("createConcurrencyLimit() refuses a batch larger than the whole bound as bad input", () => {
  const bound = createConcurrencyLimit({ limit: 2 });
  assert.throws(
    () => bound.acquire("a", 3),
    (e) => e instanceof ToolError && e.status === "invalid_input" && /at most 2/.test(e.message),
  );
  assert.equal(bound.running("a"), 0);
});

const sleepy = defineTool({
  name: "sleepy",
  description: "Holds a connection for a while.",
  input: z.strictObject({ seconds: z.number().min(0).max(5) }),
  timeoutSeconds: 10,
  handler: async ({ seconds }, ctx) => {
    await ctx.sql.query(sql`SELECT pg_sleep(${seconds}::float8)`);
    return { slept: seconds };
  },
});
const quick = defineTool({
  name: "quick",
  description: "One fast statement.",
  input: z.strictObject({}),
  handler: async (_input, ctx) => (await ctx.sql.query(sql`SELECT 1 AS one`)).rows[0],
});

Deno.test({
  name: "one key's slow calls in parallel cannot hold the pool: the rest get 429, another key runs",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const app = await createTestApp({
      tools: [sleepy, quick],
      // A pool of 4 (no overflow): by default one key may run 2 calls at once.
      env: { DB_URL: db.url, DB_POOL_SIZE: "4", DB_POOL_MAX_OVERFLOW: "0" },
    });
    try {
      // The pool connects in the background; wait until a statement runs.
      for (let tries = 0;; tries++) {
        const res = await postJson(app, "/v1/mcp/quick", {}, { key: SECONDARY_KEY });
        await res.body?.cancel();
        if (res.status === 200) break;
        assert.ok(tries < 100, "database never came up");
        await new Promise((r) => setTimeout(r, 50));
      }
      const flood = Array.from(
        { length: 8 },
        () => postJson(app, "/v1/mcp/sleepy", { seconds: 1 }),
      );
      await new Promise((r) => setTimeout(r, 150));

      // While the flood runs, the other key is served at once, on both doors.
      const started = performance.now();
      const other = await postJson(app, "/v1/mcp/quick", {}, { key: SECONDARY_KEY });
      const otherMs = performance.now() - started;
      assert.equal(other.status, 200, await other.clone().text());
      assert.deepEqual(await other.json(), { one: 1 });
      assert.ok(otherMs < 500, `another key waited ${Math.round(otherMs)} ms`);
      const otherMcp = await app.request("/mcp", {
        method: "POST",
        headers: MCP_HEADERS,
        key: SECONDARY_KEY,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 7,
          method: "tools/call",
          params: { name: "quick", arguments: {} },
        }),
      });
      assert.equal(otherMcp.status, 200);
      assert.equal((await otherMcp.json()).result.isError, undefined);

      // The flooding key is told it is a concurrency limit, not its rate limit, on both doors.
      const mcp = await mcpToolCall(app, "sleepy", { seconds: 0 });
      assert.equal(mcp.status, 429);
      assert.equal(mcp.headers.get("retry-after"), "1");
      const rpc = await mcp.json();
      assert.equal(rpc.id, 1);
      assert.equal(rpc.error.data.status, "concurrency_limited");

      const answers = await Promise.all(flood);
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429, 429, 429]);
      for (const res of answers) {
        const body = await res.json();
        if (res.status !== 429) continue;
        assert.equal(body.status, "concurrency_limited");
        assert.equal(body.max_concurrent_calls, 2);
        assert.equal(res.headers.get("retry-after"), "1");
        assert.ok(Number(res.headers.get("x-ratelimit-remaining")) > 0, "not the rate limit");
      }

      // Slots are given back: the key runs again once its calls are over.
      const again = await postJson(app, "/v1/mcp/sleepy", { seconds: 0 });
      assert.equal(again.status, 200);
      await again.body?.cancel();
      const metrics = await app.metrics.registry.metrics();
      assert.match(metrics, /concurrency_limit_hits_total\{client_id="primary"\} 7/);
    } finally {
      await app.close();
      await db.drop();
    }
  },
});
