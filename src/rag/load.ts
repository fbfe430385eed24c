/**
 * Loads the RAG modules on demand (`ENABLE_RAG=true`, the `ingest`
 * command). The specifiers are computed on purpose: `deno bundle` follows
 * only literal imports, so the core bundle leaves out transformers.js,
 * onnxruntime's native addon and pgvector, and never needs FFI. Run from
 * source (`deno task start:rag`), the modules load as usual once the
 * process may read `src/`; the bundle says RAG is not in it.
 *
 * Only this module and `permissions.ts` are part of the core program.
 *
 * @module
 */
import type { RagConfig } from "../config/env.ts";
import type * as RagServer from "./server.ts";
import type * as IngestCommand from "./ingest_command.ts";
import { missingRagPermissions, permissionError } from "./permissions.ts";

const MODULES = {
  server: "./server.ts",
  ingest: "./ingest_command.ts",
} as const;

/** The RAG modules are not in this build (the bundle holds the core server only). */
export class RagUnavailableError extends Error {
  constructor(cause?: unknown) {
    super(
      "RAG is not part of this build: the bundle holds the core server only. Run from " +
        "source with `deno task start:rag` / `deno task ingest`, or build a binary with " +
        "`deno task compile:rag`",
      { cause },
    );
    this.name = "RagUnavailableError";
  }
}

/** Whether this module runs from its own file (not inlined into a bundle). */
function fromSource(): boolean {
  return /\/rag\/load\.ts$/.test(new URL(import.meta.url).pathname);
}

/**
 * The source folder (`src/`), as a path, when the modules are files on disk:
 * Deno asks for read access to every module of a graph loaded by a computed
 * specifier, and the RAG modules import from all over `src/`.
 */
function codeDir(): string | undefined {
  const url = new URL("../", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/**
 * transformers.js is mapped only by deno.dev.json (the serving deno.json
 * leaves it out so a first start stays light): run under deno.json, say which
 * task to use instead of failing on an unmapped import.
 */
function assertRagPackages(what: string): void {
  try {
    import.meta.resolve("@huggingface/transformers");
  } catch {
    throw new Error(
      `Cannot start: ${what} needs transformers.js, which deno.json leaves out of the serving ` +
        "install: run `deno task start:rag` or `deno task ingest` (they use deno.dev.json)",
    );
  }
}

async function load<T>(name: keyof typeof MODULES): Promise<T> {
  if (!fromSource()) throw new RagUnavailableError();
  return await import(new URL(MODULES[name], import.meta.url).href) as T;
}

/**
 * `src/rag/server.ts`, after checking the whole RAG permission profile for
 * `rag` (so a missing grant is reported with every flag to add, before any
 * RAG code loads).
 */
export async function loadRagServer(rag: RagConfig): Promise<typeof RagServer> {
  if (!fromSource()) throw new RagUnavailableError();
  assertRagPackages("ENABLE_RAG=true");
  const dir = codeDir();
  const missing = await missingRagPermissions({
    modelDir: rag.modelDir,
    allowDownload: rag.allowDownload,
    pgliteDir: rag.dbUrl === undefined ? rag.pgliteDir : undefined,
    codeDirs: dir ? [dir] : [],
  });
  if (missing.length > 0) {
    throw new Error(`Cannot start: ${permissionError("ENABLE_RAG=true", missing).message}`);
  }
  return await load<typeof RagServer>("server");
}

/** `src/rag/ingest_command.ts` (which checks the rest of the profile itself). */
export async function loadIngestCommand(): Promise<typeof IngestCommand> {
  if (!fromSource()) throw new RagUnavailableError();
  assertRagPackages("ingest");
  const dir = codeDir();
  if (dir && (await Deno.permissions.query({ name: "read", path: dir })).state !== "granted") {
    throw permissionError("ingest", [`--allow-read=${dir}`]);
  }
  return await load<typeof IngestCommand>("ingest");
}
