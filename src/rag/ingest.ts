/**
 * Ingest: reads text and Markdown files, splits them into chunks, embeds the
 * chunks in batches and writes them to the document store.
 *
 * - Idempotent: each chunk is keyed by (source, chunk index) and carries the
 *   SHA-256 of its content; a chunk whose hash is already stored at its
 *   place is skipped without embedding. A changed chunk whose content is
 *   stored elsewhere (a paragraph inserted above shifts the chunks below)
 *   reuses that embedding instead of computing it again.
 * - Resumable: every batch is committed on its own, so after a crash (or
 *   Ctrl-C) the same command skips what was written and carries on.
 * - `prune`: chunks of files that are gone from an ingested folder are
 *   deleted (only under the folders named in this run).
 *
 * Sources: a file named on its own is stored as its path (or
 * `sourceName`); a file found in a folder as `<folder or sourceName>/<path
 * below the folder>`. Only `.md`, `.markdown` and `.txt` files are read;
 * HTML and PDF are not (convert them to text first). Hidden files and
 * folders and `node_modules` are skipped; symbolic links are not followed.
 *
 * Planning reads every file first (to count the work for the progress bar),
 * keeping the text of the chunks still to embed in memory.
 *
 * @module
 */
import { type ChunkOptions, chunkText } from "./chunker.ts";
import type { Embedder } from "./embedder.ts";
import type { Progress } from "./progress.ts";
import {
  type ChunkRow,
  deleteChunksFrom,
  deleteSources,
  embeddingsByHash,
  sourcesUnder,
  storedHashes,
  upsertChunks,
  vectorText,
  type WritableDatabase,
} from "./vector_store.ts";

/** File extensions ingest reads, and the format each is recorded as. */
export const INGEST_FORMATS: Readonly<Record<string, "markdown" | "text">> = {
  ".md": "markdown",
  ".markdown": "markdown",
  ".txt": "text",
};

/** A problem with the files to ingest; the message names the path. */
export class IngestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IngestError";
  }
}

/** What to ingest, and how. */
export interface IngestOptions {
  /** Files and folders. */
  readonly paths: readonly string[];
  /** The source name of the one file or folder given (default: its path). */
  readonly sourceName?: string;
  /** Delete chunks of files gone from the folders given. */
  readonly prune?: boolean;
  readonly chunk: ChunkOptions;
  /** Chunks per embedding batch (and per committed write). */
  readonly batchSize: number;
  /** Stops after the batch in flight (Ctrl-C); what was written stays. */
  readonly signal?: AbortSignal;
  readonly progress?: Progress;
  /** Told about files skipped (not UTF-8). */
  readonly warn?: (message: string) => void;
}

/** What a run did. */
export interface IngestStats {
  readonly files: number;
  readonly chunks: number;
  /** Chunks embedded by the model in this run. */
  readonly embedded: number;
  /** Changed chunks whose embedding was copied from an identical stored chunk. */
  readonly reused: number;
  /** Chunks already stored as they are. */
  readonly unchanged: number;
  /** Chunks deleted because their file got shorter. */
  readonly deleted: number;
  /** Sources (files) deleted by `prune`, and their chunks. */
  readonly prunedSources: number;
  readonly prunedChunks: number;
  readonly seconds: number;
}

/** One file to read. */
interface FileEntry {
  readonly path: string;
  readonly source: string;
  readonly format: "markdown" | "text";
}

/** A chunk to write. */
interface Pending {
  readonly source: string;
  readonly chunkIndex: number;
  readonly content: string;
  readonly hash: string;
  readonly metadata: Record<string, unknown>;
}

/** `./docs//a/` → `docs/a`. */
function normalize(path: string): string {
  let p = path.replace(/\/{2,}/g, "/");
  while (p.startsWith("./")) p = p.slice(2);
  if (p.length > 1) p = p.replace(/\/+$/, "");
  return p === "" ? "." : p;
}

function formatOf(path: string): "markdown" | "text" | undefined {
  const dot = path.lastIndexOf(".");
  return dot === -1 ? undefined : INGEST_FORMATS[path.slice(dot).toLowerCase()];
}

async function statOrThrow(path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new IngestError(`Cannot ingest "${path}": no such file or folder`);
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new IngestError(`Cannot ingest "${path}": not allowed to read it (${error.message})`);
    }
    throw error;
  }
}

