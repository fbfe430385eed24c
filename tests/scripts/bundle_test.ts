import assert from "node:assert/strict";
import {
  deferLazyImports,
  extractEmbeddedFiles,
  FOLDER_CHECK,
  staticClosure,
} from "../../scripts/bundle.ts";

Deno.test("deferLazyImports rewrites only literal lazy imports of the bundle's own chunks", () => {
  const code = [
    'import { a } from "./chunk-A.js";',
    'const m = await import("./pglite_worker-X1.js");',
    'const n = import("./docs_assets-Y2.js").then((x) => x);',
    'const z = await import("node:zlib");',
    "const computed = await import(name);",
    'const text = "import(\\"./not-code.txt\\")";',
  ].join("\n");
  const { code: out, deferred } = deferLazyImports(code);
  assert.deepEqual(deferred, ["pglite_worker-X1.js", "docs_assets-Y2.js"]);
  assert.match(out, /import\(new URL\("\.\/pglite_worker-X1\.js", import\.meta\.url\)\.href\)/);
  assert.match(out, /import\(new URL\("\.\/docs_assets-Y2\.js", import\.meta\.url\)\.href\)/);
  // A static import, a built-in, a computed specifier and text that is no .js chunk stay.
  assert.match(out, /^import \{ a \} from "\.\/chunk-A\.js";$/m);
  assert.match(out, /import\("node:zlib"\)/);
  assert.match(out, /import\(name\)/);
  assert.match(out, /not-code\.txt/);
  assert.equal(deferLazyImports(out).deferred.length, 0, "a second pass finds nothing to rewrite");
});

Deno.test("staticClosure follows static imports and re-exports, never lazy ones", () => {
  const files = new Map([
    [
      "entry.js",
      'import {\n  x,\n  y\n} from "./chunk-A.js";\nimport "./chunk-B.js";\nconst lazy = import(new URL("./big.js", import.meta.url).href);',
    ],
    ["chunk-A.js", 'export { z } from "./chunk-C.js";\nexport const x = 1, y = 2;'],
    ["chunk-B.js", "globalThis.b = 1;"],
    ["chunk-C.js", "export const z = 3;"],
    ["big.js", 'import "./chunk-D.js";'],
    ["chunk-D.js", "x".repeat(1000)],
  ]);
  const loaded = staticClosure(files, "entry.js");
  assert.deepEqual([...loaded.keys()].sort(), [
    "chunk-A.js",
    "chunk-B.js",
    "chunk-C.js",
    "entry.js",
  ]);
  assert.equal(loaded.get("chunk-C.js"), "export const z = 3;".length);
  assert.throws(
    () => staticClosure(new Map([["entry.js", 'import "./gone.js";']]), "entry.js"),
    /imports gone\.js, which it does not hold/,
  );
});

Deno.test("a large embedded file moves beside its chunk and reads back the same bytes when its module is imported", async () => {
  const bytes = new Uint8Array(200_000);
  for (let i = 0; i < bytes.length; i += 50_000) {
    crypto.getRandomValues(bytes.subarray(i, i + 50_000));
  }
  const small = new Uint8Array(100).fill(7);
  const code = `var __toBinary = (b) => Uint8Array.fromBase64(b);\n` +
    `export const big = __toBinary("${bytes.toBase64()}");\n` +
    `export const again = __toBinary("${bytes.toBase64()}");\n` +
    `export const small = __toBinary("${small.toBase64()}");\n`;
  const { code: out, files } = extractEmbeddedFiles(code);
  // Only the file of 64 KB or more, named by its contents: twice the same bytes, one name.
  assert.equal(files.length, 2);
  assert.equal(files[0].name, files[1].name);
  assert.match(files[0].name, /^embedded-[0-9a-f]{16}\.bin$/);
  assert.deepEqual(files[0].bytes, bytes);
  assert.ok(out.length < 2_000, `${out.length} characters left in the chunk`);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/chunk.js`, out);
    await Deno.writeFile(`${dir}/${files[0].name}`, bytes);
    const mod = await import(`file://${dir}/chunk.js`);
    assert.deepEqual(mod.big, bytes);
    assert.deepEqual(mod.again, bytes);
    assert.deepEqual(mod.small, small);
    // A file of another size (another build's, cut short) stops the import.
    await Deno.writeTextFile(`${dir}/other.js`, out);
    await Deno.writeFile(`${dir}/${files[0].name}`, bytes.subarray(1));
    await assert.rejects(
      import(`file://${dir}/other.js`),
      new RegExp(`Corrupt bundle: ${files[0].name} holds 199999 bytes, not 200000`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const plain = `export const n = __toBinary("${small.toBase64()}");`;
  assert.deepEqual(extractEmbeddedFiles(plain), { code: plain, files: [] });
});

Deno.test("the bundle's folder check passes with read access to the folder and stops without", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/entry.js`, `${FOLDER_CHECK}console.log("ran");\n`);
    const run = async (read: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", ...read, `${dir}/entry.js`],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
      return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    };
    assert.deepEqual(await run([`--allow-read=${dir}`]), { code: 0, stdout: "ran", stderr: "" });
    const denied = await run(["--allow-read=/etc"]);
    assert.equal(denied.code, 2);
    assert.equal(denied.stdout, "");
    assert.match(
      denied.stderr,
      /^Cannot run: this bundle reads its parts from .+\/ when they are first needed: add that folder to --allow-read$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
