/**
 * Soak test: minutes of mixed traffic against a spawned server, its RSS
 * sampled every 10 s.
 *
 *   deno run -A scripts/soak.ts [--minutes 10] [--rps 150] [--concurrency 8]
 *                               [--warmup 60] [--max-growth-mb 64]
 *                               [--json soak.json] [--svg soak_rss.svg]  (deno fmt the SVG)
 *
 * The server runs from source with the compile task's permissions, on the
 * embedded database and the demo upstream (DB_URL is passed on when set),
 * logging at info like production, with two keys: the primary one has room
 * for everything, the secondary one only `SECONDARY_RPM` points a minute, so
 * part of its traffic is answered 429. The mix (weights below) covers both
 * doors, SQL and REST tools, tools/list, initialize and ping (the SDK's own
 * path), invalid input on both doors, unknown tools, malformed JSON, a
 * not-found, the secondary key's 429s, and one wrong key every 5 s (401;
 * few enough to stay under the per-address auth-failure limit, which would
 * otherwise lock the soak's own address out).
 *
 * Every answer must have the status its kind expects, and a body of the
 * right shape; anything else (or a connection error) is an unexpected
 * result. The RSS bound: after `--warmup` seconds (caches, JIT, the embedded
 * database's WASM memory), RSS may grow by at most `--max-growth-mb` by the
 * end (median of the last three samples). Exit 1 on any unexpected result,
 * on RSS past the bound, or when no 429 was seen. Linux only (/proc).
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rps: { type: "string", default: "150" },
    concurrency: { type: "string", default: "8" },
    warmup: { type: "string", default: "60" },
    "max-growth-mb": { type: "string", default: "64" },
    json: { type: "string" },
    svg: { type: "string" },
  },
});
const minutes = Number(opts.minutes);
const rps = Number(opts.rps);
const concurrency = Number(opts.concurrency);
const warmupSeconds = Number(opts.warmup);
const maxGrowthMb = Number(opts["max-growth-mb"]);
if (
  ![minutes, rps, concurrency, maxGrowthMb].every((n) => n > 0) || !(warmupSeconds >= 0) ||
  warmupSeconds >= minutes * 60
) {
  console.error("bad arguments: positive numbers, and --warmup shorter than the run");
  Deno.exit(2);
}

const PRIMARY = `soak-primary-${crypto.randomUUID()}`;
const SECONDARY = `soak-secondary-${crypto.randomUUID()}`;
const SECONDARY_RPM = 60;
const SAMPLE_EVERY_MS = 10_000;

// ---------------------------------------------------------------- the server

const root = new URL("..", import.meta.url).pathname;
const compileTask: string = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks.compile;
const permissions = compileTask.split(/\s+/).filter((w) => w.startsWith("--allow-"));
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", ...permissions, "main.ts"],
  cwd: root,
  env: {
    HOST: "127.0.0.1",
    PORT: "0",
    API_KEY_PRIMARY: PRIMARY,
    API_KEY_SECONDARY: SECONDARY,
    RATE_LIMIT_RPM: "1000000",
    // Each key drives many connections: the concurrency bound would refuse most of them.
    MAX_CONCURRENT_CALLS_PER_KEY: "100000",
    RATE_LIMIT_KEY_RPM: `secondary:${SECONDARY_RPM}`,
    LOG_LEVEL: "info",
    ...(Deno.env.get("DB_URL") ? { DB_URL: Deno.env.get("DB_URL")! } : {}),
  },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const base = await startedUrl(child);
const stopServer = async () => {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  return await child.status;
};

// ---------------------------------------------------------------- the traffic

/** One kind of request: how to send it and what a right answer is. */
interface Kind {
  readonly name: string;
  readonly weight: number;
  /** Returns a problem, or undefined when the answer is right. */
  run(): Promise<string | undefined>;
}

const MCP_ACCEPT = "application/json, text/event-stream";
const rand = (n: number) => 1 + Math.floor(Math.random() * n);

async function post(
  path: string,
  body: string,
  key: string = PRIMARY,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: MCP_ACCEPT,
    },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text.slice(0, 200);
  }
  return { status: res.status, headers: res.headers, json };
}

const rpc = (method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id: rand(1e9), method, ...(params ? { params } : {}) });
const call = (name: string, args: unknown) => rpc("tools/call", { name, arguments: args });

