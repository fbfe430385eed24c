import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../src/config/env.ts";
import { planDemo } from "../../src/tools/demo_plan.ts";

const KEY = "demo-plan-test-key-0123456789";
const files = (text: string) => (path: string) =>
  path === "/etc/mcp-tool-server/tools.yaml"
    ? Promise.resolve(text)
    : Promise.reject(new Deno.errors.NotFound(path));
const TOOLS_FILE = "/etc/mcp-tool-server/tools.yaml";

const OWN_DB = `
sources:
  crm:
    kind: postgres
    url: \${CRM_DB_URL}
tools:
  open_tickets:
    kind: sql
    source: crm
    description: Open tickets.
    statement: SELECT id FROM tickets
`;
const OWN_API = `
sources:
  billing:
    kind: http
    base_url: https://billing.internal
tools:
  invoice:
    kind: http
    source: billing
    description: One invoice.
    path: /invoices/1
`;
const ON_DEMO = `
sources:
  demo:
    kind: embedded
tools:
  find_customers:
    kind: sql
    source: demo
    description: Customers.
    statement: SELECT id FROM customers
  count_orders:
    kind: sql
    description: Orders.
    statement: SELECT count(*) FROM orders
`;

Deno.test("planDemo() serves the demo tools only when every source is the demo's", async () => {
  const plan = (env: Record<string, string>, text = "") =>
    planDemo(parseConfig(env), files(text)).then((p) => p.demoTools);
  assert.equal(await plan({}), true);
  assert.equal(await plan({ TOOLS_FILE }, ON_DEMO), true);
  assert.equal(await plan({ DB_URL: "postgres://db.internal/app" }), false);
  assert.equal(await plan({ API_BASE_URL: "https://api.internal" }), false);
  assert.equal(await plan({ TOOLS_FILE }, OWN_DB), false);
  assert.equal(await plan({ TOOLS_FILE }, OWN_API), false);
  // Asked for by name: a database seeded with the demo schema.
  assert.equal(await plan({ DB_URL: "postgres://db.internal/app", DEMO_TOOLS: "true" }), true);
  assert.equal(await plan({ DEMO_TOOLS: "false" }), false);
  // An unreadable or hostile file decides nothing here (its load reports it).
  assert.equal(await plan({ TOOLS_FILE: "/nowhere.yaml" }), true);
  assert.equal(await plan({ TOOLS_FILE }, "sources: [1, 2]\ntools: 7\n"), true);
  assert.equal(await plan({ TOOLS_FILE }, "a: &a [*a, *a]\n: : :"), true);
  assert.equal(
    await plan({ TOOLS_FILE }, "sources:\n  __proto__:\n    kind: postgres\n    url: x\n"),
    false,
  );
});

Deno.test("planDemo() refuses a production tools file without a database of its own", async () => {
  const production = { ENVIRONMENT: "production", API_KEY_PRIMARY: KEY, TOOLS_FILE };
  // Its own PostgreSQL: fine, and no demo tools.
  assert.equal((await planDemo(parseConfig(production), files(OWN_DB))).demoTools, false);
  // Only an API: the embedded demo database would be the server's database.
  await assert.rejects(
    planDemo(parseConfig(production), files(OWN_API)),
    (error: ConfigError) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.problems[0], /^DB_URL: is required in "production" when the tools file/);
      return true;
    },
  );
  // SQL tools on the embedded database, named or by default.
  await assert.rejects(
    planDemo(
      parseConfig(production),
      files(ON_DEMO.replace("sources:\n", "sources:\n  crm:\n    kind: postgres\n    url: x\n")),
    ),
    (error: ConfigError) => {
      assert.match(error.message, /"find_customers", "count_orders" would read the embedded demo/);
      return true;
    },
  );
  // Asked for by name, it is allowed.
  const embedded = parseConfig({ ...production, DB_EMBEDDED: "true" });
  assert.equal((await planDemo(embedded, files(ON_DEMO))).demoTools, true);
  // DEMO_TOOLS=true without a database in production.
  await assert.rejects(
    planDemo(parseConfig({ ...production, DEMO_TOOLS: "true" }), files(OWN_DB)),
    /DEMO_TOOLS: the demo tools read the server's own database/,
  );
});

Deno.test("an app on your own database serves only your tools: no demo tools, no demo upstream", async () => {
  const { createTestApp, postJson } = await import("../harness.ts");
  // Nothing listens there: the app starts anyway, and no demo tool is offered.
  const app = await createTestApp({
    env: { DB_URL: "postgres://reader@127.0.0.1:1/app", DB_CONNECT_TIMEOUT_SECONDS: "1" },
  });
  try {
    assert.deepEqual(app.registry.tools.map((t) => t.name), []);
    const res = await postJson(app, "/v1/mcp/get_top_customers", { limit: 3 });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    assert.ok(!app.lines().some((l) => String(l.message).startsWith("demo upstream started")));
    assert.equal(
      app.lines().find((l) => l.message === "demo tools not served")?.reason,
      "DB_URL is set",
    );
  } finally {
    await app.close();
  }
});
