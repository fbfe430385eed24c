import assert from "node:assert/strict";
import { ingest, IngestError, type IngestOptions, summarize } from "../../src/rag/ingest.ts";
import { createProgress } from "../../src/rag/progress.ts";
import { openStoreWriter } from "../../src/rag/store_open.ts";
import {
  countChunks,
  ensureSchema,
  searchQuery,
  type WritableDatabase,
} from "../../src/rag/vector_store.ts";
import {
  counting,
  emptyStoreDir,
  FIXTURE_DOCS,
  removeDir,
  tinyEmbedder,
  writeDocs,
} from "./fixture.ts";
import { sql } from "../../src/sources/db/sql_source.ts";

const CHUNK = { size: 120, overlap: 40 };

/** A fresh embedded store with the schema for the tiny model, plus the docs folder. */
async function setup(docs = FIXTURE_DOCS) {
  const store = await emptyStoreDir();
  const folder = await writeDocs(docs);
  const inner = await tinyEmbedder();
  const db = await openStoreWriter({ kind: "pglite", dir: store });
  await ensureSchema(db, { model: inner.model, dimension: inner.dimension });
  return {
    store,
    folder,
    db,
    inner,
    run(options: Partial<IngestOptions> = {}) {
      const embedder = counting(inner);
      const result = ingest(db, embedder, {
        paths: [folder],
        sourceName: "docs",
        chunk: CHUNK,
        batchSize: 4,
        ...options,
      });
      return { embedder, result };
    },
    async sources(): Promise<Record<string, number>> {
      const rows = await db.query<{ source: string; n: number }>(
        sql`SELECT source, count(*)::integer AS n FROM documents GROUP BY source ORDER BY source`,
      );
      return Object.fromEntries(rows.map((r) => [r.source, r.n]));
    },
    async close() {
      await db.close();
      await removeDir(store);
      await removeDir(folder);
    },
  };
}

/** Every stored chunk (metadata without the folder, which differs between setups). */
async function contents(db: WritableDatabase) {
  return await db.query<Record<string, unknown>>(
    sql`SELECT source, chunk_index, content, content_hash, metadata - 'path' AS metadata,
               embedding::text AS embedding
        FROM documents ORDER BY source, chunk_index`,
  );
}

