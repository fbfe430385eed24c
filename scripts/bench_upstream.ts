/**
 * The upstream client's overhead against a bare `fetch` of the same URL, on
 * a loopback server answering a small JSON body: sequential latency and
 * throughput at 50 concurrent callers, both measured in the same run.
 *
 * Usage: deno run --allow-net --allow-env scripts/bench_upstream.ts [calls]
 *
 * @module
 */
import { createLogger } from "../src/observability/logger.ts";
import { apiPath } from "../src/sources/http/path.ts";
import { createUpstream } from "../src/sources/http/upstream.ts";

const calls = Number(Deno.args[0] ?? 20_000);
const body = JSON.stringify({ id: 42, name: "Alan Carter", email: "customer42@example.com" });
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => new Response(body, { headers: { "content-type": "application/json" } }),
);
const base = `http://127.0.0.1:${server.addr.port}`;
const upstream = createUpstream({
  name: "bench",
  baseUrl: base,
  attemptTimeoutMs: 10_000,
  maxRetries: 3,
  backoff: { initialMs: 500, factor: 2, maxMs: 10_000 },
  maxConnections: 50,
  circuitFailures: 5,
  circuitMinCallers: 2,
  circuitCooldownMs: 30_000,
  maxResponseBytes: 10 * 1024 * 1024,
  log: createLogger({ level: "error", sinks: [] }),
});
const bareClient = Deno.createHttpClient({ poolMaxIdlePerHost: 50 });

const bare = async () => {
  const res = await fetch(`${base}/customers/42`, {
    headers: { accept: "application/json", "x-request-id": "bench" },
    client: bareClient,
  });
  return await res.json();
};
const viaClient = () => {
  const controller = new AbortController();
  return upstream.getJson(apiPath`/customers/${42}`, {
    signal: controller.signal,
    deadlineAt: performance.now() + 30_000,
    requestId: "bench",
  });
};

async function run(fn: () => Promise<unknown>, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < calls) await fn();
  }));
  return calls / ((performance.now() - started) / 1000);
}

// Warm both paths (JIT, pools), then alternate so drift hits both alike.
await run(bare, 50);
await run(viaClient, 50);
const results: Record<string, number[]> = { bare1: [], client1: [], bare50: [], client50: [] };
for (let round = 0; round < 3; round++) {
  results.bare1.push(await run(bare, 1));
  results.client1.push(await run(viaClient, 1));
  results.bare50.push(await run(bare, 50));
  results.client50.push(await run(viaClient, 50));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
console.log(`calls per run: ${calls}, median of 3 runs`);
console.log(
  `sequential: bare fetch ${m.bare1.toFixed(0)}/s (${(1e6 / m.bare1).toFixed(0)} µs), ` +
    `client ${m.client1.toFixed(0)}/s (${(1e6 / m.client1).toFixed(0)} µs), ` +
    `overhead ${(1e6 / m.client1 - 1e6 / m.bare1).toFixed(0)} µs per call`,
);
console.log(
  `50 callers: bare fetch ${m.bare50.toFixed(0)}/s, client ${m.client50.toFixed(0)}/s, ` +
    `ratio ${(m.client50 / m.bare50).toFixed(2)}×`,
);
upstream.close();
bareClient.close();
await server.shutdown();
