/**
 * `kind: vector_search` (src/tools/file/kinds/vector_search.ts): its fixed
 * input and limits checked at load, its search over the RAG store kept to its
 * documents, and what it reserves from `search_documents`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SQL_TOOLS } from "../../../../src/tools/builtin/mod.ts";
import { createTestApp, errorOf, postJson, SECONDARY_KEY } from "../../../harness.ts";
import { ingestedStore, ragEnv, removeDir } from "../../../rag/fixture.ts";

import { loadToolsFile } from "../../../../src/tools/file/load.ts";
import { assertProblem, guard } from "../load_fixture.ts";

const FILE = `
tools:
  search_space_docs:
    kind: vector_search
    description: Semantic search over the space documents only.
    documents: docs/space
    top_k: 2
    max_top_k: 4
`;

Deno.test("tools file: a vector_search tool searches the RAG store, only its documents", async (t) => {
  const { store, model } = await ingestedStore();
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, FILE);
  const app = await createTestApp({
    tools: SQL_TOOLS,
    env: { ...ragEnv(store, model), TOOLS_FILE: path },
  });
  try {
    await t.step("returns the default top_k, all from its documents, best first", async () => {
      const res = await postJson(app, "/v1/mcp/search_space_docs", {
        query: "rocket launch to mars",
      });
      assert.equal(res.status, 200);
      const { results } = await res.json();
      assert.equal(results.length, 2);
      assert.equal(results[0].source, "docs/space/rockets.txt");
      for (const r of results) assert.match(r.source, /^docs\/space\//);
    });
    await t.step("a query about other documents still finds only its own", async () => {
      const res = await postJson(app, "/v1/mcp/search_space_docs", {
        query: "the cat drinks milk",
        top_k: 4,
      });
      const { results } = await res.json();
      for (const r of results) assert.match(r.source, /^docs\/space\//);
    });
    for (
      const input of [{}, { query: "" }, { query: "x".repeat(2001) }, { query: "x", top_k: 5 }, {
        query: "x",
        source: "docs",
      }]
    ) {
      await t.step(`refuses ${JSON.stringify(input).slice(0, 40)} with 400`, async () => {
        const res = await postJson(app, "/v1/mcp/search_space_docs", input);
        assert.equal(res.status, 400);
        assert.equal((await errorOf(res)).status, "invalid_input");
      });
    }
  } finally {
    await app.close();
    await Deno.remove(path);
    await removeDir(store);
  }
});

Deno.test("tools file: a vector_search tool without ENABLE_RAG stops the start, saying so", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, FILE);
  try {
    await assert.rejects(
      createTestApp({ tools: SQL_TOOLS, env: { TOOLS_FILE: path } }),
      /vector_search tool needs ENABLE_RAG=true/,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("search_documents cannot reach what a vector_search tool reserves, and needs its own scope", async (t) => {
  const { store, model } = await ingestedStore();
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, FILE);
  const app = await createTestApp({
    tools: SQL_TOOLS,
    env: {
      ...ragEnv(store, model),
      TOOLS_FILE: path,
      // The secondary key holds only the default tool scope; it may call search_space_docs.
      API_KEY_SECONDARY_SCOPES: "tools:read",
    },
  });
  const search = async (input: Record<string, unknown>) => {
    const res = await postJson(app, "/v1/mcp/search_documents", { top_k: 50, ...input });
    assert.equal(res.status, 200, JSON.stringify(input));
    return (await res.json()).results as { source: string }[];
  };
  try {
    await t.step("no source: everything but the reserved documents", async () => {
      const results = await search({ query: "rocket launch to mars" });
      assert.ok(results.length > 0);
      for (const r of results) assert.doesNotMatch(r.source, /^docs\/space(\/|$)/);
      assert.ok(results.some((r) => r.source === "docs/cats.md"), "the others are still found");
    });
    for (const source of ["docs/space", "docs/space/rockets.txt", "docs"]) {
      await t.step(`source ${source}: never a reserved chunk`, async () => {
        const results = await search({ query: "rocket launch to mars", source });
        for (const r of results) assert.doesNotMatch(r.source, /^docs\/space(\/|$)/);
        if (source === "docs") assert.ok(results.length > 0);
        else assert.deepEqual(results, []);
      });
    }
    await t.step("the vector_search tool itself still reads its documents", async () => {
      const res = await postJson(app, "/v1/mcp/search_space_docs", { query: "rocket to mars" });
      assert.equal((await res.json()).results[0].source, "docs/space/rockets.txt");
    });
    await t.step(
      "search_documents declares documents:read; tools:read alone is refused",
      async () => {
        const listed = await (await app.request("/v1/mcp")).json();
        const tool = listed.tools.find((x: { name: string }) => x.name === "search_documents");
        assert.ok(tool);
        const refused = await postJson(app, "/v1/mcp/search_documents", { query: "rocket" }, {
          key: SECONDARY_KEY,
        });
        assert.equal(refused.status, 403);
        assert.match(refused.headers.get("www-authenticate") ?? "", /scope="documents:read"/);
        await refused.body?.cancel();
        const allowed = await postJson(app, "/v1/mcp/search_space_docs", { query: "rocket" }, {
          key: SECONDARY_KEY,
        });
        assert.equal(allowed.status, 200);
        await allowed.body?.cancel();
      },
    );
    await t.step("a reload that drops the tool frees its documents", async () => {
      await Deno.writeTextFile(path, "tools: {}\n");
      const reloaded = await app.reloadTools();
      assert.ok(reloaded.ok, JSON.stringify(reloaded));
      const results = await search({ query: "rocket launch to mars", source: "docs/space" });
      assert.equal(results[0]?.source, "docs/space/rockets.txt");
    });
  } finally {
    await app.close();
    await Deno.remove(path);
    await removeDir(store);
  }
});

Deno.test("tools file: vector_search loads with its fixed input, and its mistakes are reported", () => {
  const ok = loadToolsFile(
    "tools:\n  v:\n    kind: vector_search\n    description: d\n    documents: handbook\n    top_k: 3\n",
    { env: {}, guard },
  );
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.problems));
  const v = ok.file.spec.tools.v;
  assert.ok(v.kind === "vector_search" && v.top_k === 3 && v.max_top_k === 20);
  const tool = (lines: string) =>
    `tools:\n  v:\n    kind: vector_search\n    description: d\n${lines}`;
  assertProblem(
    tool("    parameters:\n      q: { type: string, description: x }\n"),
    6,
    /takes no parameters/,
  );
  assertProblem(tool("    top_k: 30\n    max_top_k: 10\n"), 5, /over max_top_k/);
  assertProblem(tool("    source: demo\n"), 5, /unknown field "source"/);
  assertProblem(tool("    top_k: 51\n"), 5, /top_k/);
});
