import assert from "node:assert/strict";
import type { Registry } from "prom-client";
import { createMetrics } from "../../src/observability/metrics.ts";
import type { PoolStats, SqlSource } from "../../src/sources/db/sql_source.ts";
import { BUILTIN_TOOLS } from "../../src/tools/builtin/mod.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, mcpToolCall, postJson } from "../harness.ts";

/** Histogram values carry the series name (`_bucket`, `_count`…); counters do not. */
const nameOf = (v: object) => (v as { metricName?: string }).metricName ?? "";

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} exists`);
  const { values } = await metric.get();
  const hit = values.find((v) =>
    !nameOf(v).endsWith("_bucket") &&
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)
  );
  return hit?.value ?? 0;
}

async function labelValues(registry: Registry, name: string, label: string): Promise<Set<string>> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return new Set(values.map((v) => String(v.labels[label])));
}

Deno.test("metrics move by exactly one per call, on both doors and per outcome", async (t) => {
  const app = await createTestApp({
    tools: [...BUILTIN_TOOLS, ...TEST_TOOLS],
    env: { RATE_LIMIT_RPM: "1000" },
  });
  const r = app.metrics.registry;
  const calls = (tool: string, status: string) =>
    value(r, "tool_calls_total", { tool_name: tool, status });
  const mcp = (name: string, args: unknown) =>
    mcpToolCall(app, name, args).then((res) => res.body?.cancel());
  try {
    const outcomes: [string, string, unknown][] = [
      ["echo", "success", { text: "a" }],
      ["echo", "invalid_input", { text: 5 }],
      ["missing", "not_found", {}],
      ["boom", "error", {}],
    ];
    for (const [tool, status, input] of outcomes) {
      await t.step(`${tool} → ${status}`, async () => {
        const before = await calls(tool, status);
        const res = await postJson(app, `/v1/mcp/${tool}`, input);
        await res.body?.cancel();
        assert.equal(await calls(tool, status), before + 1, "REST door");
        await mcp(tool, input);
        assert.equal(await calls(tool, status), before + 2, "MCP door");
      });
    }

    await t.step("a tool past its deadline counts as retry", async () => {
      const before = await calls("slow", "retry");
      await (await postJson(app, "/v1/mcp/slow", {})).body?.cancel();
      assert.equal(await calls("slow", "retry"), before + 1);
      await new Promise((res) => setTimeout(res, 350));
    });

    await t.step("durations are observed per tool, and SQL per query name", async () => {
      const before = await value(r, "tool_duration_seconds", { tool_name: "get_top_customers" });
      await (await postJson(app, "/v1/mcp/get_top_customers", { limit: 1 })).body?.cancel();
      const histogram = await r.getSingleMetric("tool_duration_seconds")!.get();
      const count = histogram.values.find((v) =>
        nameOf(v) === "tool_duration_seconds_count" && v.labels.tool_name === "get_top_customers"
      );
      assert.ok(count && count.value >= 1);
      assert.equal(before >= 0, true);
      const db = await r.getSingleMetric("db_query_duration_seconds")!.get();
      assert.ok(
        db.values.some((v) =>
          nameOf(v) === "db_query_duration_seconds_count" &&
          v.labels.query_name === "get_top_customers" &&
          v.value >= 1
        ),
      );
    });

    await t.step(
      "http_requests_total uses route templates, so 1,000 hostile paths add no labels",
      async () => {
        await (await postJson(app, "/v1/mcp/echo", { text: "x" })).body?.cancel();
        for (let i = 0; i < 1000; i++) {
          const path = `/${crypto.randomUUID()}/${i}?x=${i}`;
          await (await app.request(path)).body?.cancel();
          await (await postJson(app, `/v1/mcp/random_tool_${i}`, {})).body?.cancel();
        }
        const endpoints = await labelValues(r, "http_requests_total", "endpoint");
        assert.ok(endpoints.has("/v1/mcp/{tool}"));
        assert.ok(endpoints.has("unmatched"));
        assert.ok(endpoints.size <= 8, [...endpoints].join(", "));
        const tools = await labelValues(r, "tool_calls_total", "tool_name");
        assert.ok([...tools].every((name) => !name.startsWith("random_tool_")));
        assert.equal(
          await value(r, "http_requests_total", { endpoint: "unmatched", status_code: "404" }),
          1000,
        );
      },
    );
  } finally {
    await app.close();
  }
});

Deno.test("rate-limited calls count in rate_limit_hits_total and as rate_limited tool calls", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS, env: { RATE_LIMIT_RPM: "1" } });
  try {
    await (await postJson(app, "/v1/mcp/echo", { text: "x" })).body?.cancel();
    const refused = await postJson(app, "/v1/mcp/echo", { text: "x" });
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    assert.equal(
      await value(app.metrics.registry, "rate_limit_hits_total", { client_id: "primary" }),
      1,
    );
    assert.equal(
      await value(app.metrics.registry, "tool_calls_total", {
        tool_name: "echo",
        status: "rate_limited",
      }),
      1,
    );
  } finally {
    await app.close();
  }
});

Deno.test("/metrics serves the text format, open by default and behind METRICS_TOKEN when set", async () => {
  const open = await createTestApp({ tools: TEST_TOOLS });
  try {
    await (await postJson(open, "/v1/mcp/echo", { text: "x" })).body?.cancel();
    const res = await open.request("/metrics", { key: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain/);
    const text = await res.text();
    for (
      const name of [
        "tool_calls_total",
        "tool_duration_seconds",
        "http_requests_total",
        "db_query_duration_seconds",
      ]
    ) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"));
    }
    assert.match(text, /^tool_calls_total\{tool_name="echo",status="success"\} 1$/m);
  } finally {
    await open.close();
  }
  const token = "metrics-token-0123456789abcdef";
  const guarded = await createTestApp({ tools: TEST_TOOLS, env: { METRICS_TOKEN: token } });
  try {
    const without = await guarded.request("/metrics", { key: null });
    assert.equal(without.status, 401);
    await without.body?.cancel();
    const apiKey = await guarded.request("/metrics");
    assert.equal(apiKey.status, 401, "an API key is not the metrics token");
    await apiKey.body?.cancel();
    const withToken = await guarded.request("/metrics", { key: token });
    assert.equal(withToken.status, 200);
    await withToken.body?.cancel();
  } finally {
    await guarded.close();
  }
});

Deno.test("db_pool_connections and db_pool_waiting read the app's SQL source at each scrape", async () => {
  let stats: PoolStats = { inUse: 2, idle: 3, waiting: 1 };
  const source: SqlSource = {
    kind: "postgres",
    query: () => Promise.reject(new Error("not used")),
    ping: () => Promise.resolve(),
    poolStats: () => stats,
    close: () => Promise.resolve(),
  };
  const app = await createTestApp({ tools: TEST_TOOLS, sql: source });
  const scrape = async () => await (await app.request("/metrics", { key: null })).text();
  try {
    let text = await scrape();
    assert.match(text, /^# TYPE db_pool_connections gauge$/m);
    assert.match(text, /^# TYPE db_pool_waiting gauge$/m);
    assert.match(text, /^db_pool_connections\{state="in_use"\} 2$/m);
    assert.match(text, /^db_pool_connections\{state="idle"\} 3$/m);
    assert.match(text, /^db_pool_waiting 1$/m);
    // Nothing pushed: the next scrape reads the values of that moment.
    stats = { inUse: 0, idle: 5, waiting: 0 };
    text = await scrape();
    assert.match(text, /^db_pool_connections\{state="in_use"\} 0$/m);
    assert.match(text, /^db_pool_connections\{state="idle"\} 5$/m);
    assert.match(text, /^db_pool_waiting 0$/m);
  } finally {
    await app.close();
  }
  // A source without pool stats (a test double) exports the metric with no series.
  const { poolStats: _, ...bare } = source;
  const plain = await createTestApp({ tools: TEST_TOOLS, sql: bare });
  try {
    const text = await (await plain.request("/metrics", { key: null })).text();
    assert.match(text, /^# TYPE db_pool_connections gauge$/m);
    assert.doesNotMatch(text, /^db_pool_connections\{/m);
    assert.match(text, /^db_pool_waiting 0$/m);
  } finally {
    await plain.close();
  }
});

Deno.test("process metrics load on demand, once, and only when asked for", async () => {
  const on = createMetrics({ processMetrics: true });
  assert.doesNotMatch(await on.registry.metrics(), /^process_cpu_user_seconds_total /m);
  await Promise.all([on.loadProcessMetrics(), on.loadProcessMetrics()]);
  await on.loadProcessMetrics();
  assert.equal(
    (await on.registry.metrics()).match(/^# TYPE process_cpu_user_seconds_total /gm)?.length,
    1,
  );
  const off = createMetrics({ processMetrics: false });
  await off.loadProcessMetrics();
  assert.doesNotMatch(await off.registry.metrics(), /process_cpu/);
});

Deno.test("build_info names the running version and Deno's", async () => {
  const { createMetrics } = await import("../../src/observability/metrics.ts");
  const { SERVER_VERSION } = await import("../../src/version.ts");
  const text = await createMetrics({ processMetrics: false }).registry.metrics();
  assert.ok(
    text.includes(
      `build_info{version="${SERVER_VERSION}",deno_version="${Deno.version.deno}"} 1\n`,
    ),
    text,
  );
});
