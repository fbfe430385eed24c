/**
 * `kind: http` (src/tools/file/kinds/http.ts): its path, query and body
 * templates are checked against its parameters at load; built, it is driven
 * through the app's REST door against a real loopback upstream that records
 * what it was sent: hostile path values must stay one segment under the base
 * URL or be refused as the caller's 400, never a 500.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Config } from "../../../../src/config/env.ts";
import type { SqlSource } from "../../../../src/sources/db/sql_source.ts";
import { httpKind } from "../../../../src/tools/file/kinds/http.ts";
import { loadToolsFile } from "../../../../src/tools/file/load.ts";
import { createTestApp, errorOf, postJson, type TestApp } from "../../../harness.ts";
import { scriptedUpstream } from "../../../sources/http/upstream_fixture.ts";
import { assertProblem, guard } from "../load_fixture.ts";

Deno.test("tools file: http templates are checked", () => {
  const tool = (lines: string) => `tools:\n  h:\n    kind: http\n    description: d\n${lines}`;
  assertProblem(tool("    path: /customers/{id}\n"), 5, /\{id\} is not a declared parameter/);
  assertProblem(tool("    path: /x?admin=1\n"), 5, /query parameters under query/);
  assertProblem(tool("    path: /a/../admin\n"), 5, /\.\. segments/);
  assertProblem(tool("    path: /x/${HOME}\n"), 5, /braces/);
  assertProblem(
    tool("    path: /x\n    parameters:\n      q: { type: string, description: d }\n"),
    7,
    /not used/,
  );
  assertProblem(tool("    path: /x\n    body: { a: 1 }\n"), 6, /only POST/);
  assertProblem(tool('    path: /x\n    query: { a: "pre{q}" }\n'), 6, /literal or exactly/);
});

Deno.test("tools file: an optional path parameter is refused at load (its absence would change the route)", () => {
  const tool = (spec: string) =>
    `tools:\n  h:\n    kind: http\n    description: d\n    path: /c/{id}/orders\n` +
    `    parameters:\n      id: ${spec}\n`;
  assertProblem(
    tool("{ type: string, description: d, required: false }"),
    7,
    /parameter id: a path parameter cannot be optional/,
  );
  for (
    const spec of [
      "{ type: string, description: d }",
      "{ type: integer, description: d, default: 1 }",
    ]
  ) {
    assert.equal(loadToolsFile(tool(spec), { env: {}, guard }).ok, true, spec);
  }
  // Optional stays fine where absence has a meaning: a query value is left out.
  const query = `tools:\n  h:\n    kind: http\n    description: d\n    path: /c\n` +
    `    query: { q: "{q}" }\n    parameters:\n      q: { type: string, description: d, required: false }\n`;
  assert.equal(loadToolsFile(query, { env: {}, guard }).ok, true);
});

Deno.test("httpKind.build() without a source of its own needs the server's upstream, naming the tool", () => {
  const spec = httpKind.schema.parse({ kind: "http", description: "d", path: "/x" });
  const checked = httpKind.check(spec, { guard, problem: (_f, m) => assert.fail(m) })!;
  assert.throws(
    () =>
      httpKind.build("orphan", spec, checked, {
        config: {} as Config,
        sql: {} as SqlSource,
        upstream: undefined,
        source: undefined,
      }),
    /^Error: Tool "orphan": an http tool without a source needs API_BASE_URL \(or give it a source\)$/,
  );
});

async function tempFile(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, text);
  return path;
}

const HTTP_FILE = (baseUrl: string) => `
sources:
  api:
    kind: http
    base_url: ${baseUrl}/v1
tools:
  item:
    kind: http
    source: api
    description: One item by its id.
    path: /items/{id}/detail
    query: { q: "{q}" }
    parameters:
      id: { type: string, description: The id, max_length: 100000 }
      q: { type: string, description: A query value, required: false }
  pair:
    kind: http
    source: api
    description: Two path parameters.
    path: /pairs/{a}/{b}
    parameters:
      a: { type: string, description: First }
      b: { type: string, description: Second, default: main }
`;

/** An app serving HTTP_FILE against an upstream that echoes the raw path it got. */
async function withItemTool(
  run: (app: TestApp, upstream: ReturnType<typeof scriptedUpstream>) => Promise<void>,
) {
  const upstream = scriptedUpstream((req) => {
    const url = new URL(req.url);
    return Response.json({ path: url.pathname, q: url.searchParams.get("q") });
  });
  const path = await tempFile(HTTP_FILE(upstream.url));
  const app = await createTestApp({ env: { TOOLS_FILE: path, RATE_LIMIT_RPM: "100000" } });
  try {
    await run(app, upstream);
  } finally {
    await app.close();
    await upstream.close();
    await Deno.remove(path);
  }
}

