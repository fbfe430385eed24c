/**
 * A real Prometheus (the Debian package's daemon, private to this test)
 * scrapes the real server on loopback: our series arrive with the labels and
 * values the calls made, and every dashboard query evaluates against them.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { SQL_TOOLS } from "../../src/tools/builtin/mod.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";
import { commandUnavailable, freePort } from "../process.ts";
import { loadDashboard, panelQueries } from "./dashboard.ts";

const prometheus = await commandUnavailable("prometheus", "Debian package prometheus");
if (prometheus) console.log(`Skipping the Prometheus scrape test: ${prometheus}`);

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Polls `probe` every 100 ms until it returns true; fails with `what` after `ms`. */
async function waitFor(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`Timed out after ${ms} ms waiting for ${what}`);
}

Deno.test({
  name:
    "a real Prometheus scrapes /metrics: tool calls arrive labelled and counted, dashboard queries evaluate",
  ignore: prometheus !== undefined,
  async fn() {
    // Five calls fit the limit; the sixth is refused (a rate-limit hit).
    const app = await createTestApp({
      tools: [...SQL_TOOLS, ...TEST_TOOLS],
      env: { RATE_LIMIT_RPM: "5" },
    });
    const server = serveOnLoopback(app);
    const dir = await Deno.makeTempDir({ prefix: "prometheus_scrape_" });
    let child: Deno.ChildProcess | undefined;
    let logs: Promise<string> = Promise.resolve("");
    let passed = false;
    try {
      const call = async (tool: string, input: unknown) => {
        const res = await fetch(`${server.url}/v1/mcp/${tool}`, {
          method: "POST",
          headers: { authorization: `Bearer ${PRIMARY_KEY}`, "content-type": "application/json" },
          body: JSON.stringify(input),
        });
        await res.body?.cancel();
        return res.status;
      };
      assert.equal(await call("echo", { text: "a" }), 200);
      assert.equal(await call("echo", { text: "b" }), 200);
      assert.equal(await call("echo", { text: 5 }), 400);
      assert.equal(await call("get_top_customers", { limit: 2 }), 200);
      assert.equal(await call("missing", {}), 404);
      assert.equal(await call("echo", { text: "c" }), 429);

      const target = new URL(server.url).host;
      await Deno.writeTextFile(
        `${dir}/prometheus.yml`,
        stringify({
          global: { scrape_interval: "1s", evaluation_interval: "1s" },
          scrape_configs: [{
            job_name: "mcp-tool-server",
            metrics_path: "/metrics",
            static_configs: [{ targets: [target] }],
          }],
        }),
      );
      const api = `http://127.0.0.1:${freePort()}`;
      child = new Deno.Command("prometheus", {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          `--web.listen-address=${new URL(api).host}`,
          "--log.level=warn",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      logs = new Response(child.stderr).text();

      const query = async (expr: string): Promise<Sample[]> => {
        const res = await fetch(`${api}/api/v1/query?${new URLSearchParams({ query: expr })}`);
        const body = await res.json();
        assert.equal(body.status, "success", `${expr}: ${JSON.stringify(body)}`);
        return body.data.result;
      };
      await waitFor("Prometheus to be ready", async () => {
        const res = await fetch(`${api}/-/ready`);
        await res.body?.cancel();
        return res.ok;
      }, 10_000);
      // Two scrapes, so rate() over the last minute has two points.
      await waitFor("two scrapes of the server", async () => {
        const [up] = await query(`count_over_time(up{job="mcp-tool-server"}[1m])`);
        return Number(up?.value[1]) >= 2;
      }, 8_000);

      const [up] = await query("up");
      assert.deepEqual(up.metric, { __name__: "up", instance: target, job: "mcp-tool-server" });
      assert.equal(up.value[1], "1");

      const calls = await query("tool_calls_total");
      for (const s of calls) {
        assert.equal(s.metric.job, "mcp-tool-server");
        assert.equal(s.metric.instance, target);
      }
      assert.deepEqual(
        Object.fromEntries(
          calls.map((s) => [`${s.metric.tool_name}/${s.metric.status}`, Number(s.value[1])]),
        ),
        {
          "echo/success": 2,
          "echo/invalid_input": 1,
          "echo/rate_limited": 1,
          "get_top_customers/success": 1,
          "missing/not_found": 1,
        },
      );
      const one = async (expr: string) => {
        const result = await query(expr);
        assert.equal(result.length, 1, `${expr}: ${JSON.stringify(result)}`);
        return Number(result[0].value[1]);
      };
      assert.equal(await one(`rate_limit_hits_total{client_id="primary"}`), 1);
      assert.equal(await one(`tool_duration_seconds_count{tool_name="get_top_customers"}`), 1);
      assert.equal(await one(`db_query_duration_seconds_count{query_name="get_top_customers"}`), 1);
      assert.equal(
        await one(`http_requests_total{endpoint="/v1/mcp/{tool}",status_code="429"}`),
        1,
      );
      // The embedded database: its one session, idle between calls.
      assert.equal(await one(`db_pool_connections{state="idle"}`), 1);
      assert.equal(await one(`db_pool_connections{state="in_use"}`), 0);
      assert.equal(await one("db_pool_waiting"), 0);

      // Every dashboard query parses and evaluates; those over series these
      // calls made return data (no upstream here, so its panels stay empty).
      const empty = new Set(["Upstream errors", "Upstream circuit state"]);
      const queries = panelQueries(await loadDashboard());
      assert.ok(queries.length >= 10);
      for (const q of queries) {
        const result = await query(q.expr);
        if (!empty.has(q.panel)) {
          assert.ok(result.length > 0, `"${q.panel}" ${q.refId} returned no data: ${q.expr}`);
        }
      }
      passed = true;
    } finally {
      if (child) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child!.kill("SIGKILL"), 5000);
        await child.status;
        clearTimeout(timer);
        const text = await logs;
        if (!passed && text.trim()) console.log(`prometheus stderr:\n${text}`);
      }
      await Deno.remove(dir, { recursive: true });
      await server.stop();
      await app.close();
    }
  },
});
