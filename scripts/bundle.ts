/**
 * Builds the bundle (`deno task bundle` → `dist/bundle/`): `deno bundle` of
 * `main.ts` with code splitting, every large embedded file a file of its own
 * beside the chunks, and every lazy import left lazy. Run it with the compile
 * task's flags plus read access to its own folder:
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
 * Why embedded files are moved out: `deno bundle` inlines each
 * `with { type: "bytes" }` import (PGlite's WASM and file-system bundle, the
 * demo snapshot, the parser's WASM, Swagger UI, the embedded database's
 * worker) as base64 text in its chunk. Each one of 64 KB or more becomes a
 * file of its own beside the chunks, named by its contents, which its
 * module reads when it is first imported: as `deno compile` carries them,
 * raw bytes with nothing to decode. (Until session 18 they were packed with
 * zstd in the chunk's text and unpacked through `node:zlib`: the embedded
 * default's start took 5–10% longer and held 24–112 MB more, and a tools-file
 * server idled 40–50 MB higher, zstd's 16 MB window having raised glibc's
 * mmap threshold. The price: the folder is 28 MB instead of 16.)
 *
 * @module
 */
import { createHash } from "node:crypto";

const ENTRY = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** The entry file's name in the bundle's folder. */
export const BUNDLE_ENTRY = "mcp-tool-server.js";

/** Inlined files smaller than this stay as `deno bundle` wrote them. */
const MIN_EXTRACTED_BYTES = 64 * 1024;

/**
 * What the bundle inlines an embedded file as: esbuild's `__toBinary` call
 * on a base64 literal (`deno bundle` 2.9, esbuild 0.25).
 */
const INLINED = /__toBinary\("([A-Za-z0-9+/]*={0,2})"\)/g;

/**
 * The reader the extracted files call, defined at the top of each chunk
 * that has some; a file of another size than the one bundled stops the
 * import (a folder copied in part, or mixed with another build's files).
 */
const READ_EMBEDDED = `var __readEmbedded = (name, size) => {
  const bytes = Deno.readFileSync(new URL(\`./\${name}\`, import.meta.url));
  if (bytes.length !== size) throw new Error(\`Corrupt bundle: \${name} holds \${bytes.length} bytes, not \${size}\`);
  return bytes;
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

/** One embedded file the bundle carries beside its chunks. */
export interface EmbeddedFile {
  /** Its name in the bundle's folder: `embedded-<hash of its bytes>.bin`. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Replaces each large `__toBinary("<base64>")` in `code` with a read of the
 * same bytes from a file of their own, and returns those files.
 */
export function extractEmbeddedFiles(code: string): { code: string; files: EmbeddedFile[] } {
  const files: EmbeddedFile[] = [];
  const out = code.replace(INLINED, (call, base64: string) => {
    if (base64.length < (MIN_EXTRACTED_BYTES * 4) / 3) return call;
    const bytes = Uint8Array.fromBase64(base64);
    const name = `embedded-${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.bin`;
    files.push({ name, bytes });
    return `__readEmbedded("${name}", ${bytes.length})`;
  });
  return { code: files.length === 0 ? code : READ_EMBEDDED + out, files };
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
  /** The `.js` files. */
  readonly files: number;
  /** The embedded files beside them (each read when its module is first imported). */
  readonly embedded: readonly { readonly name: string; readonly bytes: number }[];
}

/**
 * Bundles `main.ts` with the serving `deno.json` into the folder `outDir`
 * (its chunks and embedded files replaced), embedded files moved out and
 * lazy imports left lazy; throws with deno's output when the bundle fails.
 */
export async function buildServerBundle(
  outDir: string,
  env?: Record<string, string>,
): Promise<BundleReport> {
  // A previous build's chunks and embedded files go (their names change with
  // their contents); anything else in the folder stays.
  try {
    for await (const { name, isFile } of Deno.readDir(outDir)) {
      if (isFile && /\.js$|^embedded-.*\.bin$/.test(name)) await Deno.remove(`${outDir}/${name}`);
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
  const embedded = new Map<string, Uint8Array>();
  for await (const { name, isFile } of Deno.readDir(outDir)) {
    if (!isFile || !name.endsWith(".js")) continue;
    const deferred = deferLazyImports(await Deno.readTextFile(`${outDir}/${name}`));
    const result = extractEmbeddedFiles(deferred.code);
    // The same bytes imported by two chunks are one file.
    for (const file of result.files) embedded.set(file.name, file.bytes);
    if (name === "main.js") files.set(BUNDLE_ENTRY, FOLDER_CHECK + result.code);
    else files.set(name, result.code);
  }
  if (!files.has(BUNDLE_ENTRY)) throw new Error(`deno bundle wrote no main.js in ${outDir}`);
  // The entry is renamed: no chunk may refer to it by its old name.
  for (const [name, code] of files) {
    if (code.includes('"./main.js"')) throw new Error(`${name} imports the entry main.js`);
  }
  await Deno.remove(`${outDir}/main.js`);
  for (const [name, bytes] of embedded) await Deno.writeFile(`${outDir}/${name}`, bytes);
  for (const [name, code] of files) await Deno.writeTextFile(`${outDir}/${name}`, code);
  const closure = staticClosure(files, BUNDLE_ENTRY);
  const size = (code: string) => new TextEncoder().encode(code).length;
  const embeddedBytes = [...embedded.values()].reduce((n, b) => n + b.length, 0);
  return {
    entry: `${outDir}/${BUNDLE_ENTRY}`,
    bytes: [...files.values()].reduce((n, code) => n + size(code), 0) + embeddedBytes,
    startBytes: [...closure.values()].reduce((n, b) => n + b, 0),
    files: files.size,
    embedded: [...embedded].map(([name, bytes]) => ({ name, bytes: bytes.length })),
  };
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("../dist/bundle", import.meta.url).pathname;
  const report = await buildServerBundle(out);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `Wrote ${report.entry} and ${report.files - 1} chunks beside it (${mb(report.bytes)} MB; ${
      mb(report.startBytes)
    } MB of code loaded at start; ${report.embedded.length} embedded files beside them, ${
      mb(report.embedded.reduce((n, f) => n + f.bytes, 0))
    } MB, each read when first needed)`,
  );
}
