/**
 * The document store's statements, on the embedded PGlite and on PostgreSQL
 * alike (one suite). PostgreSQL needs pgvector: when `CREATE EXTENSION
 * vector` fails there (Debian bookworm does not package it), those tests are
 * ignored with the reason printed.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { makeSqlQuery, sql } from "../../src/sources/db/sql_source.ts";
import { openStoreReader, openStoreWriter, type StoreLocation } from "../../src/rag/store_open.ts";
import {
  countChunks,
  deleteChunksFrom,
  deleteSources,
  embeddingsByHash,
  ensureSchema,
  readMeta,
  searchQuery,
  sourcesUnder,
  storedHashes,
  StoreError,
  upsertChunks,
  vectorText,
  type WritableDatabase,
} from "../../src/rag/vector_store.ts";
import { postgresUnavailable, TEST_DATABASE_URL } from "../sources/db/pg_fixture.ts";
import { removeDir } from "./fixture.ts";

const META = { model: "test/model", dimension: 3 };

/** A unit vector at `degrees` in the x-y plane. */
const at = (degrees: number) => {
  const r = (degrees * Math.PI) / 180;
  return [Math.cos(r), Math.sin(r), 0];
};

function row(
  source: string,
  chunkIndex: number,
  degrees: number,
  content = `${source}#${chunkIndex}`,
) {
  return {
    source,
    chunkIndex,
    content,
    metadata: { path: source },
    contentHash: `h:${content}`,
    embedding: vectorText(at(degrees)),
  };
}

/** The shared behaviour; `open` gives a fresh, empty store each time. */
async function storeSuite(
  t: Deno.TestContext,
  location: StoreLocation,
) {
  const db = await openStoreWriter(location);
  try {
    await t.step("ensureSchema() creates the tables, the HNSW index and the meta row", async () => {
      assert.equal(await readMeta(db), undefined);
      await ensureSchema(db, META);
      assert.deepEqual(await readMeta(db), META);
      const indexes = await db.query<{ indexdef: string }>(
        sql`SELECT indexdef FROM pg_indexes WHERE tablename = 'documents'`,
      );
      assert.ok(
        indexes.some((i) => /USING hnsw \(embedding vector_cosine_ops\)/.test(i.indexdef)),
        JSON.stringify(indexes),
      );
      // Idempotent.
      await ensureSchema(db, META);
      assert.equal(await countChunks(db), 0);
    });

    await t.step(
      "ensureSchema() refuses another dimension or model, naming --rebuild",
      async () => {
        await assert.rejects(
          () => ensureSchema(db, { model: "test/model", dimension: 384 }),
          (error: Error) => {
            assert.ok(error instanceof StoreError);
            assert.match(
              error.message,
              /holds 3-dimension embeddings \(model "test\/model"\), but the configured model "test\/model" makes 384-dimension ones: re-ingest everything with the new model: mcp-tool-server ingest --rebuild/,
            );
            return true;
          },
        );
        await assert.rejects(
          () => ensureSchema(db, { model: "other/model", dimension: 3 }),
          /not the configured "other\/model".*--rebuild/,
        );
        await assert.rejects(() => ensureSchema(db, { model: "x", dimension: 2001 }), /1 to 2000/);
      },
    );

    await t.step("upsertChunks() inserts and replaces by (source, chunk_index)", async () => {
      await upsertChunks(db, [row("a.md", 0, 0), row("a.md", 1, 30), row("dir/b.md", 0, 90)]);
      await upsertChunks(db, [row("a.md", 1, 45, "a.md#1 changed")]);
      assert.equal(await countChunks(db), 3);
      assert.deepEqual(
        [...await storedHashes(db, "a.md")].sort(),
        [[0, "h:a.md#0"], [1, "h:a.md#1 changed"]],
      );
      const byHash = await embeddingsByHash(db, ["h:dir/b.md#0", "h:none"]);
      assert.deepEqual([...byHash.keys()], ["h:dir/b.md#0"]);
      assert.deepEqual(JSON.parse(byHash.get("h:dir/b.md#0")!).map(Math.round), [0, 1, 0]);
    });

    await t.step("prepare: many chunks in three sources", async () => {
      await upsertChunks(
        db,
        Array.from({ length: 300 }, (_, i) => row(`bulk/${i % 3}.md`, i, i * 1.2)),
      );
    });

    await t.step(
      "deletes: the tail of a source, whole sources, and listing under a root",
      async () => {
        assert.equal(await deleteChunksFrom(db, "a.md", 1), 1);
        assert.deepEqual([...(await storedHashes(db, "a.md")).keys()], [0]);
        assert.deepEqual(await sourcesUnder(db, "bulk"), ["bulk/0.md", "bulk/1.md", "bulk/2.md"]);
        assert.deepEqual(await sourcesUnder(db, "a.md"), ["a.md"]);
        assert.equal(await deleteSources(db, ["bulk/0.md", "bulk/2.md"]), 200);
        assert.deepEqual(await sourcesUnder(db, "bulk"), ["bulk/1.md"]);
      },
    );

    await t.step("ensureSchema() with rebuild drops everything for the new model", async () => {
      await ensureSchema(db, { model: "new/model", dimension: 5 }, { rebuild: true });
      assert.deepEqual(await readMeta(db), { model: "new/model", dimension: 5 });
      assert.equal(await countChunks(db), 0);
      await ensureSchema(db, META, { rebuild: true });
      await upsertChunks(db, [row("a.md", 0, 0), row("a.md", 1, 30), row("dir/b.md", 0, 90)]);
      await upsertChunks(
        db,
        Array.from({ length: 3000 }, (_, i) => row(`bulk/${i % 3}.md`, i, 100 + i * 0.05)),
      );
    });
  } finally {
    await db.close();
  }

  // The server's side: a read-only source with the search settings.
  const reader = await openStoreReader(location, { maxRows: 50, maxBytes: 10_000_000 });
  type Hit = { source: string; chunk_index: number; score: number };
  const search = async (vector: number[], k: number, source?: string) =>
    (await reader.query<Hit>(searchQuery(vector, k, source))).rows;
  try {
    await t.step(
      "the reader finds the nearest chunks by cosine similarity, best first",
      async () => {
        const hits = await search(at(40), 3);
        assert.deepEqual(hits.map((h) => `${h.source}#${h.chunk_index}`), [
          "a.md#1",
          "a.md#0",
          "dir/b.md#0",
        ]);
        assert.ok(
          Math.abs(hits[0].score - Math.cos((10 * Math.PI) / 180)) < 1e-4,
          `${hits[0].score}`,
        );
        assert.ok(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score);
        assert.equal((await search(at(40), 1)).length, 1);
        // A source filter: exact, or a folder prefix at a "/" boundary.
        assert.deepEqual((await search(at(0), 5, "dir")).map((h) => h.source), ["dir/b.md"]);
        assert.deepEqual((await search(at(0), 5, "dir/b.md")).map((h) => h.source), ["dir/b.md"]);
        assert.deepEqual(await search(at(0), 5, "di"), []);
      },
    );

    await t.step(
      "the reader sets ef_search and iterative scans, and uses the HNSW index",
      async () => {
        const show = async (name: "hnsw.ef_search" | "hnsw.iterative_scan") =>
          (await reader.query<Record<string, string>>(
            name === "hnsw.ef_search" ? sql`SHOW hnsw.ef_search` : sql`SHOW hnsw.iterative_scan`,
          )).rows[0][name];
        assert.equal(await show("hnsw.ef_search"), "100");
        assert.equal(await show("hnsw.iterative_scan"), "relaxed_order");
        const q = searchQuery(at(10), 50);
        const plan = (await reader.query<{ "QUERY PLAN": string }>(
          makeSqlQuery(`EXPLAIN ${q.text}`, q.values),
        )).rows.map((r) => r["QUERY PLAN"]).join("\n");
        assert.match(plan, /Index Scan using documents_embedding_hnsw/, plan);
      },
    );

    await t.step("top_k 50 returns 50, also under a source filter", async () => {
      const all = await search(at(10), 50);
      assert.equal(all.length, 50);
      const filtered = await search(at(10), 50, "bulk/1.md");
      assert.equal(filtered.length, 50);
      assert.ok(filtered.every((h) => h.source === "bulk/1.md"));
      for (let i = 1; i < filtered.length; i++) {
        assert.ok(filtered[i - 1].score >= filtered[i].score, "best first");
      }
    });

    await t.step("the reader cannot write", async () => {
      await assert.rejects(() => reader.query(sql`DELETE FROM documents`), /read-only/);
    });
  } finally {
    await reader.close();
  }
}

