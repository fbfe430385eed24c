/**
 * `cache_ttl_seconds` in a tools file: checked with its line and column,
 * served through the cache, and keyed by the tool's definition so a reload
 * that changes it never serves the old one's results.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPgParser } from "../../src/sources/db/pg_parser.ts";
import type { SqlQuery, SqlSource } from "../../src/sources/db/sql_source.ts";
import { createStatementGuard } from "../../src/sources/db/statement_guard.ts";
import { loadToolsFile } from "../../src/tools/file/load.ts";
import { createTestApp, postJson, type TestApp } from "../harness.ts";

const guard = createStatementGuard(await createPgParser());

const file = (ttl: string, statement = "SELECT :q::text AS q") =>
  `tools:
  cached_sql:
    kind: sql
    description: A cached statement.
    statement: ${statement}
    cache_ttl_seconds: ${ttl}
    parameters:
      q: { type: string, description: q }
  plain_sql:
    kind: sql
    description: Not cached.
    statement: SELECT 1 AS one
`;

/** A SQL source that answers every statement with its text and a count of the queries run. */
function countingSql(): SqlSource & { queries: SqlQuery[] } {
  const queries: SqlQuery[] = [];
  return {
    kind: "postgres",
    queries,
    query(query: SqlQuery) {
      queries.push(query);
      return Promise.resolve({ rows: [{ text: query.text, n: queries.length }] });
    },
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  } as unknown as SqlSource & { queries: SqlQuery[] };
}

Deno.test("tools file: cache_ttl_seconds is read, and bad values are reported at their line", () => {
  const ok = loadToolsFile(file("300"), { env: {}, guard });
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.problems));
  assert.equal(ok.file.spec.tools.cached_sql.cache_ttl_seconds, 300);
  assert.equal(ok.file.spec.tools.plain_sql.cache_ttl_seconds, undefined);
  for (const bad of ["0", "-5", "1.5", "86401", "soon", "null"]) {
    const result = loadToolsFile(file(bad), { env: {}, guard });
    assert.ok(!result.ok, `cache_ttl_seconds: ${bad} must be refused`);
    assert.ok(
      result.problems.some((p) =>
        p.line === 6 && p.column === 24 && /cache_ttl_seconds/.test(p.message)
      ),
      `${bad}: ${JSON.stringify(result.problems)}`,
    );
  }
  assert.ok(loadToolsFile(file("86400"), { env: {}, guard }).ok);
  assert.ok(loadToolsFile(file("1"), { env: {}, guard }).ok);
});

Deno.test("tools file: a cached tool hits; a reload that changes it misses, one that does not hits", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  const sql = countingSql();
  let app: TestApp | undefined;
  const call = async (tool: string, body: unknown) => {
    const res = await postJson(app!, `/v1/mcp/${tool}`, body);
    return { status: res.status, cache: res.headers.get("x-cache"), body: await res.json() };
  };
  try {
    await Deno.writeTextFile(path, file("60"));
    app = await createTestApp({ tools: [], sql, env: { TOOLS_FILE: path } });
    const tool = app.registry.get("cached_sql")!;
    assert.equal(tool.cacheTtlSeconds, 60);
    assert.match(tool.cacheVersion ?? "", /^[A-Za-z0-9_-]{22}$/);
    assert.equal(app.registry.get("plain_sql")!.cacheTtlSeconds, undefined);

    const miss = await call("cached_sql", { q: "a" });
    assert.deepEqual([miss.status, miss.cache, sql.queries.length], [200, "miss", 1]);
    const hit = await call("cached_sql", { q: "a" });
    assert.deepEqual([hit.cache, sql.queries.length], ["hit", 1]);
    assert.deepEqual(hit.body, miss.body);
    const plain = await call("plain_sql", {});
    assert.deepEqual([plain.status, plain.cache], [200, null]);
    assert.equal(sql.queries.length, 2);

    // The same definition again: the same version, so the entry still serves.
    assert.equal((await app.reloadTools()).ok, true);
    assert.equal(app.registry.get("cached_sql")!.cacheVersion, tool.cacheVersion);
    assert.equal((await call("cached_sql", { q: "a" })).cache, "hit");

    // A changed statement: a new version, never the old statement's rows.
    await Deno.writeTextFile(path, file("60", "SELECT upper(:q::text) AS q"));
    assert.equal((await app.reloadTools()).ok, true);
    assert.notEqual(app.registry.get("cached_sql")!.cacheVersion, tool.cacheVersion);
    const changed = await call("cached_sql", { q: "a" });
    assert.equal(changed.cache, "miss");
    assert.match(changed.body.rows[0].text, /upper/);
    assert.equal((await call("cached_sql", { q: "a" })).cache, "hit");
    assert.equal(sql.queries.length, 3);
  } finally {
    await app?.close();
    await Deno.remove(path);
  }
});
