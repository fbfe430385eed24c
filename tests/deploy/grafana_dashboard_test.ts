import assert from "node:assert/strict";
import { stringify } from "yaml";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, postJson } from "../harness.ts";
import { commandUnavailable } from "../process.ts";
import {
  type Dashboard,
  loadDashboard,
  metricNames,
  panelQueries,
  panelsOf,
  substitute,
  variableMetrics,
} from "./dashboard.ts";

const promtool = await commandUnavailable("promtool", "Debian package prometheus");
if (promtool) console.log(`Skipping the promtool check of the dashboard's PromQL: ${promtool}`);

/** Panel title → series its queries must read. */
const REQUIRED_PANELS: Record<string, string[]> = {
  "Request rate": ["http_requests_total"],
  "Tool error rate by status": ["tool_calls_total"],
  "Tool latency p50 / p95 / p99": ["tool_duration_seconds_bucket"],
  "Rate-limit hits": ["rate_limit_hits_total"],
  "DB pool": ["db_pool_connections", "db_pool_waiting"],
  "Upstream errors": ["api_errors_total"],
  "Upstream circuit state": ["upstream_circuit_state"],
  "DB query p95": ["db_query_duration_seconds_bucket"],
};

const INPUT_DATASOURCE = { type: "prometheus", uid: "${DS_PROMETHEUS}" };

/** Every `datasource` value anywhere in the JSON, with where it was found. */
function datasources(node: unknown, path = "$"): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((n, i) => datasources(n, `${path}[${i}]`));
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "datasource"
      ? [[`${path}.${key}`, value] as [string, unknown]]
      : datasources(value, `${path}.${key}`)
  );
}

/** Whether `name` is a series of a metric in the exposition `text` (histograms: `_bucket/_count/_sum`). */
function exported(name: string, text: string): boolean {
  const typeOf = (metric: string) =>
    new RegExp(`^# TYPE ${metric} (\\w+)$`, "m").exec(text)?.[1] as string | undefined;
  if (typeOf(name) !== undefined) return true;
  const m = /^(.+)_(bucket|count|sum)$/.exec(name);
  return m !== null && (typeOf(m[1]) === "histogram" ||
    (m[2] !== "bucket" && typeOf(m[1]) === "summary"));
}

Deno.test("deploy/grafana-dashboard.json: importable, datasource as an input, the panels asked for", async () => {
  const dashboard = await loadDashboard();
  assert.equal(typeof dashboard.title, "string");
  assert.match(dashboard.uid, /^[\w-]{1,40}$/);
  assert.equal(dashboard.id, null, "no instance-specific id: importable anywhere");
  assert.ok(
    dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41,
    `schemaVersion ${dashboard.schemaVersion}`,
  );
  assert.deepEqual(
    dashboard.__inputs.map((i: Dashboard) => [i.name, i.type, i.pluginId]),
    [["DS_PROMETHEUS", "datasource", "prometheus"]],
  );
  // Every datasource reference is the input (annotations may use Grafana's own).
  for (const [where, ds] of datasources(dashboard)) {
    if ((ds as Dashboard)?.type === "grafana") continue;
    assert.deepEqual(ds, INPUT_DATASOURCE, where);
  }

  const panels = panelsOf(dashboard);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, `panel ids are unique: ${ids}`);
  // Panels do not overlap on the 24-column grid.
  for (const [i, a] of panels.entries()) {
    for (const b of panels.slice(i + 1)) {
      const [p, q] = [a.gridPos, b.gridPos];
      const apart = p.x + p.w <= q.x || q.x + q.w <= p.x || p.y + p.h <= q.y || q.y + q.h <= p.y;
      assert.ok(apart, `"${a.title}" overlaps "${b.title}"`);
      assert.ok(p.x + p.w <= 24 && q.x + q.w <= 24);
    }
  }

  const queries = panelQueries(dashboard);
  for (const [title, series] of Object.entries(REQUIRED_PANELS)) {
    const own = queries.filter((q) => q.panel === title);
    assert.ok(own.length > 0, `panel "${title}" with queries`);
    const read = new Set(own.flatMap((q) => [...metricNames(q.expr)]));
    for (const name of series) assert.ok(read.has(name), `"${title}" reads ${name}`);
    for (const q of own) assert.ok(q.raw.trim().length > 0);
  }
  const exprsOf = (title: string) => queries.filter((q) => q.panel === title).map((q) => q.raw);
  const latency = exprsOf("Tool latency p50 / p95 / p99").join("\n");
  for (const quantile of ["0.5", "0.95", "0.99"]) {
    assert.match(latency, new RegExp(`histogram_quantile\\(${quantile.replace(".", "\\.")},`));
  }
  assert.match(latency, /by \(le, tool_name\)/, "quantiles per tool");
  assert.match(exprsOf("DB query p95").join(), /histogram_quantile\(0\.95,/);
  assert.match(exprsOf("Tool error rate by status").join(), /by \(status\)/);
  assert.match(exprsOf("DB pool").join(), /by \(state\)/);
  assert.match(exprsOf("Upstream circuit state").join(), /state="open"/);
});

