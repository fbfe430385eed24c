/**
 * RAG test fixtures: the tiny model made by `scripts/make_tiny_model.ts` in a
 * temporary folder (once per test file), a folder of documents to ingest, a
 * counting embedder wrapper, and temporary embedded stores.
 *
 * @module
 */
import { makeTinyModel } from "../../scripts/make_tiny_model.ts";
import { type Embedder, openLocalEmbedder } from "../../src/rag/embedder.ts";
import { ingest } from "../../src/rag/ingest.ts";
import { openStoreWriter } from "../../src/rag/store_open.ts";
import { ensureSchema } from "../../src/rag/vector_store.ts";
import { configFlags, permissionFlags } from "../process.ts";

/** The repository root. */
export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Documents on three unrelated topics, as files under a folder. */
export const FIXTURE_DOCS: Readonly<Record<string, string>> = {
  "cats.md": `# Cats

Cats are small pets. A cat likes milk and sleeps in the sun. The kitten plays with a ball of string.

Cats purr when they are happy. A feline can climb a tree and catch a bird.
`,
  "space/rockets.txt":
    `The rocket will launch to orbit around mars. The astronaut looks at the stars
through a telescope.

A galaxy holds many stars and planets. The moon is far from the earth.
`,
  "space/weather.md": `# Weather

The forecast says rain and storm tomorrow. Snow may fall in the mountain valley when the
temperature drops.

A sunny morning is good for a walk to the river.
`,
  "kitchen/pizza.md": `# Pizza

Bake the pizza in a hot oven. Put tomato and cheese on the bread before it goes in.

Coffee and tea go well with a cake after the pasta.
`,
  "notes/skip.pdf": "not read: only .md, .markdown and .txt are",
  ".hidden/secret.md": "hidden folders are skipped",
};

/** Writes {@linkcode FIXTURE_DOCS} (or `docs`) under a new temporary folder. */
export async function writeDocs(
  docs: Readonly<Record<string, string>> = FIXTURE_DOCS,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rag-docs-" });
  for (const [path, text] of Object.entries(docs)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return dir;
}

let modelDir: Promise<string> | undefined;

/** The tiny model, made once per test process into a temporary folder. */
export function tinyModelDir(): Promise<string> {
  modelDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "rag-model-" });
    await makeTinyModel(dir);
    return dir;
  })();
  return modelDir;
}

let embedder: Promise<Embedder> | undefined;

/** One embedder on the tiny model, shared by a test file (close it in the last test, or leave it). */
export function tinyEmbedder(): Promise<Embedder> {
  embedder ??= tinyModelDir().then((dir) => openLocalEmbedder({ modelDir: dir }));
  return embedder;
}

/** An embedder that counts the texts it embeds, and can be made to fail after some batches. */
export interface CountingEmbedder extends Embedder {
  /** Texts embedded so far. */
  texts: number;
  batches: number;
  /** Throw on the batch after this many (simulates a crash mid-ingest). */
  failAfterBatches?: number;
}

/** Wraps `inner`, counting its work. Closing it does not close `inner`. */
export function counting(inner: Embedder): CountingEmbedder {
  const wrapper: CountingEmbedder = {
    model: inner.model,
    dimension: inner.dimension,
    texts: 0,
    batches: 0,
    async embed(texts) {
      if (wrapper.failAfterBatches !== undefined && wrapper.batches >= wrapper.failAfterBatches) {
        throw new Error("simulated crash in the embedder");
      }
      wrapper.batches++;
      wrapper.texts += texts.length;
      return await inner.embed(texts);
    },
    close: () => Promise.resolve(),
  };
  return wrapper;
}

/** Removes a temporary folder, ignoring one already gone. */
export async function removeDir(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

let template: Promise<string> | undefined;

/**
 * A new embedded store folder holding an initialized, empty database: a copy
 * of one made once per test process (initdb takes seconds, a copy does not).
 */
export async function emptyStoreDir(): Promise<string> {
  template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "rag-template-" });
    const { openStoreWriter } = await import("../../src/rag/store_open.ts");
    await (await openStoreWriter({ kind: "pglite", dir })).close();
    await Deno.remove(`${dir}/lock`);
    return dir;
  })();
  const dir = await Deno.makeTempDir({ prefix: "rag-store-" });
  await copyDir(await template, dir);
  return dir;
}

/**
 * The flags of a deno.json task, with its default folders (`models`,
 * `data/rag`) moved to the test's own and the repository's folders made
 * absolute.
 */
export async function taskFlags(task: string, folders: Record<string, string>): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`));
  const map: Record<string, string> = {
    node_modules: `${REPO}/node_modules`,
    src: `${REPO}/src`,
    ...folders,
  };
  return [
    ...configFlags(config.tasks[task]),
    ...permissionFlags(config.tasks[task]).map((flag) => {
      const at = flag.indexOf("=");
      if (at === -1) return flag;
      const values = flag.slice(at + 1).split(",").map((v) => map[v] ?? v);
      return `${flag.slice(0, at)}=${values.join(",")}`;
    }),
  ];
}

/** A store holding the fixture documents (source name `docs`), ingested with the tiny model. */
export async function ingestedStore(): Promise<{ store: string; model: string }> {
  const model = await tinyModelDir();
  const store = await emptyStoreDir();
  const docs = await writeDocs();
  const embedder = await tinyEmbedder();
  const db = await openStoreWriter({ kind: "pglite", dir: store });
  try {
    await ensureSchema(db, { model: embedder.model, dimension: embedder.dimension });
    await ingest(db, embedder, {
      paths: [docs],
      sourceName: "docs",
      chunk: { size: 100, overlap: 30 },
      batchSize: 8,
    });
  } finally {
    await db.close();
    await removeDir(docs);
  }
  return { store, model };
}

/** The environment that serves `store` with `model`. */
export function ragEnv(store: string, model: string): Record<string, string> {
  return { ENABLE_RAG: "true", RAG_MODEL_DIR: model, RAG_PGLITE_DIR: store };
}
