import assert from "node:assert/strict";
import { BUILTIN_TOOLS } from "../../src/tools/builtin/mod.ts";
import { SECRET_DETAIL, TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, errorOf, postJson, PRIMARY_KEY, SECONDARY_KEY } from "../harness.ts";

const TOOL = "/v1/mcp/get_top_customers";

Deno.test("REST door", async (t) => {
  const app = await createTestApp({ tools: [...BUILTIN_TOOLS, ...TEST_TOOLS] });

  await t.step("answers a tool call with 200 and the tool's JSON", async () => {
    const res = await postJson(app, TOOL, { limit: 3 });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^application\/json/);
    const body = await res.json();
    assert.equal(body.customers.length, 3);
    assert.equal(body.limit, 3);
    assert.equal(body.offset, 0);
    assert.equal(body.total_count, 1000);
  });

  await t.step("takes an empty body as {} (all defaults)", async () => {
    const res = await app.request(TOOL, { method: "POST" });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).customers.length, 10);
  });

  for (const [name, key] of [["primary", PRIMARY_KEY], ["secondary", SECONDARY_KEY]]) {
    await t.step(`accepts the ${name} key and logs its id, never the key`, async () => {
      app.records.length = 0;
      const res = await postJson(app, "/v1/mcp/echo", { text: "x" }, { key });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).principal, name);
      const logged = JSON.stringify(app.lines());
      assert.ok(logged.includes(`"principal":"${name}"`));
      assert.ok(!logged.includes(key));
    });
  }

  const unauthorizedCases: [string, Record<string, string>][] = [
    ["no key", {}],
    ["a Basic scheme", { authorization: `Basic ${btoa(`user:${PRIMARY_KEY}`)}` }],
    ["a bare Bearer", { authorization: "Bearer" }],
    ["a wrong key", { authorization: "Bearer not-the-right-key-000000" }],
    ["the key with a suffix", { authorization: `Bearer ${PRIMARY_KEY}x` }],
  ];
  const bodies: string[] = [];
  for (const [label, headers] of unauthorizedCases) {
    await t.step(`refuses ${label} with the same 401`, async () => {
      const res = await postJson(app, TOOL, {}, { key: null, headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate")!, /^Bearer/);
      const body = await errorOf(res);
      assert.equal(body.error, "Unauthorized");
      assert.equal(body.status, "unauthorized");
      assert.equal(body.request_id, res.headers.get("x-request-id"));
      const { request_id: _, ...rest } = body;
      bodies.push(JSON.stringify(rest));
    });
  }
  await t.step("gives every auth failure an identical body", () => {
    assert.equal(bodies.length, unauthorizedCases.length);
    assert.equal(new Set(bodies).size, 1);
  });

  await t.step("answers an unknown tool with 404, echoing only a valid name", async () => {
    const res = await postJson(app, "/v1/mcp/no_such_tool", {});
    assert.equal(res.status, 404);
    assert.equal((await errorOf(res)).error, "Unknown tool: no_such_tool");
    const hostile = await postJson(app, "/v1/mcp/%3Cscript%3Ealert(1)%3C%2Fscript%3E", {});
    assert.equal(hostile.status, 404);
    const body = await errorOf(hostile);
    assert.equal(body.error, "Unknown tool");
    assert.equal(body.status, "not_found");
  });

  await t.step("checks auth before telling whether a tool exists", async () => {
    const res = await postJson(app, "/v1/mcp/no_such_tool", {}, { key: null });
    assert.equal(res.status, 401);
  });

  await t.step("answers a wrong method with 405 and Allow", async () => {
    const res = await app.request(TOOL, { method: "GET" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal((await errorOf(res)).status, "invalid_input");
    const del = await app.request("/v1/mcp", { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get("allow"), "GET, HEAD");
  });

  await t.step("answers malformed JSON with 400", async () => {
    const res = await postJson(app, TOOL, '{"limit": 3');
    assert.equal(res.status, 400);
    const body = await errorOf(res);
    assert.equal(body.status, "invalid_input");
    assert.match(body.error, /not valid JSON/);
  });

  await t.step("answers a wrong content type with 415", async () => {
    const res = await postJson(app, TOOL, "limit=3", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(res.status, 415);
    assert.equal((await errorOf(res)).status, "invalid_input");
    const plain = await postJson(app, TOOL, '{"limit":3}', {
      headers: { "content-type": "text/plain" },
    });
    assert.equal(plain.status, 415);
  });

  await t.step("answers an oversized body with 413", async () => {
    const big = JSON.stringify({ text: "x".repeat(1024 * 1024 + 10) });
    const res = await postJson(app, "/v1/mcp/echo", big);
    assert.equal(res.status, 413);
    assert.equal((await errorOf(res)).status, "invalid_input");
  });

  const outOfBounds: [string, unknown, string][] = [
    ["limit 0", { limit: 0 }, "limit"],
    ["limit 1001", { limit: 1001 }, "limit"],
    ["limit -1", { limit: -1 }, "limit"],
    ['limit "10"', { limit: "10" }, "limit"],
    ["limit 2.5", { limit: 2.5 }, "limit"],
    ["limit null", { limit: null }, "limit"],
    ["limit 1e400 (Infinity)", '{"limit": 1e400}', "limit"],
    ["offset -1", { offset: -1 }, "offset"],
    ["an extra field", { limit: 5, drop: "orders" }, "drop"],
    ["an array body", [1, 2], "(input)"],
    ["a string body", '"hello"', "(input)"],
  ];
  for (const [label, input, field] of outOfBounds) {
    await t.step(`refuses ${label} with 400 naming the field`, async () => {
      const res = await postJson(app, TOOL, input);
      assert.equal(res.status, 400);
      const body = await errorOf(res);
      assert.equal(body.status, "invalid_input");
      assert.ok(body.details?.some((d) => d.field === field), JSON.stringify(body.details));
    });
  }

  await t.step("answers a failing handler with 500 and no detail, logging it in full", async () => {
    app.records.length = 0;
    const res = await postJson(app, "/v1/mcp/boom", {}, {
      headers: { "x-request-id": "trace-500" },
    });
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.ok(!text.includes("hunter2") && !text.includes("db.ts") && !text.includes("SELECT"));
    const body = JSON.parse(text);
    assert.deepEqual(body, {
      error: "Internal server error",
      status: "error",
      request_id: "trace-500",
    });
    const line = app.lines().find((l) => l.level === "error")!;
    assert.equal(line.request_id, "trace-500");
    assert.ok(JSON.stringify(line).includes(SECRET_DETAIL));
  });

  await t.step("answers a tool's not-found with 404", async () => {
    const res = await postJson(app, "/v1/mcp/missing", {});
    assert.equal(res.status, 404);
    const body = await errorOf(res);
    assert.deepEqual([body.error, body.status], ["Customer not found", "not_found"]);
  });

  await t.step("answers a handler past its deadline with 504 retry", async () => {
    const res = await postJson(app, "/v1/mcp/slow", {});
    assert.equal(res.status, 504);
    assert.equal((await errorOf(res)).status, "retry");
    await new Promise((r) => setTimeout(r, 350));
  });

  await t.step("lists the tools with their JSON schemas", async () => {
    const res = await app.request("/v1/mcp");
    assert.equal(res.status, 200);
    const { tools } = await res.json();
    const top = tools.find((x: { name: string }) => x.name === "get_top_customers");
    assert.ok(top.description.length > 10);
    assert.equal(top.inputSchema.type, "object");
    assert.equal(top.inputSchema.properties.limit.maximum, 1000);
    assert.equal(top.inputSchema.additionalProperties, false);
    assert.equal(tools.length, BUILTIN_TOOLS.length + TEST_TOOLS.length);
  });

  await t.step("needs a key to list the tools", async () => {
    const res = await app.request("/v1/mcp", { key: null });
    assert.equal(res.status, 401);
  });

  await app.close();
});
