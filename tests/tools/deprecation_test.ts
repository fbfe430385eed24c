import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "../../src/tools/define.ts";
import { createRegistry, deprecationHeaders, RegistryError } from "../../src/tools/registry.ts";
import { createTestApp, errorOf, mcpToolCall, postJson } from "../harness.ts";

const v2 = defineTool({
  name: "echo_v2",
  description: "Echoes its text.",
  input: z.strictObject({ text: z.string().max(10) }),
  handler: ({ text }) => Promise.resolve({ text }),
});
const v1 = defineTool({
  name: "echo_v1",
  description: "Echoes its text (old).",
  input: z.strictObject({ text: z.string().max(10) }),
  deprecated: { sunset: "2027-03-31", successor: "echo_v2" },
  handler: ({ text }) => Promise.resolve({ text }),
});

Deno.test("a deprecated tool stays callable and says so everywhere", async (t) => {
  const app = await createTestApp({ tools: [v1, v2] });
  try {
    await t.step("the listing puts the notice first (tools/list and /docs read it)", async () => {
      const list = await (await app.request("/v1/mcp")).json();
      const old = list.tools.find((x: { name: string }) => x.name === "echo_v1");
      assert.equal(
        old.description,
        "DEPRECATED: removed on 2027-03-31; use echo_v2 instead. Echoes its text (old).",
      );
      const current = list.tools.find((x: { name: string }) => x.name === "echo_v2");
      assert.ok(!current.description.includes("DEPRECATED"));
      const doc = await (await app.request("/openapi.json", { key: null })).json();
      assert.match(doc.paths["/v1/mcp/echo_v1"].post.description, /^DEPRECATED/);
    });
    await t.step("REST answers carry Deprecation, Sunset and the successor link", async () => {
      const res = await postJson(app, "/v1/mcp/echo_v1", { text: "hi" });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { text: "hi" });
      assert.equal(res.headers.get("deprecation"), "true");
      assert.equal(res.headers.get("sunset"), "Wed, 31 Mar 2027 00:00:00 GMT");
      assert.equal(res.headers.get("link"), '</v1/mcp/echo_v2>; rel="successor-version"');
      const bad = await postJson(app, "/v1/mcp/echo_v1", { text: "x".repeat(11) });
      assert.equal(bad.status, 400);
      assert.equal(bad.headers.get("deprecation"), "true");
      assert.equal((await errorOf(bad)).status, "invalid_input");
      const current = await postJson(app, "/v1/mcp/echo_v2", { text: "hi" });
      assert.equal(current.headers.get("deprecation"), null);
      await current.body?.cancel();
    });
    await t.step("each call logs a warning and counts in tool_deprecated_calls_total", async () => {
      const mcp = await mcpToolCall(app, "echo_v1", { text: "m" });
      assert.equal((await mcp.json()).result.structuredContent.text, "m");
      const warnings = app.lines().filter((l) => l.message === "deprecated tool called");
      assert.equal(warnings.length, 3);
      assert.equal(warnings[0].level, "warning");
      assert.equal(warnings[0].successor, "echo_v2");
      const metrics = await app.metrics.registry.metrics();
      assert.match(metrics, /tool_deprecated_calls_total\{tool_name="echo_v1"\} 3/);
      assert.doesNotMatch(metrics, /tool_deprecated_calls_total\{tool_name="echo_v2"\}/);
    });
  } finally {
    await app.close();
  }
});

Deno.test("the registry refuses a bad sunset date or an unknown successor", () => {
  for (
    const deprecated of [
      { sunset: "next year" },
      { sunset: "2027-02-30x" },
      { sunset: "2027-02-30" },
      { sunset: "2026-02-29" },
      { sunset: "2027-13-01" },
      { sunset: "2027-00-10" },
      { sunset: "2027-03-31T00:00:00Z" },
      { sunset: "２０２７-０３-３１" },
      { sunset: "2027-03-31", successor: "nope" },
    ]
  ) {
    assert.throws(
      () =>
        createRegistry([v2, defineTool({ ...v1, deprecated } as Parameters<typeof defineTool>[0])]),
      RegistryError,
      JSON.stringify(deprecated),
    );
  }
});

Deno.test("the registry takes a real leap-day sunset", () => {
  const leap = defineTool({ ...v1, deprecated: { sunset: "2028-02-29", successor: "echo_v2" } });
  const registry = createRegistry([v2, leap]);
  assert.equal(
    deprecationHeaders(registry.get("echo_v1")!.deprecated!).sunset,
    "Tue, 29 Feb 2028 00:00:00 GMT",
  );
});

Deno.test("a tools-file tool can be deprecated too", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    path,
    `tools:
  count_v1:
    kind: sql
    description: Counts customers.
    statement: SELECT count(*)::int AS n FROM customers
    deprecated: { sunset: "2027-01-01", successor: get_top_customers }
`,
  );
  const app = await createTestApp({ env: { TOOLS_FILE: path } });
  try {
    const res = await postJson(app, "/v1/mcp/count_v1", {});
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("deprecation"), "true");
    assert.equal((await res.json()).rows[0].n, 1000);
  } finally {
    await app.close();
    await Deno.remove(path);
  }
});
