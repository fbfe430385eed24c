/**
 * Builds the bundle (`deno task bundle` → `dist/bundle/`): `deno bundle` of
 * `main.ts` with code splitting, every large embedded file packed with zstd,
 * and every lazy import left lazy. Run it with the compile task's flags plus
 * read access to its own folder:
 *
 *   deno run --allow-run --allow-read --allow-write --allow-env scripts/bundle.ts [out-dir]
 *   deno run --no-config --unstable-no-legacy-abort --allow-net --allow-env \
 *     --allow-read=dist/bundle,/etc/mcp-tool-server,/run/secrets,/run/credentials \
 *     --allow-write=/var/log/mcp-tool-server dist/bundle/mcp-tool-server.js
 *
 * Why a folder and not one file: Deno reads, hashes and parses all of a
 * module's text before running it, a cost linear in its bytes, and V8 keeps
 * the text in its heap. One file held everything the server can load (the
 * embedded database and its data, the SQL parser, Swagger UI: 16 MB even
 * packed), so a start on PostgreSQL paid for all of it. Split, the entry and
 * the chunks it imports statically are the code a start runs; what the source
 * imports lazily (`import()`) is a chunk of its own, read when first imported.
 *
 * Why the lazy imports are rewritten: Deno loads a literal `import("./x.js")`
 * together with its importer, before any code runs, so a split bundle would
 * still read every chunk at start. `import(new URL("./x.js", import.meta.url).href)`
 * is the same module, resolved at the call, which is also why the run needs
 * read access to the bundle's folder. `deno compile` and `deno run main.ts`
 * are not concerned: they load each module, and each embedded file, on import.
 *
 * Why pack: `deno bundle` inlines each `with { type: "bytes" }` import as
 * base64 text (PGlite's WASM and file-system bundle, the parser's WASM,
 * Swagger UI, the embedded database's worker). Packed, each one is
 * decompressed by its own module's initializer, so only when that module is
 * first imported.
 *
 * @module
 */
import { constants, zstdCompressSync } from "node:zlib";

const ENTRY = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** The entry file's name in the bundle's folder. */
export const BUNDLE_ENTRY = "mcp-tool-server.js";

/** Inlined files smaller than this stay as `deno bundle` wrote them. */
const MIN_PACKED_BYTES = 64 * 1024;

/**
 * What the bundle inlines an embedded file as: esbuild's `__toBinary` call
 * on a base64 literal (`deno bundle` 2.9, esbuild 0.25).
 */
const INLINED = /__toBinary\("([A-Za-z0-9+/]*={0,2})"\)/g;

/**
 * The decoder the packed files call, defined at the top of each chunk that
 * has some. `node:zlib` is required only by the first packed file decoded, so
 * a start that decodes none never loads it.
 */
const UNPACK = `import { createRequire as __unpackCreateRequire } from "node:module";
var __unpackZstd = (base64, size) => {
  const out = __unpackCreateRequire(import.meta.url)("node:zlib").zstdDecompressSync(Uint8Array.fromBase64(base64));
  if (out.length !== size) throw new Error(\`Corrupt bundle: an embedded file unpacked to \${out.length} bytes, not \${size}\`);
  return out.byteOffset === 0 && out.buffer.byteLength === size ? new Uint8Array(out.buffer) : new Uint8Array(out);
};
`;

/**
 * The entry's first statement: without read access to its own folder, the
 * bundle would start and then fail at the first lazy import (the embedded
 * database at once, the SQL parser or `/docs` later), so it says so and stops.
 */
export const FOLDER_CHECK = `{
  const folder = new URL(".", import.meta.url);
  if (folder.protocol === "file:" && Deno.permissions.querySync({ name: "read", path: folder }).state !== "granted") {
    console.error(\`Cannot run: this bundle reads its parts from \${decodeURIComponent(folder.pathname)} when they are first needed: add that folder to --allow-read\`);
    Deno.exit(2);
  }
}
`;

/** One embedded file the bundle carries packed. */
export interface PackedFile {
  readonly bytes: number;
  readonly packedBytes: number;
}

/**
 * Replaces each large `__toBinary("<base64>")` in `code` with the same bytes
 * packed with zstd; files zstd cannot shrink by a tenth (the demo snapshot is
 * gzip already) stay as they were.
 */
export function packEmbeddedFiles(code: string): { code: string; packed: PackedFile[] } {
  const packed: PackedFile[] = [];
  const out = code.replace(INLINED, (call, base64: string) => {
    if (base64.length < (MIN_PACKED_BYTES * 4) / 3) return call;
    const bytes = Uint8Array.fromBase64(base64);
    const zipped = zstdCompressSync(bytes, {
      params: {
        [constants.ZSTD_c_compressionLevel]: 19,
        // A window over the whole file: PGlite's data has long repeats.
        [constants.ZSTD_c_windowLog]: 24,
      },
    });
    if (zipped.length > bytes.length * 0.9) return call;
    packed.push({ bytes: bytes.length, packedBytes: zipped.length });
    return `__unpackZstd("${new Uint8Array(zipped).toBase64()}", ${bytes.length})`;
  });
  // Import declarations are hoisted wherever they stand, and the decoder is
  // defined before any of the chunk's own code runs.
  return { code: packed.length === 0 ? code : UNPACK + out, packed };
}