/** Files below `dir`, sorted, as paths relative to it. */
async function walk(dir: string, below = ""): Promise<string[]> {
  const out: string[] = [];
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(below ? `${dir}/${below}` : dir)) entries.push(entry);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const rel = below ? `${below}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await walk(dir, rel));
    else if (entry.isFile && formatOf(entry.name)) out.push(rel);
  }
  return out;
}

/** The files to read and the folder roots (for prune). */
async function discover(
  paths: readonly string[],
  sourceName: string | undefined,
): Promise<{ files: FileEntry[]; roots: string[] }> {
  if (paths.length === 0) throw new IngestError("Name at least one file or folder to ingest");
  if (sourceName !== undefined && paths.length > 1) {
    throw new IngestError("--source-name names one file or folder: give only one path with it");
  }
  const files: FileEntry[] = [];
  const roots: string[] = [];
  const seen = new Set<string>();
  for (const raw of paths) {
    const path = normalize(raw);
    const info = await statOrThrow(path);
    if (info.isDirectory) {
      // The current folder's files are stored by their paths below it.
      const root = sourceName ?? (path === "." ? "" : path);
      roots.push(root);
      for (const rel of await walk(path)) {
        const source = root === "" ? rel : `${root}/${rel}`;
        if (seen.has(source)) continue;
        seen.add(source);
        files.push({ path: `${path}/${rel}`, source, format: formatOf(rel)! });
      }
    } else if (info.isFile) {
      const format = formatOf(path);
      if (!format) {
        throw new IngestError(
          `Cannot ingest "${path}": only ${Object.keys(INGEST_FORMATS).join(", ")} files are read`,
        );
      }
      const source = sourceName ?? path;
      if (!seen.has(source)) files.push({ path, source, format });
      seen.add(source);
    } else {
      throw new IngestError(
        `Cannot ingest "${path}": not a file or folder (links are not followed)`,
      );
    }
  }
  return { files, roots };
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Ingests `options.paths` into the store behind `db` (whose schema must be
 * in place: see `ensureSchema`). Throws an {@linkcode IngestError} for a
 * missing or unreadable path before anything is written.
 */
export async function ingest(
  db: WritableDatabase,
  embedder: Embedder,
  options: IngestOptions,
): Promise<IngestStats> {
  const started = performance.now();
  const { progress, signal } = options;
  const { files, roots } = await discover(options.paths, options.sourceName);
  if (options.prune && roots.includes("")) {
    throw new IngestError(
      'Cannot prune ".": name the folder, or give it a --source-name (pruning "." would ' +
        "delete every other source stored by a relative path)",
    );
  }

  // Plan: chunk every file, compare with what is stored, drop chunks past
  // the new end of each file.
  const pending: Pending[] = [];
  let chunks = 0;
  let unchanged = 0;
  let deleted = 0;
  let read = 0;
  for (const file of files) {
    signal?.throwIfAborted();
    let text: string;
    try {
      text = utf8.decode(await Deno.readFile(file.path)).replace(/^\uFEFF/, "");
    } catch (error) {
      if (error instanceof TypeError) {
        options.warn?.(`skipped "${file.path}": not UTF-8 text`);
        continue;
      }
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        throw new IngestError(`Cannot read "${file.path}": ${error.message}`, { cause: error });
      }
      throw error;
    }
    read++;
    const parts = chunkText(text, options.chunk);
    const stored = await storedHashes(db, file.source);
    if ([...stored.keys()].some((i) => i >= parts.length)) {
      deleted += await deleteChunksFrom(db, file.source, parts.length);
    }
    for (let i = 0; i < parts.length; i++) {
      const hash = await sha256(parts[i]);
      if (stored.get(i) === hash) {
        unchanged++;
        continue;
      }
      pending.push({
        source: file.source,
        chunkIndex: i,
        content: parts[i],
        hash,
        metadata: { path: file.path, format: file.format },
      });
    }
    chunks += parts.length;
  }

  // Embed and write, one committed batch at a time.
  let embedded = 0;
  let reused = 0;
  /** Embeddings of this run, by hash: a chunk repeated in many files is embedded once. */
  const known = new Map<string, string>();
  progress?.start(pending.length, "chunks");
  for (let at = 0; at < pending.length; at += options.batchSize) {
    signal?.throwIfAborted();
    const batch = pending.slice(at, at + options.batchSize);
    const missing = [...new Set(batch.map((p) => p.hash).filter((h) => !known.has(h)))];
    for (const [hash, vector] of await embeddingsByHash(db, missing)) known.set(hash, vector);
    const toEmbed = batch.filter((p, i) =>
      !known.has(p.hash) && batch.findIndex((q) => q.hash === p.hash) === i
    );
    const vectors = await embedder.embed(toEmbed.map((p) => p.content));
    toEmbed.forEach((p, i) => known.set(p.hash, vectorText(vectors[i])));
    embedded += toEmbed.length;
    reused += batch.length - toEmbed.length;
    const rows: ChunkRow[] = batch.map((p) => ({
      source: p.source,
      chunkIndex: p.chunkIndex,
      content: p.content,
      metadata: p.metadata,
      contentHash: p.hash,
      embedding: known.get(p.hash)!,
    }));
    await db.transaction((tx) => upsertChunks(tx, rows));
    progress?.update(Math.min(at + batch.length, pending.length));
  }

  // Prune: sources under the folders of this run whose file is gone.
  let prunedSources = 0;
  let prunedChunks = 0;
  if (options.prune && roots.length > 0) {
    const present = new Set(files.map((f) => f.source));
    for (const root of roots) {
      const gone = (await sourcesUnder(db, root)).filter((s) => !present.has(s));
      prunedSources += gone.length;
      prunedChunks += await deleteSources(db, gone);
    }
  }
  return {
    files: read,
    chunks,
    embedded,
    reused,
    unchanged,
    deleted,
    prunedSources,
    prunedChunks,
    seconds: (performance.now() - started) / 1000,
  };
}

/** One line saying what a run did. */
export function summarize(stats: IngestStats): string {
  const rate = stats.seconds > 0 ? stats.embedded / stats.seconds : 0;
  const parts = [
    `${stats.files} files, ${stats.chunks} chunks`,
    `${stats.embedded} embedded`,
    `${stats.reused} reused`,
    `${stats.unchanged} unchanged`,
    `${stats.deleted} deleted`,
  ];
  if (stats.prunedSources > 0 || stats.prunedChunks > 0) {
    parts.push(`${stats.prunedSources} vanished files pruned (${stats.prunedChunks} chunks)`);
  }
  return `ingest: ${parts.join(", ")} in ${stats.seconds.toFixed(1)} s (${
    rate.toFixed(1)
  } chunks/s embedded)`;
}
