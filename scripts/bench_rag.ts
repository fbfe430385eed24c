/**
 * Measures RAG: ingest throughput (chunks/s) into the embedded store
 * (PGlite + pgvector, HNSW) and `search_documents` latency (p50/p99, query
 * embedding + HNSW search through the read-only source) at N chunks.
 *
 *     deno task bench:rag [--chunks 10000] [--queries 500] [--model tiny|minilm] [--batch 32]
 *
 * Everything happens in temporary folders: the model is made by
 * `make_tiny_model.ts` (`minilm`: the real all-MiniLM-L6-v2 shape with random
 * weights, ~90 MB, for timing), and the corpus is generated from the tiny
 * model's vocabulary, one ~`chunk size` paragraph per chunk, 100 files.
 *
 * @module
 */
import { makeTinyModel, type ModelShape } from "./make_tiny_model.ts";
import { openLocalEmbedder } from "../src/rag/embedder.ts";
import { ingest } from "../src/rag/ingest.ts";
import { searchDocuments } from "../src/rag/search_documents.ts";
import { openStoreReader, openStoreWriter } from "../src/rag/store_open.ts";
import { countChunks, ensureSchema } from "../src/rag/vector_store.ts";

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at === -1 ? fallback : Deno.args[at + 1];
}

const chunks = Number(option("chunks", "10000"));
const queries = Number(option("queries", "500"));
const shape = option("model", "tiny") as ModelShape;
const batchSize = Number(option("batch", "32"));
const CHUNK_SIZE = 1000;

/** A seeded generator (mulberry32), so every run ingests the same corpus. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const root = await Deno.makeTempDir({ prefix: "bench-rag-" });
try {
  const modelDir = `${root}/model`;
  await makeTinyModel(modelDir, shape);
  const vocab = Object.keys(
    JSON.parse(await Deno.readTextFile(`${modelDir}/tokenizer.json`)).model.vocab,
  ).filter((w) => /^[a-z]{3,}$/.test(w));
  const next = generator(42);
  const word = () => vocab[Math.floor(next() * vocab.length)];
  const sentence = () => {
    const n = 8 + Math.floor(next() * 10);
    const words = Array.from({ length: n }, word);
    return `${words[0][0].toUpperCase()}${words.join(" ").slice(1)}.`;
  };
  const paragraph = () => {
    let p = sentence();
    while (p.length < CHUNK_SIZE - 150) p += ` ${sentence()}`;
    return p;
  };

  // The corpus: 100 files of paragraphs that each fill one chunk.
  const files = 100;
  await Deno.mkdir(`${root}/docs`);
  for (let f = 0; f < files; f++) {
    const count = Math.floor(chunks / files) + (f < chunks % files ? 1 : 0);
    const text = Array.from({ length: count }, paragraph).join("\n\n");
    await Deno.writeTextFile(`${root}/docs/file${String(f).padStart(3, "0")}.md`, text);
  }

  const embedder = await openLocalEmbedder({ modelDir });
  const store = { kind: "pglite" as const, dir: `${root}/store` };
  const db = await openStoreWriter(store);
  await ensureSchema(db, { model: embedder.model, dimension: embedder.dimension });
  const started = performance.now();
  let embedSeconds = 0;
  const timed = {
    ...embedder,
    async embed(texts: readonly string[]) {
      const t = performance.now();
      try {
        return await embedder.embed(texts);
      } finally {
        embedSeconds += (performance.now() - t) / 1000;
      }
    },
  };
  const stats = await ingest(db, timed, {
    paths: [`${root}/docs`],
    chunk: { size: CHUNK_SIZE, overlap: 0 },
    batchSize,
  });
  const ingestSeconds = (performance.now() - started) / 1000;
  const stored = await countChunks(db);
  await db.close();

  const reader = await openStoreReader(store, { maxRows: 50, maxBytes: 10_000_000 });
  const latencies: number[] = [];
  const sqlOnly: number[] = [];
  for (let i = 0; i < 20; i++) {
    await searchDocuments(reader, embedder, { query: sentence(), topK: 5 });
  }
  for (let i = 0; i < queries; i++) {
    const query = sentence();
    const t = performance.now();
    await searchDocuments(reader, embedder, { query, topK: 5 });
    latencies.push(performance.now() - t);
    // The database part alone: the same search with the vector already made.
    const [v] = await embedder.embed([query]);
    const s = performance.now();
    await searchDocuments(reader, { ...embedder, embed: () => Promise.resolve([v]) }, {
      query,
      topK: 5,
    });
    sqlOnly.push(performance.now() - s);
  }
  await reader.close();
  await embedder.close();
  latencies.sort((a, b) => a - b);
  sqlOnly.sort((a, b) => a - b);

  const result = {
    model: `${shape} (${embedder.dimension} dimensions)`,
    chunks: stored,
    chunk_size: CHUNK_SIZE,
    batch_size: batchSize,
    ingest_seconds: Number(ingestSeconds.toFixed(1)),
    ingest_chunks_per_second: Number((stats.chunks / ingestSeconds).toFixed(1)),
    embedding_share_of_ingest: Number((embedSeconds / ingestSeconds).toFixed(2)),
    search_queries: queries,
    search_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    search_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    search_sql_only_p50_ms: Number(percentile(sqlOnly, 50).toFixed(2)),
    search_sql_only_p99_ms: Number(percentile(sqlOnly, 99).toFixed(2)),
    cpus: navigator.hardwareConcurrency,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await Deno.remove(root, { recursive: true });
}
