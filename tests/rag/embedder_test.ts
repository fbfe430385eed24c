import assert from "node:assert/strict";
import { makeTinyModel } from "../../scripts/make_tiny_model.ts";
import { EmbedderError, MODEL_FILES, openLocalEmbedder } from "../../src/rag/embedder.ts";
import { removeDir, tinyEmbedder, tinyModelDir } from "./fixture.ts";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

Deno.test("openLocalEmbedder() reads the dimension from the tiny model and names it", async () => {
  const embedder = await tinyEmbedder();
  assert.equal(embedder.dimension, 64);
  assert.equal(embedder.model, "mcp-tool-server/tiny-bert");
  const [v] = await embedder.embed(["hello world"]);
  assert.ok(v instanceof Float32Array);
  assert.equal(v.length, 64);
});

Deno.test("embed() returns unit-length vectors, one per text, in order", async () => {
  const embedder = await tinyEmbedder();
  const texts = ["the cat sat", "rocket launch to mars", "pizza with cheese and tomato", "x"];
  const vectors = await embedder.embed(texts);
  assert.equal(vectors.length, texts.length);
  for (const v of vectors.slice(0, 3)) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  // Alone or in a batch (with padding), a text gets the same vector.
  for (let i = 0; i < texts.length; i++) {
    const [alone] = await embedder.embed([texts[i]]);
    for (let j = 0; j < alone.length; j++) assert.ok(Math.abs(alone[j] - vectors[i][j]) < 1e-5);
  }
  assert.deepEqual(await embedder.embed([]), []);
});

Deno.test("embed() is deterministic across embedders and model builds", async () => {
  const text = "Postgres stores an embedding in a vector column for similarity search";
  const [first] = await (await tinyEmbedder()).embed([text]);
  const dir = await Deno.makeTempDir();
  try {
    await makeTinyModel(dir);
    const other = await openLocalEmbedder({ modelDir: dir });
    try {
      const [second] = await other.embed([text]);
      assert.deepEqual([...second], [...first]);
    } finally {
      await other.close();
    }
  } finally {
    await removeDir(dir);
  }
});

Deno.test("a query sharing words with a document ranks that document first", async () => {
  const embedder = await tinyEmbedder();
  const documents = [
    "Cats are small pets. A cat likes milk and sleeps in the sun.",
    "The rocket will launch to orbit around mars with an astronaut.",
    "Bake the pizza in a hot oven with tomato and cheese.",
    "Postgres is a database server; an index makes a query fast.",
  ];
  const queries: [string, number][] = [
    ["does my cat like milk", 0],
    ["when does the rocket launch to mars", 1],
    ["how hot should the oven be for pizza", 2],
    ["make a database query fast with an index", 3],
  ];
  const docVectors = await embedder.embed(documents);
  for (const [query, expected] of queries) {
    const [q] = await embedder.embed([query]);
    const scores = docVectors.map((d) => dot(q, d));
    const best = scores.indexOf(Math.max(...scores));
    assert.equal(best, expected, `${query}: ${scores.map((s) => s.toFixed(3)).join(" ")}`);
    assert.ok(scores[expected] > 0.2, `${query}: ${scores[expected]}`);
  }
});

Deno.test("openLocalEmbedder() names the missing file of an incomplete folder, without any fetch", async () => {
  const dir = await Deno.makeTempDir();
  const realFetch = globalThis.fetch;
  const fetched: string[] = [];
  globalThis.fetch = (input: RequestInfo | URL) => {
    fetched.push(String(input));
    return Promise.reject(new Error("no network in this test"));
  };
  try {
    await assert.rejects(
      () => openLocalEmbedder({ modelDir: `${dir}/absent` }),
      (error: Error) => {
        assert.ok(error instanceof EmbedderError);
        assert.match(error.message, /^RAG_MODEL_DIR ".*\/absent" has no config\.json:/);
        assert.match(error.message, /make-tiny-model/);
        assert.match(error.message, /RAG_ALLOW_DOWNLOAD=true/);
        return true;
      },
    );
    await makeTinyModel(dir);
    await Deno.remove(`${dir}/onnx/model.onnx`);
    await assert.rejects(
      () => openLocalEmbedder({ modelDir: dir }),
      /has no onnx\/model\.onnx: expected a model folder in the layout of Xenova\/all-MiniLM-L6-v2/,
    );
    assert.deepEqual(fetched, []);
  } finally {
    globalThis.fetch = realFetch;
    await removeDir(dir);
  }
});

Deno.test("openLocalEmbedder() with downloads on fetches the model once into RAG_MODEL_DIR/<id>/", async () => {
  // A stand-in for the hub on loopback, serving the tiny model's files.
  const source = await tinyModelDir();
  const requests: string[] = [];
  const hub = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const m = /^\/acme\/tiny\/resolve\/main\/(.+)$/.exec(path);
    if (!m || !MODEL_FILES.includes(m[1])) return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(`${source}/${m[1]}`));
  });
  const cache = await Deno.makeTempDir();
  try {
    const options = {
      modelDir: cache,
      allowDownload: true,
      model: "acme/tiny",
      remoteHost: `http://127.0.0.1:${hub.addr.port}/`,
    };
    const first = await openLocalEmbedder(options);
    const [v] = await first.embed(["rocket"]);
    await first.close();
    assert.equal(first.model, "acme/tiny");
    assert.equal(first.dimension, 64);
    for (const file of MODEL_FILES) {
      assert.ok((await Deno.stat(`${cache}/acme/tiny/${file}`)).isFile, file);
    }
    const fetchedFirst = requests.length;
    assert.ok(fetchedFirst >= MODEL_FILES.length, requests.join(" "));
    // The second start finds everything in the folder and fetches nothing.
    const second = await openLocalEmbedder(options);
    const [w] = await second.embed(["rocket"]);
    await second.close();
    assert.equal(requests.length, fetchedFirst, requests.join(" "));
    assert.deepEqual([...w], [...v]);
  } finally {
    await hub.shutdown();
    await removeDir(cache);
  }
});
