/**
 * What running the embedded database in a worker costs, against PGlite on
 * the server's thread: start-up, the latency of `lookup_customer`'s query
 * (straight on the source, and through the whole app's REST door), and how
 * long the database is away after a statement is cut at its deadline.
 *
 *   deno run --allow-net --allow-env --allow-read --allow-write scripts/bench_pglite_worker.ts [rounds]
 *
 * Rounds alternate the two ways so a busy machine hurts both alike.
 *
 * @module
 */
import { createApp } from "../src/app.ts";
import { parseConfig } from "../src/config/env.ts";
import { BUILTIN_TOOLS } from "../src/tools/builtin/mod.ts";
import { DEMO_SNAPSHOT, pgliteSource, startPglite } from "../src/sources/db/pglite.ts";
import { openPgliteWorker } from "../src/sources/db/pglite_worker.ts";
import { sql, type SqlSource } from "../src/sources/db/sql_source.ts";

const rounds = Number(Deno.args[0] ?? 3);
const QUERIES = 2000;
const LIMITS = { maxRows: 1000, maxBytes: 10 * 1024 * 1024 };
const KEY = "bench-key-0123456789abcdef";

type Way = "in-thread" | "worker";

async function open(way: Way): Promise<SqlSource> {
  return way === "worker"
    ? await openPgliteWorker({ limits: LIMITS, queryTimeoutMs: 10_000 })
    : pgliteSource(await startPglite({ dataDir: DEMO_SNAPSHOT }), LIMITS);
}

function stats(ms: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(mean) };
}

const results: Record<string, Record<Way, number[][] | number[]>> = {};
function record(name: string, way: Way, value: number | number[]): void {
  results[name] ??= { "in-thread": [], worker: [] };
  (results[name][way] as unknown[]).push(value);
}

for (let round = 0; round < rounds; round++) {
  for (const way of ["in-thread", "worker"] as const) {
    // Start-up: ready to answer its first query.
    let started = performance.now();
    const source = await open(way);
    await source.query(sql`SELECT 1`);
    record("start (ms)", way, performance.now() - started);

    // lookup_customer's query, one at a time.
    for (let i = 0; i < 200; i++) {
      await source.query(sql`SELECT id, name, email FROM customers WHERE id = ${i + 1}`);
    }
    const each: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      await source.query(sql`SELECT id, name, email FROM customers WHERE id = ${(i % 1000) + 1}`, {
        timeoutMs: 10_000,
      });
      each.push(performance.now() - t);
    }
    record("lookup query on the source (ms)", way, each);

    // The same through the app: REST door, auth, validation, the tool, JSON.
    const app = await createApp({
      config: parseConfig({
        API_KEY_PRIMARY: KEY,
        LOG_LEVEL: "error",
        RATE_LIMIT_RPM: "1000000",
        MAX_CONCURRENT_CALLS_PER_KEY: "100000",
      }),
      logSinks: [],
      sql: source,
      tools: BUILTIN_TOOLS,
      processMetrics: false,
    });
    const call = (id: number) =>
      app.handler(
        new Request("http://127.0.0.1:8000/v1/mcp/lookup_customer", {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ id }),
        }),
      );
    for (let i = 0; i < 200; i++) await (await call(i + 1)).arrayBuffer();
    const viaApp: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      const res = await call((i % 1000) + 1);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`lookup_customer answered ${res.status}`);
      viaApp.push(performance.now() - t);
    }
    record("lookup_customer through the app (ms)", way, viaApp);
    // 8 callers at once: the worker lets HTTP work overlap the database's.
    started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < QUERIES / 8; i++) {
          await (await call(((c * 97 + i) % 1000) + 1)).arrayBuffer();
        }
      }),
    );
    record(
      "lookup_customer, 8 concurrent callers (calls/s)",
      way,
      QUERIES / ((performance.now() - started) / 1000),
    );
    await app.close();

    if (way === "worker") {
      // Cut a statement, then time until the database answers again.
      await source.query(sql`SELECT pg_sleep(600)`, { timeoutMs: 200 }).catch(() => {});
      started = performance.now();
      await source.query(sql`SELECT 1`, { timeoutMs: 10_000 });
      record("back after a cut statement (ms)", way, performance.now() - started);
    }
    await source.close();
  }
}

const summary: Record<string, Record<string, unknown>> = {};
for (const [name, ways] of Object.entries(results)) {
  summary[name] = {};
  for (const [way, values] of Object.entries(ways)) {
    if (values.length === 0) continue;
    summary[name][way] = Array.isArray(values[0])
      ? stats((values as number[][]).flat())
      : stats(values as number[]);
  }
}
console.log(JSON.stringify(summary, null, 2));