Deno.test("document store on the embedded PGlite", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rag-store-" });
  try {
    await storeSuite(t, { kind: "pglite", dir });
  } finally {
    await removeDir(dir);
  }
});

/** Why the PostgreSQL store tests cannot run here, or undefined. */
async function pgvectorUnavailable(): Promise<string | undefined> {
  if (postgresUnavailable) return postgresUnavailable;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.begin(async (tx) => {
      await tx`CREATE EXTENSION IF NOT EXISTS vector`;
      throw new Error("probe done"); // rolls the probe back
    }).catch((error) => {
      if ((error as Error).message !== "probe done") throw error;
    });
    return undefined;
  } catch (error) {
    return `CREATE EXTENSION vector failed on ${TEST_DATABASE_URL}: ${(error as Error).message}`;
  } finally {
    await admin.end({ timeout: 1 });
  }
}

const noPgvector = await pgvectorUnavailable();
if (noPgvector) console.log(`Skipping PostgreSQL document store tests: ${noPgvector}`);

Deno.test({
  name: "document store on PostgreSQL with pgvector",
  ignore: noPgvector !== undefined,
  async fn(t) {
    const name = `rag_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const server = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated database name, not input
    await server.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    try {
      await storeSuite(t, { kind: "postgres", url: url.toString() });
    } finally {
      // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated database name, not input
      await server.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await server.end({ timeout: 1 });
    }
  },
});

Deno.test("ensureSchema() on a database without pgvector says how to get it", async () => {
  const calls: string[] = [];
  const db: WritableDatabase = {
    kind: "postgres",
    query(q) {
      calls.push(q.text);
      return Promise.reject(new Error('extension "vector" is not available'));
    },
    transaction: () => Promise.reject(new Error("not reached")),
    close: () => Promise.resolve(),
  };
  await assert.rejects(() => ensureSchema(db, META), (error: Error) => {
    assert.ok(error instanceof StoreError);
    assert.match(
      error.message,
      /^The database has no pgvector: CREATE EXTENSION vector failed \(extension "vector" is not available\)\. Install pgvector/,
    );
    return true;
  });
  assert.deepEqual(calls, ["CREATE EXTENSION IF NOT EXISTS vector"]);
});
