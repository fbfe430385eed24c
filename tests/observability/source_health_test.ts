import assert from "node:assert/strict";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";
import { createTestApp, type TestApp } from "../harness.ts";
import { freePort } from "../process.ts";
import { createPrivateCluster, privateClusterUnavailable } from "../sources/db/private_cluster.ts";
import { scriptedUpstream } from "../sources/http/upstream_fixture.ts";

/** The server's own database, up and used by no tool here (only tools-file tools are served). */
const OWN_DB = {
  kind: "postgres",
  ping: () => Promise.resolve(),
  query: () => Promise.reject(new Error("not used")),
  close: () => Promise.resolve(),
} as unknown as SqlSource;

/** Waits past the health cache, then reads `/health` and `/health/ready`. */
async function probe(app: TestApp) {
  await new Promise((r) => setTimeout(r, 1100));
  const health = await app.request("/health", { key: null });
  const ready = await app.request("/health/ready", { key: null });
  await ready.body?.cancel();
  const body = await health.json();
  const byName = Object.fromEntries(
    (body.sources as { name: string; status: string; required: boolean }[]).map((
      s,
    ) => [s.name, s]),
  );
  return { health: health.status, ready: ready.status, body, byName };
}

Deno.test({
  name: "/health reports every tools-file source; readiness follows the ones served tools use",
  ignore: privateClusterUnavailable !== undefined,
  async fn(t) {
    const cluster = await createPrivateCluster();
    await cluster.start();
    let crmDown = false;
    const crm = scriptedUpstream(() =>
      new Response(crmDown ? "down" : "{}", { status: crmDown ? 503 : 200 })
    );
    const flaky = scriptedUpstream(() => new Response("down", { status: 503 }));
    const dir = await Deno.makeTempDir();
    const file = `${dir}/tools.yaml`;
    await Deno.writeTextFile(
      file,
      `
sources:
  warehouse: { kind: postgres, url: "${cluster.url}" }
  crm: { kind: http, base_url: "${crm.url}" }
  spare: { kind: postgres, url: "postgres://postgres@127.0.0.1:${freePort()}/postgres" }
  extras: { kind: http, base_url: "${flaky.url}", optional: true }
tools:
  count_one:
    kind: sql
    source: warehouse
    description: One.
    statement: SELECT 1 AS one
  crm_ping:
    kind: http
    source: crm
    description: CRM root.
    path: /ping
  spare_one:
    kind: sql
    source: spare
    description: Never served (not in the toolset).
    statement: SELECT 1 AS one
  extra_ping:
    kind: http
    source: extras
    description: Optional.
    path: /ping
toolsets:
  main: [count_one, crm_ping, extra_ping]
`,
    );
    let app: TestApp | undefined;
    try {
      app = await createTestApp({
        tools: [],
        sql: OWN_DB,
        env: { TOOLS_FILE: file, TOOLSET: "main", DB_URL: "postgres://127.0.0.1:1/unused" },
      });
      await t.step("every source by name; down unused and optional ones only degrade", async () => {
        const p = await probe(app!);
        assert.deepEqual([p.health, p.ready, p.body.status], [200, 200, "degraded"]);
        assert.deepEqual(
          Object.entries(p.byName).map(([n, s]) => [n, s.status, s.required]),
          [
            ["database", "connected", false],
            ["warehouse", "connected", true],
            ["crm", "responding", true],
            ["spare", "failed", false],
            ["extras", "failed", false],
          ],
        );
      });
      await t.step("the tools file's database stops: not ready; it starts: ready", async () => {
        await cluster.stop();
        let p = await probe(app!);
        assert.deepEqual([p.health, p.ready, p.body.status], [503, 503, "unhealthy"]);
        assert.equal(p.byName.warehouse.status, "failed");
        await cluster.start();
        p = await probe(app!);
        assert.deepEqual([p.health, p.ready], [200, 200]);
        assert.equal(p.byName.warehouse.status, "connected");
      });
      await t.step("the tools file's API answers 503: not ready; it recovers: ready", async () => {
        crmDown = true;
        let p = await probe(app!);
        assert.deepEqual([p.health, p.ready], [503, 503]);
        assert.equal(p.byName.crm.status, "failed");
        crmDown = false;
        p = await probe(app!);
        assert.deepEqual([p.health, p.ready], [200, 200]);
        assert.equal(p.byName.crm.status, "responding");
      });
      await t.step("a failed check names the source in the log", () => {
        assert.ok(
          app!.lines().some((l) =>
            l.message === "health check: source failed" && l.source === "warehouse"
          ),
        );
      });
    } finally {
      await app?.close();
      await crm.close();
      await flaky.close();
      await cluster.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
