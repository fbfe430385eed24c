/**
 * `buildTools()`: the file's sources opened, each entry built through its
 * kind in file order on its own source or the server's, `cache_ttl_seconds`
 * applied, and what it opened closed again when a tool cannot be built. Each
 * kind's own build step is tested in `kinds/`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/env.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import type { SqlSource } from "../../../src/sources/db/sql_source.ts";
import { type BuildContext, buildTools } from "../../../src/tools/file/build.ts";
import type { ToolsFile } from "../../../src/tools/file/load.ts";
import { load } from "./load_fixture.ts";

const FILE = `
sources:
  crm:
    kind: http
    base_url: http://127.0.0.1:9/v1
tools:
  plain:
    kind: sql
    description: On the server's database.
    statement: SELECT 1 AS one
  customer:
    kind: http
    source: crm
    description: On the file's own upstream.
    path: /customers/{id}
    parameters:
      id: { type: integer, description: The id }
  cached:
    kind: sql
    description: Cached.
    statement: SELECT 2 AS two
    cache_ttl_seconds: 30
`;

function checked(text: string): ToolsFile {
  const result = load(text);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.file;
}

function context(): BuildContext {
  return {
    config: parseConfig({ API_KEY_PRIMARY: "primary-test-key-0123456789" }),
    sql: { kind: "postgres" } as SqlSource,
    upstream: undefined,
    log: createLogger({ level: "error", sinks: [] }),
    openEmbedded: () => Promise.reject(new Error("not in this test")),
  };
}

Deno.test("buildTools() builds each entry through its kind, in file order, on its own source or the server's", async () => {
  const ctx = context();
  const built = await buildTools(checked(FILE), ctx);
  try {
    assert.deepEqual(built.tools.map((t) => t.name), ["plain", "customer", "cached"]);
    const [plain, customer, cached] = built.tools;
    assert.equal(plain.sources?.sql, ctx.sql);
    assert.equal(customer.sources?.api?.name, "crm");
    assert.equal(customer.sources?.api, built.sources.find((s) => s.name === "crm")?.api);
    assert.equal(plain.cacheTtlSeconds, undefined);
    assert.equal(cached.cacheTtlSeconds, 30);
    assert.match(cached.cacheVersion ?? "", /^[A-Za-z0-9_-]{22}$/);
  } finally {
    await built.close();
  }
});

Deno.test("buildTools() stops at an entry its kind cannot build, naming it, and closes what it opened", async () => {
  const file = checked(`
sources:
  crm:
    kind: http
    base_url: http://127.0.0.1:9
tools:
  orphan:
    kind: http
    description: No source, and the server has no upstream.
    path: /x
`);
  // The file's upstream holds an HTTP client: left open, the test's resource sanitizer fails.
  await assert.rejects(
    () => buildTools(file, context()),
    /^Error: Tool "orphan": an http tool without a source needs API_BASE_URL/,
  );
});
