import assert from "node:assert/strict";
import { openStoreWriter } from "../../src/rag/store_open.ts";
import { ensureSchema } from "../../src/rag/vector_store.ts";
import { SQL_TOOLS } from "../../src/tools/builtin/mod.ts";
import { createTestApp, errorOf, MCP_HEADERS, postJson, type TestApp } from "../harness.ts";
import { emptyStoreDir, ingestedStore, ragEnv, removeDir, tinyModelDir } from "./fixture.ts";

async function mcpCall(app: TestApp, args: unknown, method = "tools/call") {
  const res = await app.request("/mcp", {
    method: "POST",
    headers: MCP_HEADERS,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method,
      params: method === "tools/call" ? { name: "search_documents", arguments: args } : {},
    }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

interface Hit {
  content: string;
  source: string;
  chunk_index: number;
  score: number;
}

Deno.test("search_documents on both doors", async (t) => {
  const { store, model } = await ingestedStore();
  const app = await createTestApp({ tools: SQL_TOOLS, env: ragEnv(store, model) });
  try {
    await t.step(
      "REST: the document sharing the query's words comes first, with a score",
      async () => {
        const res = await postJson(app, "/v1/mcp/search_documents", {
          query: "when will the rocket launch to mars",
          top_k: 3,
        });
        assert.equal(res.status, 200);
        const { results } = await res.json() as { results: Hit[] };
        assert.equal(results.length, 3);
        assert.equal(results[0].source, "docs/space/rockets.txt");
        assert.match(results[0].content, /rocket will launch/);
        assert.equal(typeof results[0].chunk_index, "number");
        for (let i = 1; i < results.length; i++) {
          assert.ok(results[i - 1].score >= results[i].score);
        }
        assert.ok(results[0].score > 0.2 && results[0].score <= 1, `${results[0].score}`);
        assert.deepEqual(Object.keys(results[0]).sort(), [
          "chunk_index",
          "content",
          "score",
          "source",
        ]);
      },
    );

    await t.step("REST: top_k defaults to 5 and source narrows to a file or folder", async () => {
      const all = await postJson(app, "/v1/mcp/search_documents", { query: "pizza oven" });
      const { results } = await all.json() as { results: Hit[] };
      assert.equal(results.length, 5);
      assert.equal(results[0].source, "docs/kitchen/pizza.md");
      const space = await postJson(app, "/v1/mcp/search_documents", {
        query: "pizza oven",
        top_k: 50,
        source: "docs/space",
      });
      const narrowed = (await space.json() as { results: Hit[] }).results;
      assert.ok(narrowed.length >= 2);
      assert.ok(narrowed.every((r) => r.source.startsWith("docs/space/")));
      const none = await postJson(app, "/v1/mcp/search_documents", {
        query: "pizza",
        source: "nowhere",
      });
      assert.deepEqual(await none.json(), { results: [] });
    });

    await t.step("REST: bounds: a 2000-character query is fine, 2001 is refused", async () => {
      const ok = await postJson(app, "/v1/mcp/search_documents", { query: "cat ".repeat(500) });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).results[0].source, "docs/cats.md");
      const cases: [unknown, string][] = [
        [{ query: "x".repeat(2001) }, "query"],
        [{ query: "" }, "query"],
        [{}, "query"],
        [{ query: "cats", top_k: 0 }, "top_k"],
        [{ query: "cats", top_k: 51 }, "top_k"],
        [{ query: "cats", top_k: 2.5 }, "top_k"],
        [{ query: "cats", source: "" }, "source"],
        [{ query: "cats", extra: 1 }, ""],
      ];
      for (const [body, field] of cases) {
        const res = await postJson(app, "/v1/mcp/search_documents", body);
        assert.equal(res.status, 400, JSON.stringify(body));
        const error = await errorOf(res);
        assert.equal(error.status, "invalid_input");
        if (field) {
          assert.ok(error.details?.some((d) => d.field === field), JSON.stringify(error.details));
        }
      }
    });

    await t.step("MCP: tools/list describes it with its input schema", async () => {
      const body = await mcpCall(app, undefined, "tools/list");
      const tool = body.result.tools.find((x: { name: string }) => x.name === "search_documents");
      assert.ok(tool, JSON.stringify(body.result.tools.map((x: { name: string }) => x.name)));
      assert.match(tool.description, /Semantic search/);
      assert.equal(tool.inputSchema.properties.query.maxLength, 2000);
      assert.equal(tool.inputSchema.properties.top_k.maximum, 50);
      assert.equal(tool.inputSchema.properties.top_k.default, 5);
      assert.deepEqual(tool.inputSchema.required, ["query"]);
      assert.equal(tool.annotations.readOnlyHint, true);
    });

    await t.step("MCP: tools/call gives the REST door's answer as structured content", async () => {
      const args = { query: "the cat likes milk", top_k: 2 };
      const body = await mcpCall(app, args);
      assert.notEqual(body.result.isError, true);
      const rest = await (await postJson(app, "/v1/mcp/search_documents", args)).json();
      assert.deepEqual(body.result.structuredContent, rest);
      assert.equal(body.result.structuredContent.results[0].source, "docs/cats.md");
      assert.deepEqual(JSON.parse(body.result.content[0].text), rest);
    });

    await t.step("MCP: a 2001-character query is a tool error, not a result", async () => {
      const body = await mcpCall(app, { query: "x".repeat(2001) });
      const error = body.error ?? body.result;
      if (body.result) {
        assert.equal(body.result.isError, true);
        assert.match(body.result.content[0].text, /invalid_input/);
      } else {
        assert.ok(error.code < 0, JSON.stringify(body));
      }
    });
  } finally {
    await app.close();
    await removeDir(store);
  }
});

