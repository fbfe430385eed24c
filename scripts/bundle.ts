/**
 * Builds the one-file program (`deno task bundle` → `dist/mcp-tool-server.js`):
 * `deno bundle` of `main.ts`, then every large embedded file packed with zstd.
 *
 *   deno run --allow-run --allow-read --allow-write --allow-env scripts/bundle.ts [out.js]
 *
 * Why pack: `deno bundle` inlines each `with { type: "bytes" }` import as
 * base64 text (PGlite's WASM and file-system bundle, the demo snapshot, the
 * parser's WASM, Swagger UI, the embedded database's worker): 33 of the
 * file's 36 MB. Deno reads, hashes and copies the whole file at every start,
 * and V8 keeps the source in its heap, so those megabytes cost ~5 ms each at
 * start and ~95 MB of RSS even on PostgreSQL, where none of them is used. Packed, each one is decompressed by its own
 * module's initializer, which runs only when that module is first imported
 * (the embedded database, `sql_query` or a tools file, `/docs`): the same
 * lazy loading the source has. `deno compile` and `deno run main.ts` are not
 * concerned (they load each embedded file as a module of its own, when it is
 * imported).
 *
 * @module
 */
import { constants, zstdCompressSync } from "node:zlib";

const ENTRY = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Inlined files smaller than this stay as `deno bundle` wrote them. */
const MIN_PACKED_BYTES = 64 * 1024;

/**
 * What the bundle inlines an embedded file as: esbuild's `__toBinary` call
 * on a base64 literal (`deno bundle` 2.9, esbuild 0.25).
 */
const INLINED = /__toBinary\("([A-Za-z0-9+/]*={0,2})"\)/g;

/**
 * The decoder the packed files call, defined once after esbuild's helpers.
 * `node:zlib` is required only by the first packed file decoded, so a start
 * that decodes none never loads it.
 */
const UNPACK = `
import { createRequire as __unpackCreateRequire } from "node:module";
var __unpackZstd = (base64, size) => {
  const out = __unpackCreateRequire(import.meta.url)("node:zlib").zstdDecompressSync(Uint8Array.fromBase64(base64));
  if (out.length !== size) throw new Error(\`Corrupt bundle: an embedded file unpacked to \${out.length} bytes, not \${size}\`);
  return out.byteOffset === 0 && out.buffer.byteLength === size ? new Uint8Array(out.buffer) : new Uint8Array(out);
};
`;

/** One embedded file the bundle carries packed. */
export interface PackedFile {
  readonly bytes: number;
  readonly packedBytes: number;
}

/**
 * Replaces each large `__toBinary("<base64>")` in `code` with the same bytes
 * packed with zstd; files zstd cannot shrink by a tenth (the demo snapshot is
 * gzip already: 5.2 MB, 7 MB of the packed bundle's 16) stay as they were.
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
  if (packed.length === 0) return { code, packed };
  // After esbuild's helpers (they end where the first module's code begins).
  const at = out.indexOf("\n//");
  if (at === -1) {
    throw new Error("Unexpected bundle shape: no module comment to insert the decoder before");
  }
  return { code: out.slice(0, at) + UNPACK + out.slice(at), packed };
}

/**
 * Bundles `main.ts` with the serving `deno.json` into `out`, embedded files
 * packed; throws with deno's output when the bundle fails.
 */
export async function buildServerBundle(
  out: string,
  env?: Record<string, string>,
): Promise<{ bytes: number; packed: PackedFile[] }> {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--config", CONFIG, "--platform=deno", ENTRY, "-o", out],
    env: { NO_COLOR: "1", ...env },
    clearEnv: env !== undefined,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) {
    throw new Error(`deno bundle failed: ${new TextDecoder().decode(run.stderr)}`);
  }
  const { code, packed } = packEmbeddedFiles(await Deno.readTextFile(out));
  await Deno.writeTextFile(out, code);
  return { bytes: new TextEncoder().encode(code).length, packed };
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("../dist/mcp-tool-server.js", import.meta.url).pathname;
  const { bytes, packed } = await buildServerBundle(out);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `Wrote ${out} (${mb(bytes)} MB; ${packed.length} embedded files packed, ${
      mb(packed.reduce((n, p) => n + p.bytes, 0))
    } → ${mb(packed.reduce((n, p) => n + p.packedBytes, 0))} MB)`,
  );
}