/** esbuild's literal lazy import of another chunk of the same folder. */
const LAZY_IMPORT = /\bimport\("(\.\/[A-Za-z0-9_.-]+\.js)"\)/g;

/**
 * Rewrites each literal `import("./chunk.js")` so that Deno resolves it when
 * it runs rather than loading the chunk with its importer; returns the code
 * and the chunks made lazy.
 */
export function deferLazyImports(code: string): { code: string; deferred: string[] } {
  const deferred: string[] = [];
  const out = code.replace(LAZY_IMPORT, (_, path: string) => {
    deferred.push(path.slice(2));
    return `import(new URL("${path}", import.meta.url).href)`;
  });
  return { code: out, deferred };
}

/** esbuild's static imports and re-exports of chunks of the same folder. */
const STATIC_IMPORT = /^(?:import|export)\b[^;"]*?(?:\bfrom\s*)?"\.\/([A-Za-z0-9_.-]+\.js)";?$/gm;

/**
 * The files a start loads: `entry` and every chunk it imports statically,
 * directly or not (lazy imports excluded), with their sizes in bytes.
 */
export function staticClosure(
  files: ReadonlyMap<string, string>,
  entry: string,
): Map<string, number> {
  const loaded = new Map<string, number>();
  const pending = [entry];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (loaded.has(name)) continue;
    const code = files.get(name);
    if (code === undefined) throw new Error(`The bundle imports ${name}, which it does not hold`);
    loaded.set(name, new TextEncoder().encode(code).length);
    for (const [, dep] of code.matchAll(STATIC_IMPORT)) pending.push(dep);
  }
  return loaded;
}

/** What {@linkcode buildServerBundle} wrote. */
export interface BundleReport {
  /** The entry file, to run. */
  readonly entry: string;
  /** Bytes of every file in the folder. */
  readonly bytes: number;
  /** Bytes a start loads: the entry and its static imports. */
  readonly startBytes: number;
  readonly files: number;
  readonly packed: PackedFile[];
}

/**
 * Bundles `main.ts` with the serving `deno.json` into the folder `outDir`
 * (its `.js` files replaced), embedded files packed and lazy imports left
 * lazy; throws with deno's output when the bundle fails.
 */
export async function buildServerBundle(
  outDir: string,
  env?: Record<string, string>,
): Promise<BundleReport> {
  // A previous build's chunks go (their names change with their contents);
  // anything else in the folder stays.
  try {
    for await (const { name, isFile } of Deno.readDir(outDir)) {
      if (isFile && name.endsWith(".js")) await Deno.remove(`${outDir}/${name}`);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--config",
      CONFIG,
      "--platform=deno",
      "--code-splitting",
      "--outdir",
      outDir,
      ENTRY,
    ],
    env: { NO_COLOR: "1", ...env },
    clearEnv: env !== undefined,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) {
    throw new Error(`deno bundle failed: ${new TextDecoder().decode(run.stderr)}`);
  }
  const files = new Map<string, string>();
  const packed: PackedFile[] = [];
  for await (const { name, isFile } of Deno.readDir(outDir)) {
    if (!isFile || !name.endsWith(".js")) continue;
    const deferred = deferLazyImports(await Deno.readTextFile(`${outDir}/${name}`));
    const result = packEmbeddedFiles(deferred.code);
    packed.push(...result.packed);
    if (name === "main.js") files.set(BUNDLE_ENTRY, FOLDER_CHECK + result.code);
    else files.set(name, result.code);
  }
  if (!files.has(BUNDLE_ENTRY)) throw new Error(`deno bundle wrote no main.js in ${outDir}`);
  // The entry is renamed: no chunk may refer to it by its old name.
  for (const [name, code] of files) {
    if (code.includes('"./main.js"')) throw new Error(`${name} imports the entry main.js`);
  }
  await Deno.remove(`${outDir}/main.js`);
  for (const [name, code] of files) await Deno.writeTextFile(`${outDir}/${name}`, code);
  const closure = staticClosure(files, BUNDLE_ENTRY);
  const size = (code: string) => new TextEncoder().encode(code).length;
  return {
    entry: `${outDir}/${BUNDLE_ENTRY}`,
    bytes: [...files.values()].reduce((n, code) => n + size(code), 0),
    startBytes: [...closure.values()].reduce((n, b) => n + b, 0),
    files: files.size,
    packed,
  };
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("../dist/bundle", import.meta.url).pathname;
  const report = await buildServerBundle(out);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `Wrote ${report.entry} and ${report.files - 1} chunks beside it (${mb(report.bytes)} MB; ${
      mb(report.startBytes)
    } MB loaded at start; ${report.packed.length} embedded files packed, ${
      mb(report.packed.reduce((n, p) => n + p.bytes, 0))
    } → ${mb(report.packed.reduce((n, p) => n + p.packedBytes, 0))} MB)`,
  );
}
