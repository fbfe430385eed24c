/**
 * createTestServer(): a tool author's calls go through the real pipeline
 * (auth, validation, ToolError mapping, the database the config names), and
 * serve({ tools }) refuses what it cannot honour.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { createTestServer } from "../../src/authoring/test_server.ts";
import { sql } from "../../src/sources/db/sql_source.ts";
import { defineTool } from "../../src/tools/define.ts";
import { ToolError } from "../../src/tools/errors.ts";
import { createTestDatabase, postgresUnavailable } from "../sources/db/pg_fixture.ts";
import { freePort, runDeno, toolchainEnv } from "../process.ts";

const customerEmail = defineTool({
  name: "customer_email",
  description: "One customer's email, by id.",
  input: z.strictObject({ id: z.int().min(1) }),
  async handler({ id }, ctx) {
    const { rows } = await ctx.sql.query<{ email: string }>(
      sql`SELECT email FROM customers WHERE id = ${id}`,
    );
    if (rows.length === 0) throw new ToolError("not_found", "Customer not found");
    return { email: rows[0].email, principal: ctx.principal.id };
  },
});

const broken = defineTool({
  name: "broken",
  description: "Fails with a fault whose message must not reach the caller.",
  input: z.strictObject({}),
  handler: () => Promise.reject(new Error("secret detail: password=hunter2")),
});

Deno.test("createTestServer() serves exactly the given tools on the embedded demo data", async () => {
  await using server = await createTestServer({ tools: [customerEmail, broken] });
  assert.deepEqual([...server.tools].sort(), ["broken", "customer_email"]);
  assert.deepEqual(await server.call("customer_email", { id: 42 }), {
    status: 200,
    body: { email: "customer42@example.com", principal: "primary" },
  });
  const missing = await server.call("customer_email", { id: 999_999 });
  assert.equal(missing.status, 404);
  assert.equal((missing.body as { error: string }).error, "Customer not found");
  // A demo tool is not served beside the author's.
  assert.equal((await server.call("get_top_customers", {})).status, 404);
});

Deno.test("createTestServer() goes through auth, and keeps a fault out of the answer but in the logs", async () => {
  await using server = await createTestServer({ tools: [broken] });
  const anonymous = await server.request("/v1/mcp/broken", {
    method: "POST",
    key: null,
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const fault = await server.call("broken", {});
  assert.equal(fault.status, 500);
  assert.doesNotMatch(JSON.stringify(fault.body), /hunter2/);
  const viaMcp = await server.callMcp("broken", {});
  assert.equal(viaMcp.result?.isError, true);
  assert.doesNotMatch(JSON.stringify(viaMcp), /hunter2/);
  assert.ok(
    server.logs().some((line) => JSON.stringify(line).includes("secret detail")),
    "the fault is logged for the author",
  );
});

Deno.test("createTestServer() takes its configuration from env only", async () => {
  // A deadline from env: the slow tool is cut at 1 s, as it would be in production.
  const slow = defineTool({
    name: "slow",
    description: "Waits until its deadline.",
    input: z.strictObject({}),
    handler: (_input, ctx) =>
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
      ),
  });
  await using server = await createTestServer({
    tools: [slow],
    env: { TOOL_TIMEOUT_SECONDS: "1" },
  });
  const started = performance.now();
  const cut = await server.call("slow", {});
  assert.equal(cut.status, 504);
  assert.ok(performance.now() - started < 5_000);
});

Deno.test({
  name: "createTestServer() with DB_URL runs the tool on that PostgreSQL",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    try {
      await db.admin`UPDATE customers SET email = 'only-in-postgres@example.com' WHERE id = 42`;
      await using server = await createTestServer({
        tools: [customerEmail],
        env: { DB_URL: db.url },
      });
      const { status, body } = await server.call("customer_email", { id: 42 });
      assert.equal(status, 200);
      assert.equal((body as { email: string }).email, "only-in-postgres@example.com");
      const { rows } = await server.query<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM orders`,
      );
      assert.equal(rows[0].n, 5000);
    } finally {
      await db.drop();
    }
  },
});

Deno.test("serve({ tools }) refuses WORKERS > 1 at start (exit 2), naming the variable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-serve-tools-" });
  try {
    const program = `${dir}/program.ts`;
    await Deno.writeTextFile(
      program,
      `import { serve } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};\n` +
        "Deno.exit(await serve({ tools: [] }));\n",
    );
    const out = await runDeno([
      "run",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      program,
    ], {
      ...toolchainEnv(),
      // What WORKERS > 1 needs anyway; the refusal comes before anything opens.
      WORKERS: "2",
      PORT: String(freePort()),
      DB_URL: "postgres://postgres@127.0.0.1:1/unused",
      API_KEY_PRIMARY: "k".repeat(32),
    });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /Cannot start: WORKERS=2 serves only the built-in tools/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
