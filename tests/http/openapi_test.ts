import assert from "node:assert/strict";
import { BUILTIN_TOOLS } from "../../src/tools/builtin/mod.ts";
import { createTestApp, postJson } from "../harness.ts";

Deno.test("/openapi.json describes every tool of the registry, without a key", async () => {
  const app = await createTestApp({ tools: BUILTIN_TOOLS });
  try {
    const res = await app.request("/openapi.json", { key: null });
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: "http",
      scheme: "bearer",
      description:
        "API_KEY_PRIMARY, API_KEY_SECONDARY or a key from API_KEYS_FILE; an operation's security lists the scopes a key needs (a key without a scope list has them all)",
    });
    for (const tool of app.registry.descriptors) {
      const op = doc.paths[`/v1/mcp/${tool.name}`]?.post;
      assert.ok(op, `operation for ${tool.name}`);
      assert.equal(op.operationId, tool.name);
      assert.equal(op.description, tool.description);
      // The scopes a key needs for it: sql_query its own, every other built-in the default.
      assert.deepEqual(op.security, [{
        bearer: tool.name === "sql_query" ? ["sql:query"] : ["tools:read"],
      }]);
      assert.deepEqual(op.requestBody.content["application/json"].schema, tool.inputSchema);
      for (const code of ["400", "401", "404", "413", "415", "429", "500", "504"]) {
        assert.equal(
          op.responses[code].$ref,
          "#/components/responses/Error",
          `${tool.name} ${code}`,
        );
      }
    }
    // Every $ref resolves inside the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const path = ref.slice(10, -1).split("/");
      let node = doc;
      for (const part of path) node = node?.[part];
      assert.ok(node, `unresolved ${ref}`);
    }
    // The schema documents what the server really does: limit's bounds.
    const limit =
      doc.paths["/v1/mcp/get_top_customers"].post.requestBody.content["application/json"].schema
        .properties.limit;
    assert.deepEqual([limit.minimum, limit.maximum], [1, 1000]);
    const refused = await postJson(app, "/v1/mcp/get_top_customers", { limit: limit.maximum + 1 });
    assert.equal(refused.status, 400);
    await refused.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("/openapi.json: every request example it offers is one the server accepts", async () => {
  const app = await createTestApp({
    tools: BUILTIN_TOOLS,
    env: { TOOLS_FILE: new URL("../../examples/tools.yaml", import.meta.url).pathname },
  });
  try {
    const doc = await (await app.request("/openapi.json", { key: null })).json();
    const withExample: string[] = [];
    for (const tool of app.registry.descriptors) {
      const content =
        doc.paths[`/v1/mcp/${tool.name}`].post.requestBody.content["application/json"];
      if (content.example === undefined) continue;
      withExample.push(tool.name);
      const res = await postJson(app, `/v1/mcp/${tool.name}`, content.example);
      assert.notEqual(res.status, 400, `${tool.name}: ${JSON.stringify(content.example)}`);
      await res.body?.cancel();
    }
    // The pattern-bound order_totals parameter is optional, so it gets one too.
    for (const name of ["get_top_customers", "lookup_customer", "get_customer", "find_customers"]) {
      assert.ok(withExample.includes(name), `${name} has an example`);
    }
    assert.deepEqual(
      doc.paths["/v1/mcp/lookup_customer"].post.requestBody.content["application/json"].example,
      { id: 1 },
    );
    const errors = doc.components.responses.Error.content["application/json"].examples;
    assert.equal(errors.not_found.value.status, "not_found");
  } finally {
    await app.close();
  }
});