/** `problem` when `ok` is false: the status and body, shortened. */
function expect(ok: boolean, r: { status: number; json: unknown }): string | undefined {
  return ok ? undefined : `${r.status} ${JSON.stringify(r.json).slice(0, 240)}`;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const KINDS: Kind[] = [
  {
    name: "REST lookup_customer",
    weight: 18,
    async run() {
      const id = rand(1000);
      const r = await post("/v1/mcp/lookup_customer", JSON.stringify({ id }));
      return expect(r.status === 200 && (r.json as Any).id === id, r);
    },
  },
  {
    name: "MCP get_top_customers",
    weight: 10,
    async run() {
      const r = await post("/mcp", call("get_top_customers", { limit: 5, offset: rand(50) - 1 }));
      return expect(
        r.status === 200 && (r.json as Any).result?.structuredContent?.customers?.length === 5,
        r,
      );
    },
  },
  {
    name: "REST get_customer (upstream)",
    weight: 12,
    async run() {
      const id = rand(1000);
      const r = await post("/v1/mcp/get_customer", JSON.stringify({ customer_id: id }));
      return expect(r.status === 200 && (r.json as Any).id === id, r);
    },
  },
  {
    name: "MCP get_customer (upstream)",
    weight: 8,
    async run() {
      const id = rand(1000);
      const r = await post("/mcp", call("get_customer", { customer_id: id }));
      return expect(r.status === 200 && (r.json as Any).result?.structuredContent?.id === id, r);
    },
  },
  {
    name: "MCP tools/list",
    weight: 4,
    async run() {
      const r = await post("/mcp", rpc("tools/list"));
      return expect(r.status === 200 && (r.json as Any).result?.tools?.length >= 4, r);
    },
  },
  {
    name: "MCP initialize + ping (SDK path)",
    weight: 4,
    async run() {
      const init = await post(
        "/mcp",
        rpc("initialize", {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "soak", version: "1" },
        }),
      );
      const bad = expect(
        init.status === 200 && (init.json as Any).result?.serverInfo?.name === "mcp-tool-server",
        init,
      );
      if (bad) return bad;
      const ping = await post("/mcp", rpc("ping"));
      return expect(ping.status === 200 && (ping.json as Any).result !== undefined, ping);
    },
  },
  {
    name: "REST invalid input (400)",
    weight: 8,
    async run() {
      const r = await post("/v1/mcp/lookup_customer", JSON.stringify({ id: "x", extra: 1 }));
      return expect(r.status === 400 && (r.json as Any).status === "invalid_input", r);
    },
  },
  {
    name: "MCP invalid input (isError)",
    weight: 6,
    async run() {
      const r = await post("/mcp", call("lookup_customer", { id: -1 }));
      const result = (r.json as Any).result;
      return expect(
        r.status === 200 && result?.isError === true &&
          JSON.parse(result.content[0].text).status === "invalid_input",
        r,
      );
    },
  },
  {
    name: "REST not found (404)",
    weight: 5,
    async run() {
      const r = await post("/v1/mcp/lookup_customer", JSON.stringify({ id: 900_000 + rand(1000) }));
      return expect(r.status === 404 && (r.json as Any).status === "not_found", r);
    },
  },
  {
    name: "REST unknown tool (404)",
    weight: 3,
    async run() {
      const r = await post("/v1/mcp/no_such_tool", "{}");
      return expect(r.status === 404, r);
    },
  },
  {
    name: "malformed JSON (400 / -32700)",
    weight: 3,
    async run() {
      const rest = await post("/v1/mcp/lookup_customer", '{"id": 4');
      const bad = expect(rest.status === 400, rest);
      if (bad) return bad;
      const mcp = await post("/mcp", '{"jsonrpc": "2.0", "id": 1, "method"');
      return expect(mcp.status === 400 && (mcp.json as Any).error?.code === -32700, mcp);
    },
  },
  {
    name: "secondary key (200 or 429)",
    weight: 15,
    async run() {
      const id = rand(1000);
      const r = await post("/v1/mcp/lookup_customer", JSON.stringify({ id }), SECONDARY);
      if (r.status === 429) {
        limited++;
        return expect(
          (r.json as Any).status === "rate_limited" && Number(r.headers.get("retry-after")) > 0,
          r,
        );
      }
      return expect(r.status === 200 && (r.json as Any).id === id, r);
    },
  },
];
const WRONG_KEY: Kind = {
  name: "wrong key (401)",
  weight: 0,
  async run() {
    const r = await post("/v1/mcp/lookup_customer", '{"id":1}', "soak-wrong-key-0123456789abcdef");
    return expect(r.status === 401, r);
  },
};
const totalWeight = KINDS.reduce((s, k) => s + k.weight, 0);
function pick(): Kind {
  let x = Math.random() * totalWeight;
  for (const k of KINDS) if ((x -= k.weight) < 0) return k;
  return KINDS[0];
}

