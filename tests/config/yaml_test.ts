import assert from "node:assert/strict";

Deno.test("the lazily loaded YAML module has parse as a named export", async () => {
  const { parse } = await import("../../src/config/yaml.ts");
  assert.equal(typeof parse, "function");
  assert.deepEqual(parse("sources:\n  warehouse:\n    kind: postgres\n"), {
    sources: { warehouse: { kind: "postgres" } },
  });
});