Deno.test("search_documents is absent when RAG is off", async () => {
  const app = await createTestApp({ tools: SQL_TOOLS });
  try {
    assert.ok(!app.registry.tools.some((t) => t.name === "search_documents"));
    const res = await postJson(app, "/v1/mcp/search_documents", { query: "cats" });
    assert.equal(res.status, 404);
    const list = await mcpCall(app, undefined, "tools/list");
    assert.ok(!list.result.tools.some((x: { name: string }) => x.name === "search_documents"));
  } finally {
    await app.close();
  }
});

Deno.test("ENABLE_RAG=true stops the start with a clear error when the model folder is missing, fetching nothing", async () => {
  const store = await emptyStoreDir();
  const realFetch = globalThis.fetch;
  const fetched: string[] = [];
  globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    fetched.push(String(input instanceof Request ? input.url : input));
    return realFetch(input, init);
  };
  try {
    await assert.rejects(
      () => createTestApp({ tools: SQL_TOOLS, env: ragEnv(store, `${store}/no-model`) }),
      (error: Error) => {
        assert.match(
          error.message,
          /^Cannot start: ENABLE_RAG=true: RAG_MODEL_DIR ".*\/no-model" has no config\.json: expected a model folder in the layout of Xenova\/all-MiniLM-L6-v2/,
        );
        return true;
      },
    );
    assert.deepEqual(fetched.filter((u) => !u.startsWith("http://127.0.0.1")), []);
  } finally {
    globalThis.fetch = realFetch;
    await removeDir(store);
  }
});

Deno.test("ENABLE_RAG=true stops the start when the store is empty or made by another model", async () => {
  const model = await tinyModelDir();
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => createTestApp({ tools: SQL_TOOLS, env: ragEnv(`${empty}/store`, model) }),
      /Cannot start: ENABLE_RAG=true: The embedded document store ".*\/store" \(RAG_PGLITE_DIR\) holds no documents yet: run `mcp-tool-server ingest <files or folders>`/,
    );
    // Nothing was created by the refused start.
    assert.deepEqual([...Deno.readDirSync(empty)], []);
  } finally {
    await removeDir(empty);
  }

  const store = await emptyStoreDir();
  const db = await openStoreWriter({ kind: "pglite", dir: store });
  await ensureSchema(db, { model: "someone/else", dimension: 384 });
  await db.close();
  try {
    await assert.rejects(
      () => createTestApp({ tools: SQL_TOOLS, env: ragEnv(store, model) }),
      /Cannot start: ENABLE_RAG=true: The document store holds 384-dimension embeddings \(model "someone\/else"\), but the configured model "mcp-tool-server\/tiny-bert" makes 64-dimension ones: re-ingest everything with the new model: mcp-tool-server ingest --rebuild/,
    );
  } finally {
    await removeDir(store);
  }
});

Deno.test("the embedded store is held by one process at a time", async () => {
  const { store, model } = await ingestedStore();
  const app = await createTestApp({ tools: SQL_TOOLS, env: ragEnv(store, model) });
  try {
    await assert.rejects(
      () => openStoreWriter({ kind: "pglite", dir: store }),
      /The embedded document store ".*" is in use by another process \(a running server or another ingest\): stop it first, or keep the documents in PostgreSQL \(RAG_DB_URL\)/,
    );
  } finally {
    await app.close();
  }
  // Released on close.
  const db = await openStoreWriter({ kind: "pglite", dir: store });
  await db.close();
  await removeDir(store);
});
