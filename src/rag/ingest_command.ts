/**
 * `mcp-tool-server ingest <files or folders> [options]`: the command line of
 * {@linkcode ingest}. Settings come from the environment (`RAG_*`, see
 * docs/RAG.md); the flags override chunking for one run.
 *
 * Exit codes: 0 done, 1 failed (what was written stays: run it again to
 * resume), 2 bad usage or configuration, 130 interrupted (Ctrl-C, after the
 * batch in flight was written).
 *
 * @module
 */
import { resolveSecretFiles } from "../config/secret_files.ts";
import { type Config, ConfigError, parseConfig } from "../config/env.ts";
import { EmbedderError, openLocalEmbedder } from "./embedder.ts";
import { ingest, IngestError, summarize } from "./ingest.ts";
import { createProgress } from "./progress.ts";
import { assertRagPermissions, storeLocation } from "./server.ts";
import { openStoreWriter } from "./store_open.ts";
import { ensureSchema, StoreError } from "./vector_store.ts";

export const INGEST_USAGE = `Usage: mcp-tool-server ingest <files or folders>... [options]

Reads .md, .markdown and .txt files (folders recursively), splits them into
chunks, embeds them with the model in RAG_MODEL_DIR and stores them in the
document store (RAG_PGLITE_DIR, or PostgreSQL with pgvector at RAG_DB_URL).
Unchanged chunks are skipped, so running it again is cheap, and an
interrupted run resumes where it stopped.

Options:
  --source-name NAME   store the one file or folder given under NAME
                       (default: its path); folder files become NAME/<path>
  --prune              delete stored files that are gone from the folders given
  --rebuild            drop every stored document first (after changing the model)
  --chunk-size N       characters per chunk (default RAG_CHUNK_SIZE, 1000)
  --chunk-overlap N    characters of overlap (default RAG_CHUNK_OVERLAP, 200)
  --batch-size N       chunks per embedding batch (default RAG_BATCH_SIZE, 32)
  --progress-seconds N seconds between plain progress lines when not on a terminal (default 5)
  --help               show this help
`;

/** Parsed command line. */
export interface IngestArgs {
  readonly paths: string[];
  readonly sourceName?: string;
  readonly prune: boolean;
  readonly rebuild: boolean;
  readonly chunkSize?: number;
  readonly chunkOverlap?: number;
  readonly batchSize?: number;
  /** Seconds between plain progress lines (not on a terminal). */
  readonly progressSeconds?: number;
  readonly help: boolean;
}

/** Parses the arguments after `ingest`; throws an `Error` naming the bad one. */
export function parseIngestArgs(args: readonly string[]): IngestArgs {
  const paths: string[] = [];
  const out: {
    sourceName?: string;
    prune: boolean;
    rebuild: boolean;
    chunkSize?: number;
    chunkOverlap?: number;
    batchSize?: number;
    progressSeconds?: number;
    help: boolean;
  } = { prune: false, rebuild: false, help: false };
  const number = (flag: string, raw: string | undefined, min: number, max: number) => {
    const n = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) {
      throw new Error(`${flag}: expected an integer from ${min} to ${max}`);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case "--source-name": {
        const v = value();
        if (!v || v.startsWith("--")) throw new Error("--source-name: expected a name");
        out.sourceName = v.replace(/\/+$/, "");
        break;
      }
      case "--prune":
        out.prune = true;
        break;
      case "--rebuild":
        out.rebuild = true;
        break;
      case "--chunk-size":
        out.chunkSize = number(flag, value(), 100, 100_000);
        break;
      case "--chunk-overlap":
        out.chunkOverlap = number(flag, value(), 0, 50_000);
        break;
      case "--batch-size":
        out.batchSize = number(flag, value(), 1, 1024);
        break;
      case "--progress-seconds":
        out.progressSeconds = number(flag, value(), 1, 3600);
        break;
      case "--help":
      case "-h":
        out.help = true;
        break;
      default:
        if (arg.startsWith("-") && arg !== "-") throw new Error(`Unknown option "${arg}"`);
        paths.push(arg);
    }
  }
  return { paths, ...out };
}

/** Where the command writes. */
export interface IngestIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Progress and errors. */
  readonly stderr: (text: string) => void;
  /** The summary. */
  readonly stdout: (text: string) => void;
  readonly isTerminal: boolean;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
}

/** Runs `ingest` with `args`; returns the exit code. */
export async function runIngestCommand(args: readonly string[], io: IngestIo): Promise<number> {
  let parsed: IngestArgs;
  try {
    parsed = parseIngestArgs(args);
  } catch (error) {
    io.stderr(`ingest: ${(error as Error).message}\n\n${INGEST_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout(INGEST_USAGE);
    return 0;
  }
  if (parsed.paths.length === 0) {
    io.stderr(`ingest: name at least one file or folder\n\n${INGEST_USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    config = parseConfig(resolveSecretFiles(io.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`ingest: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const size = parsed.chunkSize ?? config.rag.chunkSize;
  const overlap = parsed.chunkOverlap ??
    (parsed.chunkSize !== undefined
      ? Math.min(config.rag.chunkOverlap, Math.floor(size / 2))
      : config.rag.chunkOverlap);
  if (overlap * 2 > size) {
    io.stderr(`ingest: --chunk-overlap must be at most half of the chunk size (${size})\n`);
    return 2;
  }
  try {
    await assertRagPermissions(config, "ingest");
  } catch (error) {
    io.stderr(`Cannot ingest: ${(error as Error).message}\n`);
    return 2;
  }

  const embedder = await openLocalEmbedder({
    modelDir: config.rag.modelDir,
    allowDownload: config.rag.allowDownload,
    model: config.rag.model,
  }).catch((error) => error as Error);
  if (embedder instanceof Error) {
    io.stderr(`Cannot ingest: ${embedder.message}\n`);
    return embedder instanceof EmbedderError ? 2 : 1;
  }
  let db;
  try {
    db = await openStoreWriter(storeLocation(config));
  } catch (error) {
    await embedder.close();
    io.stderr(`Cannot ingest: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    await ensureSchema(db, { model: embedder.model, dimension: embedder.dimension }, {
      rebuild: parsed.rebuild,
    });
    if (parsed.rebuild) io.stderr("ingest: --rebuild: dropped every stored document\n");
    const stats = await ingest(db, embedder, {
      paths: parsed.paths,
      sourceName: parsed.sourceName,
      prune: parsed.prune,
      chunk: { size, overlap },
      batchSize: parsed.batchSize ?? config.rag.batchSize,
      signal: io.signal,
      progress: createProgress({
        write: io.stderr,
        isTerminal: io.isTerminal,
        lineIntervalSeconds: parsed.progressSeconds,
      }),
      warn: (message) => io.stderr(`ingest: ${message}\n`),
    });
    io.stdout(`${summarize(stats)}\n`);
    return 0;
  } catch (error) {
    if (io.signal?.aborted) {
      io.stderr("\ningest: interrupted; what was written stays: run the same command to resume\n");
      return 130;
    }
    if (error instanceof IngestError) {
      io.stderr(`${error.message}\n`);
      return 2;
    }
    if (error instanceof StoreError) {
      io.stderr(`Cannot ingest: ${error.message}\n`);
      return 1;
    }
    io.stderr(
      `ingest failed: ${(error as Error).message}\nWhat was written stays: run the same command ` +
        `again to resume.\n`,
    );
    return 1;
  } finally {
    await db.close();
    await embedder.close();
  }
}