Deno.test("http tool: a lone surrogate in a path or query value is the caller's 400, naming the parameter", async () => {
  await withItemTool(async (app, upstream) => {
    const cases: [Record<string, string>, string][] = [
      [{ id: "a\uD800" }, "id"],
      [{ id: "\uDFFFb" }, "id"],
      [{ id: "x\uDC00\uD800y" }, "id"],
      [{ id: "ok", q: "\uD83D" }, "q"],
    ];
    for (const [input, field] of cases) {
      const res = await postJson(app, "/v1/mcp/item", input);
      assert.equal(res.status, 400, JSON.stringify(input));
      const body = await errorOf(res);
      assert.equal(body.status, "invalid_input");
      assert.ok(
        body.details?.some((d) => d.field === field && /well-formed Unicode/.test(d.message)),
        JSON.stringify(body),
      );
    }
    assert.equal(upstream.hits.length, 0, "nothing ill-formed is sent upstream");
  });
});

Deno.test("http tool: hostile path values stay one encoded segment under the base URL", async () => {
  await withItemTool(async (app, upstream) => {
    const values = [
      "../admin",
      "..%2fadmin",
      "a/b",
      "a?admin=1",
      "a#frag",
      "a\u0000b",
      "a\\b",
      "%2e%2e/%2e%2e",
      "😀 café",
      "\uD83D\uDE00",
      "x".repeat(10_000),
    ];
    for (const id of values) {
      const res = await postJson(app, "/v1/mcp/item", { id });
      assert.equal(res.status, 200, id.slice(0, 40));
      const { path, q } = await res.json();
      assert.equal(path, `/v1/items/${encodeURIComponent(id)}/detail`, id.slice(0, 40));
      assert.equal(decodeURIComponent(path.split("/")[3]), id);
      assert.equal(q, null, "an absent optional query parameter is left out");
    }
    assert.equal(upstream.hits.length, values.length);
  });
});

Deno.test("http tool: dot-only path values are the caller's 400, never sent", async () => {
  await withItemTool(async (app, upstream) => {
    for (const id of ["..", ".", "%2e%2e", "%2E.", "...", ""]) {
      const res = await postJson(app, "/v1/mcp/item", { id });
      assert.equal(res.status, 400, JSON.stringify(id));
      const body = await errorOf(res);
      assert.equal(body.status, "invalid_input");
      assert.ok(body.details?.some((d) => d.field === "id"), JSON.stringify(body));
    }
    assert.equal(upstream.hits.length, 0);
  });
});

Deno.test("http tool: a refused path value is named by its own parameter", async () => {
  await withItemTool(async (app, upstream) => {
    const res = await postJson(app, "/v1/mcp/pair", { a: "ok", b: ".." });
    assert.equal(res.status, 400);
    assert.deepEqual((await errorOf(res)).details?.map((d) => d.field), ["b"]);
    const lone = await postJson(app, "/v1/mcp/pair", { a: "\uDBFF", b: "x" });
    assert.equal(lone.status, 400);
    assert.deepEqual((await errorOf(lone)).details?.map((d) => d.field), ["a"]);
    assert.equal(upstream.hits.length, 0);
    const defaulted = await postJson(app, "/v1/mcp/pair", { a: "x" });
    assert.deepEqual(await defaulted.json(), { path: "/v1/pairs/x/main", q: null });
  });
});
