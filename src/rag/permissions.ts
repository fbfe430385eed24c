/**
 * The RAG permission profile. The core server runs with `--allow-net
 * --allow-env` only; RAG needs more, and only as much as this:
 *
 * - read the model folder (`RAG_MODEL_DIR`), and write it too when
 *   downloads are on (the hub files are cached there);
 * - load onnxruntime's and sharp's native addons from `node_modules`
 *   (`--allow-ffi=node_modules`; transformers.js loads sharp at import even
 *   for text), and the `cpus`, `networkInterfaces` and `hostname` system
 *   facts their start-up reads;
 * - with the embedded store: read and write its folder (`RAG_PGLITE_DIR`),
 *   and read pgvector's extension bundle in `node_modules`.
 *
 * - run from source, read `src/` itself: the RAG modules are imported by a
 *   computed specifier (so the core bundle leaves them out), and Deno asks
 *   for read access to every module such an import loads.
 *
 * {@linkcode missingRagPermissions} asks Deno (without prompting) which of
 * these this process lacks, so the server can refuse `ENABLE_RAG=true`
 * before loading anything, with the exact flags to add. `deno task
 * start:rag` and `deno task ingest` grant them.
 *
 * @module
 */

/** What to check: the parts of the RAG config that name folders. */
export interface RagPermissionNeeds {
  readonly modelDir: string;
  readonly allowDownload: boolean;
  /** The embedded store's folder; undefined with PostgreSQL (`RAG_DB_URL`). */
  readonly pgliteDir: string | undefined;
  /** Folders of code loaded at run time (`src/rag/` when run from source). */
  readonly codeDirs?: readonly string[];
}

/** System facts onnxruntime-node and sharp read when they load. */
export const RAG_SYS_NAMES = ["cpus", "networkInterfaces", "hostname"] as const;

/** The `node_modules` folder an npm package was installed in, when it is on disk. */
function nodeModulesOf(specifier: string): string | undefined {
  try {
    const url = new URL(import.meta.resolve(specifier));
    if (url.protocol !== "file:") return undefined;
    const path = decodeURIComponent(url.pathname);
    const at = path.indexOf("/node_modules/");
    return at === -1 ? undefined : path.slice(0, at + "/node_modules".length);
  } catch {
    return undefined;
  }
}

/** The pgvector extension bundle PGlite reads at start. */
export function pgvectorBundlePath(): string | undefined {
  try {
    const url = new URL("./vector.tar.gz", import.meta.resolve("@electric-sql/pglite-pgvector"));
    return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
  } catch {
    return undefined;
  }
}

async function granted(descriptor: Deno.PermissionDescriptor): Promise<boolean> {
  return (await Deno.permissions.query(descriptor)).state === "granted";
}

/**
 * The permission flags this process lacks for RAG, as `--allow-…=…` strings
 * (empty when it has them all).
 *
 * @example Each missing grant comes back as a flag
 * ```ts
 * import { missingRagPermissions } from "./permissions.ts";
 * import assert from "node:assert/strict";
 *
 * const missing = await missingRagPermissions({
 *   modelDir: "models/embedding",
 *   allowDownload: false,
 *   pgliteDir: "data/rag",
 * });
 * // Under `deno run -A` nothing is missing; under the core flags, the FFI grant at least.
 * assert.ok(missing.every((flag) => /^--allow-(read|write|ffi|sys)(=|$)/.test(flag)));
 * ```
 */
export async function missingRagPermissions(needs: RagPermissionNeeds): Promise<string[]> {
  const read: string[] = [];
  const write: string[] = [];
  const ffi: string[] = [];
  const sys: string[] = [];
  for (const dir of needs.codeDirs ?? []) {
    if (!await granted({ name: "read", path: dir })) read.push(dir);
  }
  if (!await granted({ name: "read", path: needs.modelDir })) read.push(needs.modelDir);
  if (needs.allowDownload && !await granted({ name: "write", path: needs.modelDir })) {
    write.push(needs.modelDir);
  }
  const modules = nodeModulesOf("@huggingface/transformers");
  if (!await granted(modules ? { name: "ffi", path: modules } : { name: "ffi" })) {
    ffi.push(modules ?? "");
  }
  for (const kind of RAG_SYS_NAMES) {
    if (!await granted({ name: "sys", kind })) sys.push(kind);
  }
  if (needs.pgliteDir !== undefined) {
    if (!await granted({ name: "read", path: needs.pgliteDir })) read.push(needs.pgliteDir);
    if (!await granted({ name: "write", path: needs.pgliteDir })) write.push(needs.pgliteDir);
    const bundle = pgvectorBundlePath();
    if (bundle && !await granted({ name: "read", path: bundle })) {
      read.push(nodeModulesOf("@electric-sql/pglite-pgvector") ?? bundle);
    }
  }
  const flag = (name: string, values: string[]) =>
    values.length === 0
      ? []
      : [values.every((v) => v === "") ? `--allow-${name}` : `--allow-${name}=${values.join(",")}`];
  return [
    ...flag("read", read),
    ...flag("write", write),
    ...flag("ffi", ffi),
    ...flag("sys", sys),
  ];
}

/** The error for missing grants: what needs them, the flags, and the task that grants them. */
export function permissionError(what: string, missing: readonly string[]): Error {
  return new Error(
    `${what} needs permissions this process was not given: ${missing.join(" ")}. ` +
      `The core server runs with --allow-net --allow-env only; RAG adds read access to the ` +
      `model (and the embedded store), native code from node_modules (onnxruntime) and a few ` +
      `system facts. Run it with \`deno task start:rag\` (or \`deno task ingest\`), which ` +
      `grant exactly these for the default folders; see docs/RAG.md`,
  );
}