Deno.test("ingest() stores every chunk of the text and Markdown files of a folder", async () => {
  const t = await setup();
  try {
    const { embedder, result } = t.run();
    const stats = await result;
    assert.equal(stats.files, 4);
    assert.ok(stats.chunks >= 8, `${stats.chunks} chunks`);
    assert.equal(stats.embedded, stats.chunks);
    assert.equal(embedder.texts, stats.chunks);
    assert.equal(embedder.batches, Math.ceil(stats.chunks / 4));
    assert.equal(stats.unchanged, 0);
    assert.equal(await countChunks(t.db), stats.chunks);
    const sources = await t.sources();
    // Hidden folders and other file types are left alone; sources are named under --source-name.
    assert.deepEqual(Object.keys(sources), [
      "docs/cats.md",
      "docs/kitchen/pizza.md",
      "docs/space/rockets.txt",
      "docs/space/weather.md",
    ]);
    const [row] = (await contents(t.db)).filter((r) => r.source === "docs/cats.md");
    assert.equal(row.chunk_index, 0);
    assert.match(String(row.content), /^# Cats\n\nCats are small pets\./);
    assert.deepEqual(row.metadata, { format: "markdown" });
    const [{ path }] = await t.db.query<{ path: string }>(
      sql`SELECT metadata->>'path' AS path FROM documents WHERE source = 'docs/cats.md' LIMIT 1`,
    );
    assert.equal(path, `${t.folder}/cats.md`);
    assert.match(String(row.content_hash), /^[0-9a-f]{64}$/);
    assert.match(
      summarize(stats),
      /^ingest: 4 files, \d+ chunks, \d+ embedded, 0 reused, 0 unchanged/,
    );
    // The stored vectors find the right file.
    const [q] = await t.inner.embed(["rocket launch to mars"]);
    const hits = await t.db.query<{ source: string }>(searchQuery(q, 1));
    assert.equal(hits[0].source, "docs/space/rockets.txt");
  } finally {
    await t.close();
  }
});

Deno.test("ingest() run again does no embedding work and changes nothing", async () => {
  const t = await setup();
  try {
    const first = await t.run().result;
    const before = await contents(t.db);
    const { embedder, result } = t.run();
    const second = await result;
    assert.equal(embedder.texts, 0);
    assert.equal(embedder.batches, 0);
    assert.equal(second.embedded, 0);
    assert.equal(second.unchanged, first.chunks);
    assert.deepEqual(await contents(t.db), before);
  } finally {
    await t.close();
  }
});

Deno.test("ingest() embeds only changed chunks, reuses moved ones, drops a shortened file's tail", async () => {
  const t = await setup();
  try {
    await t.run().result;
    const before = await t.sources();
    // One paragraph changed in one file.
    const pizza = `${t.folder}/kitchen/pizza.md`;
    await Deno.writeTextFile(
      pizza,
      FIXTURE_DOCS["kitchen/pizza.md"].replace("Coffee and tea", "Milk and juice"),
    );
    let run = t.run();
    let stats = await run.result;
    assert.ok(
      stats.embedded >= 1 && stats.embedded < before["docs/kitchen/pizza.md"],
      `${stats.embedded}`,
    );
    assert.equal(run.embedder.texts, stats.embedded);

    // A paragraph inserted at the top shifts every chunk down: stored ones are reused.
    const cats = `${t.folder}/cats.md`;
    await Deno.writeTextFile(cats, `A brand new opening paragraph.\n\n${FIXTURE_DOCS["cats.md"]}`);
    run = t.run();
    stats = await run.result;
    assert.ok(stats.reused >= before["docs/cats.md"] - 1, JSON.stringify(stats));
    assert.ok(run.embedder.texts <= 2, `${run.embedder.texts} embedded`);

    // A file cut short loses its tail.
    await Deno.writeTextFile(cats, "Cats only.");
    stats = await t.run().result;
    assert.ok(stats.deleted >= 1);
    assert.equal((await t.sources())["docs/cats.md"], 1);
  } finally {
    await t.close();
  }
});

Deno.test("ingest() --prune deletes vanished files under the folder, and only when asked", async () => {
  const t = await setup();
  try {
    await t.run().result;
    // A file ingested on its own, outside the folder's source name, is never pruned.
    const lone = await writeDocs({ "lone.md": "A lonely file about the moon and stars." });
    try {
      await t.run({ paths: [`${lone}/lone.md`], sourceName: "lone" }).result;
      await Deno.remove(`${t.folder}/space`, { recursive: true });
      let stats = await t.run().result;
      assert.equal(stats.prunedSources, 0);
      assert.ok("docs/space/rockets.txt" in await t.sources());

      stats = await t.run({ prune: true }).result;
      assert.equal(stats.prunedSources, 2);
      assert.ok(stats.prunedChunks >= 2);
      assert.deepEqual(Object.keys(await t.sources()), [
        "docs/cats.md",
        "docs/kitchen/pizza.md",
        "lone",
      ]);
    } finally {
      await removeDir(lone);
    }
  } finally {
    await t.close();
  }
});

Deno.test("ingest() resumes after an interrupted run, embedding only what is missing", async () => {
  const t = await setup();
  try {
    const clean = await setup();
    let expected;
    try {
      await clean.run().result;
      expected = await contents(clean.db);
    } finally {
      await clean.close();
    }

    // The embedder dies on the second batch: one batch (4 chunks) was committed.
    assert.ok(expected.length > 4, `${expected.length} chunks`);
    const crashing = t.run();
    crashing.embedder.failAfterBatches = 1;
    await assert.rejects(crashing.result, /simulated crash/);
    assert.equal(await countChunks(t.db), 4);

    const { embedder, result } = t.run();
    const stats = await result;
    assert.equal(stats.unchanged, 4);
    assert.equal(embedder.texts, expected.length - 4);
    assert.deepEqual(await contents(t.db), expected);

    // Ctrl-C: the signal stops it between batches, and what was written stays.
    await t.db.query(sql`DELETE FROM documents`);
    const stop = new AbortController();
    let batches = 0;
    const aborted = t.run({
      signal: stop.signal,
      progress: {
        start() {},
        update() {
          if (++batches === 1) stop.abort();
        },
        finish() {},
      },
    });
    await assert.rejects(aborted.result, (e: Error) => e.name === "AbortError");
    assert.equal(await countChunks(t.db), 4);
  } finally {
    await t.close();
  }
});

Deno.test("ingest() reports progress per batch with counts", async () => {
  const t = await setup();
  try {
    let out = "";
    const stats = await t.run({
      progress: createProgress({ write: (s) => out += s, isTerminal: true }),
    }).result;
    const frames = out.split("\r").filter(Boolean);
    assert.equal(frames.length, 1 + Math.ceil(stats.chunks / 4));
    assert.match(frames.at(-1)!, new RegExp(`^█+ ${stats.chunks}/${stats.chunks} chunks 100% · `));
  } finally {
    await t.close();
  }
});

Deno.test("ingest() refuses missing paths, other file types and ambiguous names before writing", async () => {
  const t = await setup();
  try {
    const refuse = async (options: Partial<IngestOptions>, message: RegExp) => {
      await assert.rejects(t.run(options).result, (error: Error) => {
        assert.ok(error instanceof IngestError, String(error));
        assert.match(error.message, message);
        return true;
      });
    };
    await refuse(
      { paths: [`${t.folder}/nope`] },
      /^Cannot ingest ".*\/nope": no such file or folder$/,
    );
    await refuse(
      { paths: [`${t.folder}/notes/skip.pdf`], sourceName: undefined },
      /only \.md, \.markdown, \.txt files are read/,
    );
    await refuse(
      { paths: [t.folder, `${t.folder}/cats.md`] },
      /--source-name names one file or folder/,
    );
    await refuse({ paths: [] }, /Name at least one file or folder/);
    assert.equal(await countChunks(t.db), 0);
  } finally {
    await t.close();
  }
});

Deno.test("ingest() skips a file that is not UTF-8, saying so", async () => {
  const t = await setup({ "good.md": "Fine text about a cat.", "bad.txt": "" });
  try {
    await Deno.writeFile(`${t.folder}/bad.txt`, Uint8Array.of(0xff, 0xfe, 0x00, 0xc3, 0x28));
    const warnings: string[] = [];
    const stats = await t.run({ warn: (m) => warnings.push(m) }).result;
    assert.equal(stats.files, 1);
    assert.deepEqual(warnings, [`skipped "${t.folder}/bad.txt": not UTF-8 text`]);
    assert.deepEqual(Object.keys(await t.sources()), ["docs/good.md"]);
  } finally {
    await t.close();
  }
});
