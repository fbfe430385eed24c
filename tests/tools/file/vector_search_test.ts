import assert from "node:assert/strict";
import { SQL_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, errorOf, postJson } from "../../harness.ts";
import { ingestedStore, ragEnv, removeDir } from "../../rag/fixture.ts";

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
