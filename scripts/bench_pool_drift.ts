/**
 * Does a statement cost more the longer the pool has run? After a burst has
 * opened every connection, a few callers at a time run `SELECT 1` in rounds;
 * each round prints µs per statement, for postgres.js's own pool (15
 * connections) and for our PostgreSQL source (10 + 5 overflow), rounds
 * interleaved so machine noise hits both alike.
 *
 * postgres.js 3.4.9's idle queue leaves a hole per statement while more
 * connections are idle than taken, and finds a connection by scanning the
 * holes: its rounds grow slower (~75 → ~84 µs over 160,000 statements with
 * two connections; a server's light load went from 17.5k to 7.2k calls/s in
 * 80 s). Ours lends its own connections and should stay flat.
 *
 *   deno run --allow-net --allow-env scripts/bench_pool_drift.ts <postgres URL> [rounds] [per round]
 *
 * @module
 */
import postgres from "postgres";
import { openPostgres } from "../src/sources/db/postgres.ts";
import { sql } from "../src/sources/db/sql_source.ts";

const url = Deno.args[0];
const rounds = Number(Deno.args[1] ?? 8);
const perRound = Number(Deno.args[2] ?? 40_000);
const callers = 3;
if (!url) {
  console.error("Usage: bench_pool_drift.ts <postgres URL> [rounds] [statements per round]");
  Deno.exit(2);
}

const theirs = postgres(url, { max: 15, idle_timeout: 60, onnotice: () => {} });
const ours = openPostgres({
  url,
  poolSize: 10,
  poolMaxOverflow: 5,
  recycleSeconds: 0,
  idleTimeoutSeconds: 60,
  connectTimeoutSeconds: 5,
  queryTimeoutMs: 10_000,
  limits: { maxRows: 1000, maxBytes: 1 << 20 },
});
const theirCall = () => theirs`SELECT 1 AS one`;
const ourCall = () => ours.query(sql`SELECT 1 AS one`);

/** µs per statement for `n` statements from `callers` callers in a loop each. */
async function round(call: () => Promise<unknown>, n: number): Promise<number> {
  let left = n;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left-- > 0) await call();
    }),
  );
  return (performance.now() - started) * 1000 / n;
}

// The burst: every connection opened at once, as a spike of traffic would.
await Promise.all(Array.from({ length: 15 }, () => theirs`SELECT pg_sleep(0.1)`));
await Promise.all(
  Array.from({ length: 15 }, () => ours.query(sql`SELECT pg_sleep(0.1)`)),
);
console.log(`round  postgres.js pool (µs/stmt)  our source (µs/stmt)   ${callers} callers`);
for (let i = 0; i < rounds; i++) {
  const t = await round(theirCall, perRound);
  const o = await round(ourCall, perRound);
  console.log(
    `${String(i + 1).padStart(5)}  ${t.toFixed(1).padStart(26)}  ${o.toFixed(1).padStart(20)}`,
  );
}
await theirs.end();
await ours.close();
