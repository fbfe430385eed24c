import assert from "node:assert/strict";
import { SQL_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { ToolsFileError } from "../../../src/tools/file/tools_file.ts";
import { createTestApp, errorOf, mcpToolCall, postJson, type TestApp } from "../../harness.ts";
import { runDeno } from "../../process.ts";
import { scriptedUpstream, sleep } from "../../sources/http/upstream_fixture.ts";
import { createTestDatabase, postgresUnavailable } from "../../sources/db/pg_fixture.ts";

const EXAMPLE = new URL("../../../examples/tools.yaml", import.meta.url).pathname;

async function tempFile(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, text);
  return path;
}

/** A file with one tool per parameter type, to test bounds through the pipeline. */
const PARAMS_FILE = `
tools:
  params:
    kind: sql
    description: Echoes its parameters.
    statement: SELECT :s::text AS s, :i::int AS i, :n::float8 AS n, :b::boolean AS b, :e::text AS e, :o::text AS o, :d::int AS d
    parameters:
      s: { type: string, description: s, min_length: 2, max_length: 5, pattern: "^[a-z]+$" }
      i: { type: integer, description: i, min: -3, max: 3 }
      n: { type: number, description: n, min: 0.5, max: 1.5 }
      b: { type: boolean, description: b }
      e: { type: string, description: e, enum: [red, green] }
      o: { type: string, description: o, required: false }
      d: { type: integer, description: d, default: 7, min: 0, max: 10 }
`;

const GOOD = { s: "abc", i: 0, n: 1, b: true, e: "red" };

