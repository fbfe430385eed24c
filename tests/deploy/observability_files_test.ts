import assert from "node:assert/strict";
import { commandUnavailable } from "../process.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, postJson } from "../harness.ts";

const deploy = new URL("../../deploy/", import.meta.url);

const promtool = await commandUnavailable("promtool", "Debian package prometheus");
if (promtool) console.log(`Skipping promtool checks: ${promtool}`);

async function promtoolCheck(args: string[]): Promise<void> {
  const out = await new Deno.Command("promtool", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
}

Deno.test("deploy/alerts.yml names the alerts and uses only metrics the server exports", async () => {
  const rules = await Deno.readTextFile(new URL("alerts.yml", deploy));
  for (
    const name of [
      "HighErrorRate",
      "HighServerErrorRate",
      "HighLatency",
      "HealthCheckFailing",
      "RateLimitSpike",
      "UpstreamCircuitOpen",
    ]
  ) {
    assert.match(rules, new RegExp(`alert: ${name}\\b`));
  }
  // Every series selector in an expr: a name followed by `{` or `[`
  // (`up` is Prometheus's own, not ours).
  const exprs = [...rules.matchAll(/expr: \|?\n?([^\n]+(?:\n {10,}[^\n]+)*)/g)].map((m) => m[1]);
  const used = new Set(
    exprs.flatMap((expr) => [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*[{[]/g)])
      .map((m) => m[1].replace(/_(bucket|count|sum)$/, ""))
      .filter((name) => name !== "up"),
  );
  assert.ok(used.has("upstream_circuit_state"), [...used].join(", "));
  assert.ok(used.size >= 4, [...used].join(", "));
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    await (await postJson(app, "/v1/mcp/echo", { text: "x" })).body?.cancel();
    const exported = await (await app.request("/metrics", { key: null })).text();
    for (const name of used) {
      assert.match(
        exported,
        new RegExp(`^# TYPE ${name} `, "m"),
        `${name} is used by a rule but not exported`,
      );
    }
  } finally {
    await app.close();
  }
});

Deno.test({
  name:
    "promtool accepts deploy/alerts.yml and deploy/prometheus.yml, and the rules fire as tested",
  ignore: promtool !== undefined,
  async fn() {
    await promtoolCheck(["check", "rules", new URL("alerts.yml", deploy).pathname]);
    await promtoolCheck(["check", "config", new URL("prometheus.yml", deploy).pathname]);
    // The rules evaluated on synthetic series: they fire when they should, and not before.
    await promtoolCheck([
      "test",
      "rules",
      new URL("alerts_rules_test.yml", import.meta.url).pathname,
    ]);
  },
});
