/**
 * The RAG permission profile, end to end: the real program under the core
 * flags, under `deno task start:rag`'s flags, and as the bundle.
 */
import assert from "node:assert/strict";
import { ingest } from "../../src/rag/ingest.ts";
import { openStoreWriter } from "../../src/rag/store_open.ts";
import { ensureSchema } from "../../src/rag/vector_store.ts";
import {
  buildBundle,
  bundlePermissionFlags,
  compilePermissionFlags,
  DEV_CONFIG,
  runDeno,
  spawnServer,
} from "../process.ts";
import {
  emptyStoreDir,
  removeDir,
  taskFlags,
  tinyEmbedder,
  tinyModelDir,
  writeDocs,
} from "./fixture.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const KEY = "rag-load-test-key-0123456789";

Deno.test("under the core flags, ENABLE_RAG=true is refused with every flag to add", async () => {
  const flags = await compilePermissionFlags();
  assert.deepEqual(flags.slice(0, 2), ["--allow-net", "--allow-env"]);
  assert.ok(!flags.some((f) => /^--allow-(ffi|sys)/.test(f)), flags.join(" "));
  // deno.dev.json maps the RAG packages; deno.json's case is the next test.
  const result = await runDeno(["run", "--config", DEV_CONFIG, ...flags, MAIN], {
    API_KEY_PRIMARY: KEY,
    PORT: "0",
    ENABLE_RAG: "true",
    RAG_MODEL_DIR: "/srv/models/minilm",
    RAG_PGLITE_DIR: "/var/lib/rag",
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /Cannot start: ENABLE_RAG=true needs permissions this process was not given: --allow-read=\/.*\/src\/,\/srv\/models\/minilm,\/var\/lib\/rag,\/.*\/node_modules --allow-write=\/var\/lib\/rag --allow-ffi=\/.*\/node_modules --allow-sys=cpus,networkInterfaces,hostname\. The core server runs with --allow-net --allow-env only/,
  );
  assert.match(result.stderr, /deno task start:rag/);
  assert.ok(!/NotCapable|Requires .* access/.test(result.stderr), result.stderr);
});

Deno.test("deno task start:rag's flags serve search_documents from an ingested store", async () => {
  const model = await tinyModelDir();
  const store = await emptyStoreDir();
  const docs = await writeDocs();
  const embedder = await tinyEmbedder();
  const db = await openStoreWriter({ kind: "pglite", dir: store });
  await ensureSchema(db, { model: embedder.model, dimension: embedder.dimension });
  await ingest(db, embedder, {
    paths: [docs],
    sourceName: "docs",
    chunk: { size: 200, overlap: 0 },
    batchSize: 8,
  });
  await db.close();
  const flags = await taskFlags("start:rag", { models: model, "data/rag": store });
  // Narrow: nothing broader than the folders it names.
  assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"));
  assert.deepEqual(flags.filter((f) => f.startsWith("--allow-write")), [`--allow-write=${store}`]);
  assert.ok(!flags.includes("--allow-read") && !flags.includes("--allow-ffi"));
  const server = await spawnServer(["run", ...flags, MAIN], {
    API_KEY_PRIMARY: KEY,
    ENABLE_RAG: "true",
    RAG_MODEL_DIR: model,
    RAG_PGLITE_DIR: store,
  }, { timeoutMs: 60_000 });
  try {
    const res = await fetch(`${server.url}/v1/mcp/search_documents`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ query: "rocket launch to mars", top_k: 2 }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.results.length, 2);
    assert.equal(body.results[0].source, "docs/space/rockets.txt");
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr());
    await removeDir(store);
    await removeDir(docs);
  }
  const started = server.stdout.map((l) => JSON.parse(l)).find((l) =>
    l.message === "RAG enabled: search_documents serves the document store"
  );
  assert.equal(started.model, "mcp-tool-server/tiny-bert");
  assert.equal(started.dimension, 64);
  assert.ok(started.chunks >= 4);
});

Deno.test("with the RAG flags but no model, the start fails clearly without touching the network", async () => {
  const store = await Deno.makeTempDir();
  try {
    const flags = (await taskFlags("start:rag", { models: `${store}/m`, "data/rag": store }))
      // Loopback only: a download attempt would fail loudly instead of our message.
      .map((f) => f === "--allow-net" ? "--allow-net=127.0.0.1" : f);
    const result = await runDeno(["run", ...flags, MAIN], {
      API_KEY_PRIMARY: KEY,
      PORT: "0",
      ENABLE_RAG: "true",
      RAG_MODEL_DIR: `${store}/m`,
      RAG_PGLITE_DIR: store,
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /Cannot start: ENABLE_RAG=true: RAG_MODEL_DIR ".*\/m" has no config\.json: expected a model folder/,
    );
    assert.ok(!/net access|huggingface\.co/.test(result.stderr), result.stderr);
  } finally {
    await removeDir(store);
  }
});

Deno.test("under deno.json (the serving install), ENABLE_RAG=true names the task that has RAG", async () => {
  const result = await runDeno(["run", ...await compilePermissionFlags(), MAIN], {
    API_KEY_PRIMARY: KEY,
    PORT: "0",
    ENABLE_RAG: "true",
  });
  assert.notEqual(result.code, 0);
  assert.match(
    result.stderr,
    /Cannot start: ENABLE_RAG=true needs transformers\.js, which deno\.json leaves out of the serving install: run `deno task start:rag`/,
  );
});

Deno.test("the core bundle leaves RAG out and says so when ENABLE_RAG=true", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rag-bundle-" });
  try {
    const bundle = await buildBundle(dir);
    // Every file of the bundle, its lazily imported chunks too.
    let text = "";
    for (const { name } of Deno.readDirSync(dir)) text += await Deno.readTextFile(`${dir}/${name}`);
    // Neither transformers.js, onnxruntime nor pgvector's loader is in it.
    for (
      const marker of [
        "FeatureExtractionPipeline",
        "InferenceSession",
        "documents_embedding_hnsw",
        "Semantic search over the ingested documents",
      ]
    ) {
      assert.ok(!text.includes(marker), `the core bundle contains ${marker}`);
    }
    const result = await runDeno([
      "run",
      "--no-config",
      "--unstable-no-legacy-abort",
      ...(await bundlePermissionFlags(dir)),
      bundle,
    ], { API_KEY_PRIMARY: KEY, PORT: "0", ENABLE_RAG: "true" });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /RAG is not part of this build: the bundle holds the core server only/,
    );
  } finally {
    await removeDir(dir);
  }
});