Deno.test("tools file: the example's tools on both doors, beside the built-ins", async (t) => {
  const app = await createTestApp({ env: { TOOLS_FILE: EXAMPLE } });
  try {
    await t.step("listed with the built-ins", async () => {
      const names = app.registry.tools.map((tool) => tool.name);
      for (const n of ["find_customers", "order_totals", "customer_profile", "lookup_customer"]) {
        assert.ok(names.includes(n), n);
      }
      const doc = await (await app.request("/openapi.json", { key: null })).json();
      assert.ok(doc.paths["/v1/mcp/find_customers"]);
    });
    await t.step("REST: a sql tool returns rows", async () => {
      const res = await postJson(app, "/v1/mcp/find_customers", {
        name_contains: "grace",
        limit: 2,
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.row_count, 2);
      assert.deepEqual(body.rows[0], {
        id: 8,
        name: "Grace Abbott",
        email: "customer8@example.com",
      });
    });
    await t.step("MCP: the same tool as structured content", async () => {
      const res = await mcpToolCall(app, "find_customers", { name_contains: "grace", limit: 1 });
      const { result } = await res.json();
      assert.equal(result.structuredContent.rows[0].name, "Grace Abbott");
    });
    await t.step("an http tool reads the upstream through the real client", async () => {
      const res = await postJson(app, "/v1/mcp/customer_profile", { customer_id: 42 });
      assert.deepEqual(await res.json(), {
        id: 42,
        name: "Alan Carter",
        email: "customer42@example.com",
      });
      const missing = await postJson(app, "/v1/mcp/customer_profile", { customer_id: 999_999 });
      assert.equal(missing.status, 404);
      assert.equal((await errorOf(missing)).error, "Customer not found");
    });
    await t.step("a bad date is the caller's 400, not a 500", async () => {
      const res = await postJson(app, "/v1/mcp/order_totals", { since: "2025-13-45" });
      assert.equal(res.status, 400);
      assert.ok(!(await res.text()).includes("out of range"));
    });
    await t.step("the file's cost is charged by the rate limit", async () => {
      const before = await postJson(app, "/v1/mcp/lookup_customer", { id: 1 });
      const left = Number(before.headers.get("x-ratelimit-remaining"));
      await before.body?.cancel();
      const res = await postJson(app, "/v1/mcp/find_customers", { name_contains: "a" });
      await res.body?.cancel();
      assert.equal(Number(res.headers.get("x-ratelimit-remaining")), left - 2);
    });
  } finally {
    await app.close();
  }
});

Deno.test("tools file: SQL attack strings through a file tool change nothing", async () => {
  const app = await createTestApp({ env: { TOOLS_FILE: EXAMPLE, RATE_LIMIT_RPM: "10000" } });
  try {
    const attacks = [
      "x'; DELETE FROM customers; --",
      "' OR '1'='1",
      "'; COMMIT; DROP TABLE orders; --",
      "\\'; UPDATE customers SET name='pwned'; --",
      "$$; DELETE FROM orders; $$",
      "%' UNION SELECT 1, current_user, version() --",
    ];
    for (const name_contains of attacks) {
      const res = await postJson(app, "/v1/mcp/find_customers", { name_contains, limit: 100 });
      assert.equal(res.status, 200, name_contains);
      assert.equal((await res.json()).row_count, 0, name_contains);
    }
    const count = await postJson(app, "/v1/mcp/get_top_customers", { limit: 1 });
    assert.equal((await count.json()).total_count, 1000);
    const one = await postJson(app, "/v1/mcp/lookup_customer", { id: 1 });
    assert.notEqual((await one.json()).name, "pwned");
  } finally {
    await app.close();
  }
});

Deno.test("tools file: every parameter type and bound, through the pipeline", async (t) => {
  const path = await tempFile(PARAMS_FILE);
  const app = await createTestApp({ env: { TOOLS_FILE: path, RATE_LIMIT_RPM: "10000" } });
  const call = (input: unknown) => postJson(app, "/v1/mcp/params", input);
  try {
    await t.step("valid input; optional binds NULL; default applies", async () => {
      const res = await call(GOOD);
      assert.equal(res.status, 200);
      assert.deepEqual((await res.json()).rows[0], { ...GOOD, o: null, d: 7 });
    });
    const bad: [string, unknown][] = [
      ["s", "a"],
      ["s", "abcdef"],
      ["s", "ABC"],
      ["s", 5],
      ["i", 4],
      ["i", -4],
      ["i", 1.5],
      ["i", "1"],
      ["n", 0.4],
      ["n", 1.6],
      ["n", "1"],
      ["b", "true"],
      ["b", 1],
      ["e", "blue"],
      ["d", 11],
      ["o", "x".repeat(1001)],
    ];
    for (const [field, value] of bad) {
      await t.step(`refuses ${field}=${JSON.stringify(value).slice(0, 20)}`, async () => {
        const res = await call({ ...GOOD, [field]: value });
        assert.equal(res.status, 400);
        assert.equal((await errorOf(res)).details?.[0].field, field);
      });
    }
    await t.step("refuses a missing required parameter and an unknown one", async () => {
      const { s: _s, ...noS } = GOOD;
      const missing = await call(noS);
      assert.equal(missing.status, 400);
      assert.equal((await errorOf(missing)).details?.[0].field, "s");
      const extra = await call({ ...GOOD, z: 1 });
      assert.equal(extra.status, 400);
      await extra.body?.cancel();
    });
    await t.step("the listing shows bounds as JSON Schema", () => {
      const tool = app.registry.descriptors.find((d) => d.name === "params")!;
      const props = (tool.inputSchema as { properties: Record<string, Record<string, unknown>> })
        .properties;
      assert.equal(props.s.maxLength, 5);
      assert.equal(props.i.maximum, 3);
      assert.deepEqual(props.e.enum, ["red", "green"]);
    });
  } finally {
    await app.close();
    await Deno.remove(path);
  }
});

Deno.test("tools file: a name clash with a built-in tool stops the start", async () => {
  const path = await tempFile(
    "tools:\n  lookup_customer:\n    kind: sql\n    description: d\n    statement: SELECT 1\n",
  );
  try {
    await assert.rejects(createTestApp({ env: { TOOLS_FILE: path } }), /already registered/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("tools file: a bad file stops the start with every problem and its line", async () => {
  const path = await tempFile(
    "tools:\n  t:\n    kind: sql\n    description: d\n    statement: DELETE FROM customers\n",
  );
  try {
    const error = await createTestApp({ env: { TOOLS_FILE: path } }).then(
      () => assert.fail("expected a refusal"),
      (e) => e,
    );
    assert.ok(error instanceof ToolsFileError);
    assert.match(error.message, new RegExp(`${path}:5:\\d+: statement refused`));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("tools file: TOOLSET serves only the tools it lists", async () => {
  const app = await createTestApp({ env: { TOOLS_FILE: EXAMPLE, TOOLSET: "analytics" } });
  try {
    assert.deepEqual(app.registry.tools.map((t) => t.name), ["order_totals", "get_top_customers"]);
  } finally {
    await app.close();
  }
  await assert.rejects(
    createTestApp({ env: { TOOLS_FILE: EXAMPLE, TOOLSET: "nope" } }),
    /not defined/,
  );
});

Deno.test("tools file: reload swaps tools; a bad file keeps the old ones; a call in flight finishes", async (t) => {
  const upstream = scriptedUpstream(async (req) => {
    await sleep(new URL(req.url).pathname === "/slow" ? 500 : 0, req.signal);
    return Response.json({ ok: true });
  });
  const file = (tool: string) => `
sources:
  api:
    kind: http
    base_url: ${upstream.url}
tools:
  ${tool}:
    kind: http
    source: api
    description: d
    path: /slow
`;
  const path = await tempFile(file("first_tool"));
  let app: TestApp | undefined;
  try {
    app = await createTestApp({ tools: SQL_TOOLS, env: { TOOLS_FILE: path } });
    const names = () => app!.registry.tools.map((t) => t.name);
    assert.ok(names().includes("first_tool"));

    await t.step("good file: new tools, while a call on the old one finishes", async () => {
      const inFlight = postJson(app!, "/v1/mcp/first_tool", {});
      await sleep(100);
      await Deno.writeTextFile(path, file("second_tool"));
      const result = await app!.reloadTools();
      assert.deepEqual(result, { ok: true, tools: ["second_tool"] });
      assert.ok(names().includes("second_tool") && !names().includes("first_tool"));
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true });
      const gone = await postJson(app!, "/v1/mcp/first_tool", {});
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    });

    await t.step("bad file: refused, the old tools keep serving", async () => {
      await Deno.writeTextFile(
        path,
        "tools:\n  x:\n    kind: sql\n    description: d\n    statement: DROP TABLE t\n",
      );
      const result = await app!.reloadTools();
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.error : "", /:5:\d+: statement refused/);
      assert.ok(names().includes("second_tool"));
      assert.ok(
        app!.lines().some((l) =>
          l.message === "tools file reload refused; the previous tools keep serving"
        ),
      );
      const res = await postJson(app!, "/v1/mcp/second_tool", {});
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
  } finally {
    await app?.close();
    await upstream.close();
    await Deno.remove(path);
  }
});

Deno.test("mcp-tool-server check: exit 0 for a good file, 2 (configuration) with file:line:col for a bad one", async () => {
  const main = new URL("../../../main.ts", import.meta.url).pathname;
  const good = await runDeno([
    "run",
    "--allow-env",
    `--allow-read=${EXAMPLE}`,
    main,
    "check",
    EXAMPLE,
  ], {
    HOME: Deno.env.get("HOME") ?? "/root",
  });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /ok, 4 tools/);
  const path = await tempFile(
    "tools:\n  t:\n    kind: sql\n    description: d\n    statement: UPDATE x SET y = 1\n",
  );
  try {
    const bad = await runDeno(["run", "--allow-env", `--allow-read=${path}`, main, "check", path], {
      HOME: Deno.env.get("HOME") ?? "/root",
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`${path}:5:\\d+: statement refused`));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test({
  name:
    "tools file on PostgreSQL: the example's order_totals refuses impossible dates as the caller's 400, without leaking a connection",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const app = await createTestApp({
      env: {
        TOOLS_FILE: EXAMPLE,
        DB_URL: db.url,
        // The test database holds the demo schema; the example's REST tools read the demo upstream.
        DEMO_TOOLS: "true",
        DB_POOL_SIZE: "2",
        DB_POOL_MAX_OVERFLOW: "0",
        RATE_LIMIT_RPM: "10000",
        TOOL_TIMEOUT_SECONDS: "3",
      },
    });
    try {
      // Fifteen such calls used to hang until the deadline and keep their
      // connections for good; 2024-02-30 was read as 2024-03-01.
      for (let i = 0; i < 20; i++) {
        for (const since of ["2024-13-45", "2024-02-30", "0000-00-00"]) {
          const res = await postJson(app, "/v1/mcp/order_totals", { since });
          const body = await res.text();
          assert.equal(res.status, 400, `${since}: ${body}`);
          assert.ok(!body.includes("out of range"), body);
        }
      }
      const ok = await postJson(app, "/v1/mcp/order_totals", { since: "2024-02-29" });
      assert.equal(ok.status, 200, await ok.clone().text());
      await ok.body?.cancel();
    } finally {
      await app.close();
      await db.drop();
    }
  },
});
