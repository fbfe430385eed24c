/**
 * The cost of the read-only wrapper: the same primary-key lookup through a
 * bare postgres.js query and through our PostgreSQL source (BEGIN READ ONLY +
 * SET LOCAL statement_timeout + cursor + COMMIT, pipelined), interleaved in
 * one run so machine noise hits both alike.
 *
 *   deno run --allow-net --allow-env scripts/bench_sql_wrapper.ts <postgres URL with the demo data> [calls]
 *
 * @module
 */
import postgres from "postgres";
import { openPostgres } from "../src/sources/db/postgres.ts";
import { sql } from "../src/sources/db/sql_source.ts";

const url = Deno.args[0];
const calls = Number(Deno.args[1] ?? 5000);
if (!url) {
  console.error("Usage: bench_sql_wrapper.ts <postgres URL> [calls]");
  Deno.exit(2);
}
const bare = postgres(url, { max: 10, onnotice: () => {} });
const source = openPostgres({
  url,
  // WRAPPED_POOL: try a larger pool for the wrapper (transactions reserve a connection).
  poolSize: Number(Deno.env.get("WRAPPED_POOL") ?? 10),
  poolMaxOverflow: 0,
  recycleSeconds: 0,
  idleTimeoutSeconds: 60,
  connectTimeoutSeconds: 5,
  queryTimeoutMs: 10_000,
  limits: { maxRows: 1000, maxBytes: 10 * 1024 * 1024 },
});
const id = () => 1 + Math.floor(Math.random() * 1000);
const bareCall = () => bare`SELECT id, name, email FROM customers WHERE id = ${id()}`;
const wrappedCall = () =>
  source.query(sql`SELECT id, name, email FROM customers WHERE id = ${id()}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

// Sequential latency, interleaved.
for (let i = 0; i < 200; i++) await Promise.all([bareCall(), wrappedCall()]);
const lat = { bare: [] as number[], wrapped: [] as number[] };
for (let i = 0; i < calls; i++) {
  let t = performance.now();
  await bareCall();
  lat.bare.push(performance.now() - t);
  t = performance.now();
  await wrappedCall();
  lat.wrapped.push(performance.now() - t);
}
// Throughput at 50 concurrent callers, alternating rounds.
async function throughput(fn: () => Promise<unknown>, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (performance.now() < end) {
      await fn();
      done++;
    }
  }));
  return done / (ms / 1000);
}
const tput = { bare: [] as number[], wrapped: [] as number[] };
for (let round = 0; round < 3; round++) {
  tput.bare.push(await throughput(bareCall, 2000));
  tput.wrapped.push(await throughput(wrappedCall, 2000));
}
const mb = median(lat.bare), mw = median(lat.wrapped);
const tb = median(tput.bare), tw = median(tput.wrapped);
console.log(
  `sequential median latency: bare ${(mb * 1000).toFixed(0)} µs, wrapped ${
    (mw * 1000).toFixed(0)
  } µs (+${((mw - mb) * 1000).toFixed(0)} µs, ${(mw / mb).toFixed(2)}x)`,
);
console.log(
  `throughput at 50 callers (in-process): bare ${tb.toFixed(0)}/s, wrapped ${tw.toFixed(0)}/s (${
    (tw / tb).toFixed(2)
  }x)`,
);
await bare.end();
await source.close();
