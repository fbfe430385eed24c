/**
 * The embedded database's demo snapshot: a PGlite data directory, initialized
 * and filled with the demo data (`scripts/make_demo_snapshot.ts`), shipped as
 * a zstd-packed tar.
 *
 * Why zstd and not gzip: the data directory holds three near-identical
 * template databases and a 16 MB WAL segment, and zstd's long window sees the
 * repeats gzip's 32 KB window cannot: 1.6 MB instead of 5.2 MB, which every
 * start of the one-file bundle reads (~5 ms a megabyte), and it unpacks
 * faster than PGlite gunzips (~60 ms against ~110 ms). The packed bytes stay
 * in memory; each instance gets a fresh tar (41 MB) it may keep or transfer.
 *
 * @example
 * ```ts
 * import { demoSnapshot } from "./demo_snapshot.ts";
 * import assert from "node:assert/strict";
 *
 * const tar = await demoSnapshot();
 * // A tar: its first entry's name, then "ustar" at offset 257.
 * assert.equal(new TextDecoder().decode(tar.subarray(257, 262)), "ustar");
 * ```
 *
 * @module
 */
import packed from "./demo_snapshot.tar.zst" with { type: "bytes" };

/** The demo data directory as an uncompressed tar (what PGlite's `loadDataDir` takes). */
export async function demoSnapshot(): Promise<Uint8Array<ArrayBuffer>> {
  // Imported here, not at the top: a bundler hoists a `node:` import to the
  // program's start, and node:zlib costs ~10 ms to load.
  const { zstdDecompressSync } = await import("node:zlib");
  const tar = zstdDecompressSync(packed);
  return tar.byteOffset === 0 && tar.buffer.byteLength === tar.length
    ? new Uint8Array(tar.buffer as ArrayBuffer)
    : new Uint8Array(tar);
}