Deno.test("deploy/grafana-dashboard.json reads only metrics the server exports", async () => {
  const dashboard = await loadDashboard();
  const used = new Set([
    ...panelQueries(dashboard).flatMap((q) => [...metricNames(q.expr)]),
    ...variableMetrics(dashboard),
  ]);
  // The extraction sees what the panels name (a check on the check).
  for (const name of Object.values(REQUIRED_PANELS).flat()) assert.ok(used.has(name), name);
  assert.deepEqual(variableMetrics(dashboard).sort(), ["http_requests_total", "tool_calls_total"]);
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    await (await postJson(app, "/v1/mcp/echo", { text: "x" })).body?.cancel();
    const text = await (await app.request("/metrics", { key: null })).text();
    for (const name of used) assert.ok(exported(name, text), `${name} is not exported`);
    assert.ok(!exported("no_such_metric_total", text));
    assert.ok(!exported("db_pool_waiting_bucket", text), "a gauge has no buckets");
  } finally {
    await app.close();
  }
});

Deno.test("metricNames() and substitute(): what the checks above rely on", () => {
  assert.deepEqual(
    metricNames(
      'sum by (le) (rate(foo_bucket{a="b{c}", d=~"$x"}[5m])) / on (x) group_left () bar offset 5m > 1e-9 and baz',
    ),
    new Set(["foo_bucket", "bar", "baz"]),
  );
  assert.deepEqual(
    metricNames("sum(db_pool_waiting) without (instance)"),
    new Set(["db_pool_waiting"]),
  );
  const vars = new Set(["instance"]);
  assert.equal(
    substitute('rate(x{instance=~"$instance"}[$__rate_interval])', vars),
    'rate(x{instance=~".*"}[1m])',
  );
  assert.equal(substitute('x{instance=~"${instance:regex}"}', vars), 'x{instance=~".*"}');
  assert.throws(() => substitute('x{instance=~"$nope"}', vars), /Unknown variable "nope"/);
  assert.throws(() => substitute('x{instance="$instance"}', vars), /not a regex matcher/);
});

/** Runs `promtool check rules` on one recording rule per expression. */
async function promtoolParses(exprs: string[]): Promise<{ ok: boolean; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dashboard_promql_" });
  try {
    const file = `${dir}/dashboard_rules.yml`;
    const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
    await Deno.writeTextFile(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    const out = await new Deno.Command("promtool", {
      args: ["check", "rules", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { ok: out.success, output: decode(out.stdout) + decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "promtool parses every dashboard query as PromQL (variables as 'All', intervals as 1m)",
  ignore: promtool !== undefined,
  async fn() {
    // The check can fail: a type error (rate() of an instant vector) is refused.
    const broken = await promtoolParses(["sum(rate(tool_calls_total))"]);
    assert.equal(broken.ok, false, broken.output);
    assert.match(broken.output, /expected type range vector/);

    const exprs = panelQueries(await loadDashboard()).map((q) => q.expr);
    assert.ok(exprs.length >= 10, `${exprs.length} queries`);
    const checked = await promtoolParses(exprs);
    assert.ok(checked.ok, checked.output);
    assert.match(checked.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  },
});