interface Tally {
  ok: number;
  unexpected: number;
  first?: string;
}
const tallies = new Map<string, Tally>(
  [...KINDS, WRONG_KEY].map((k) => [k.name, { ok: 0, unexpected: 0 }]),
);
let limited = 0;
let sent = 0;

async function once(kind: Kind): Promise<void> {
  const tally = tallies.get(kind.name)!;
  let problem: string | undefined;
  try {
    problem = await kind.run();
  } catch (error) {
    problem = `request failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  sent++;
  if (problem === undefined) tally.ok++;
  else {
    tally.unexpected++;
    tally.first ??= problem;
  }
}

// ---------------------------------------------------------------- RSS samples

interface Sample {
  t_s: number;
  rss_mb: number;
  heap_used_mb: number | undefined;
  requests: number;
}
const samples: Sample[] = [];
const started = performance.now();
const endAt = started + minutes * 60_000;

async function sample(): Promise<void> {
  const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  let heap: number | undefined;
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^nodejs_heap_size_used_bytes (\d+(\.\d+)?)/m.exec(text);
    heap = m ? Math.round(Number(m[1]) / 1e5) / 10 : undefined;
  } catch { /* metrics are optional */ }
  const s: Sample = {
    t_s: Math.round((performance.now() - started) / 1000),
    rss_mb: Math.round(rssKb / 102.4) / 10,
    heap_used_mb: heap,
    requests: sent,
  };
  samples.push(s);
  console.error(
    `t=${s.t_s}s rss=${s.rss_mb} MB heap=${s.heap_used_mb ?? "?"} MB requests=${s.requests}`,
  );
}

// ---------------------------------------------------------------- the run

let exitCode = 0;
try {
  await sample();
  const sampler = setInterval(() => sample().catch(() => {}), SAMPLE_EVERY_MS);
  const wrongKeys = setInterval(() => once(WRONG_KEY), 5_000);
  // Each worker keeps its share of the target rate: concurrency / rps seconds per request.
  const interval = (concurrency / rps) * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    await new Promise((r) => setTimeout(r, (w * interval) / concurrency));
    while (performance.now() < endAt) {
      const t0 = performance.now();
      await once(pick());
      const wait = interval - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }));
  clearInterval(wrongKeys);
  clearInterval(sampler);
  await sample();
} finally {
  const status = await stopServer();
  if (status.code !== 0) {
    console.error(`the server exited with ${status.code} on SIGTERM`);
    exitCode = 1;
  }
}

// ---------------------------------------------------------------- the verdict

const after = samples.filter((s) => s.t_s >= warmupSeconds);
const baseline = after[0];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const final = median(samples.slice(-3).map((s) => s.rss_mb));
const growth = Math.round((final - baseline.rss_mb) * 10) / 10;
const elapsed = (performance.now() - started) / 1000;
const unexpected = [...tallies].filter(([, t]) => t.unexpected > 0);

console.log(`\n${sent} requests in ${elapsed.toFixed(0)} s (${(sent / elapsed).toFixed(0)} req/s)`);
console.log("\n| kind | right | unexpected |\n| --- | ---: | ---: |");
for (const [name, t] of tallies) console.log(`| ${name} | ${t.ok} | ${t.unexpected} |`);
console.log(`\n429s from the secondary key: ${limited}`);
console.log(
  "\n| t (s) | RSS (MB) | V8 heap used (MB) | requests so far |\n| ---: | ---: | ---: | ---: |",
);
for (const s of samples) {
  console.log(`| ${s.t_s} | ${s.rss_mb} | ${s.heap_used_mb ?? "?"} | ${s.requests} |`);
}
console.log(
  `\nRSS after ${warmupSeconds} s warm-up: ${baseline.rss_mb} MB (t=${baseline.t_s} s); at the end: ${final} MB; growth ${growth} MB (bound ${maxGrowthMb} MB)`,
);
if (unexpected.length > 0) {
  exitCode = 1;
  for (const [name, t] of unexpected) {
    console.error(`UNEXPECTED ${name}: ${t.unexpected}× (first: ${t.first})`);
  }
}
if (growth > maxGrowthMb) {
  exitCode = 1;
  console.error(`RSS grew ${growth} MB after warm-up, over the ${maxGrowthMb} MB bound`);
}
if (limited === 0) {
  exitCode = 1;
  console.error("no 429 was seen: the rate-limit path was not exercised");
}
if (opts.json) {
  await Deno.writeTextFile(
    opts.json,
    JSON.stringify(
      {
        minutes,
        rps_target: rps,
        concurrency,
        requests: sent,
        rps: Math.round(sent / elapsed),
        limited,
        tallies: Object.fromEntries(tallies),
        warmup_s: warmupSeconds,
        baseline_rss_mb: baseline.rss_mb,
        final_rss_mb: final,
        growth_mb: growth,
        bound_mb: maxGrowthMb,
        samples,
        passed: exitCode === 0,
      },
      null,
      2,
    ) + "\n",
  );
}
if (opts.svg) await Deno.writeTextFile(opts.svg, svgChart(samples, warmupSeconds));
console.log(exitCode === 0 ? "\nSOAK PASSED" : "\nSOAK FAILED");
Deno.exit(exitCode);

// ---------------------------------------------------------------- helpers

/** Reads the server's log until "server started" names its URL, then drains the rest. */
async function startedUrl(proc: Deno.ChildProcess): Promise<string> {
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const timeout = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error("the server exited before it started");
      buffer += value;
      let nl;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const parsed = JSON.parse(line);
          if (parsed.message === "server started") {
            (async () => {
              while (!(await reader.read()).done) { /* discard the log */ }
            })();
            return parsed.url;
          }
        } catch { /* not JSON */ }
      }
    }
  } finally {
    clearTimeout(timeout);
  }
}

/** A small line chart of RSS and V8 heap over time, as SVG. */
function svgChart(points: Sample[], warmup: number): string {
  const W = 640, H = 300, L = 56, R = 16, T = 28, B = 40;
  const tMax = Math.max(...points.map((p) => p.t_s), 1);
  const yMax = Math.ceil(Math.max(...points.map((p) => p.rss_mb)) / 100) * 100;
  const x = (t: number) => L + (t / tMax) * (W - L - R);
  const y = (mb: number) => H - B - (mb / yMax) * (H - T - B);
  const line = (vals: [number, number | undefined][], color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${
      vals.filter(([, v]) => v !== undefined).map(([t, v]) =>
        `${x(t).toFixed(1)},${y(v!).toFixed(1)}`
      ).join(" ")
    }"/>`;
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(f * yMax));
  const xTicks = Array.from({ length: Math.floor(tMax / 60) + 1 }, (_, i) => i * 60);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${L}" y="16" font-size="13">Server RSS and V8 heap during the soak (MB)</text>
<rect x="${x(0)}" y="${T}" width="${(x(warmup) - x(0)).toFixed(1)}" height="${
    H - T - B
  }" fill="#eee"/>
${
    yTicks.map((v) =>
      `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${
        L - 6
      }" y="${y(v) + 4}" text-anchor="end">${v}</text>`
    ).join("\n")
  }
${
    xTicks.map((t) => `<text x="${x(t)}" y="${H - B + 16}" text-anchor="middle">${t / 60}</text>`)
      .join("\n")
  }
<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">minutes (grey: warm-up)</text>
${line(points.map((p) => [p.t_s, p.rss_mb]), "#c0392b")}
${line(points.map((p) => [p.t_s, p.heap_used_mb]), "#2471a3")}
<text x="${W - R - 150}" y="${T + 14}" fill="#c0392b">RSS</text>
<text x="${W - R - 100}" y="${T + 14}" fill="#2471a3">V8 heap used</text>
</svg>
`;
}
