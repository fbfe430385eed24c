import assert from "node:assert/strict";
import { makeTinyModel } from "../../scripts/make_tiny_model.ts";
import { MODEL_FILES } from "../../src/rag/embedder.ts";
import { removeDir } from "./fixture.ts";

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of MODEL_FILES) {
    const bytes = await Deno.readFile(`${dir}/${file}`);
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    out[file] = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}

Deno.test("makeTinyModel() writes the MiniLM folder layout, the same bytes every time", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    const made = await makeTinyModel(a);
    await makeTinyModel(b);
    assert.deepEqual(await digests(a), await digests(b));
    assert.equal(made.hiddenSize, 64);
    assert.ok(made.onnxBytes > 10_000 && made.onnxBytes < 1_000_000, `${made.onnxBytes} bytes`);
    const config = JSON.parse(await Deno.readTextFile(`${a}/config.json`));
    assert.equal(config.model_type, "bert");
    assert.equal(config.hidden_size, 64);
    const tokenizer = JSON.parse(await Deno.readTextFile(`${a}/tokenizer.json`));
    assert.equal(tokenizer.model.type, "WordPiece");
    assert.equal(Object.keys(tokenizer.model.vocab).length, made.vocabSize);
    assert.equal(tokenizer.model.vocab["[CLS]"], 101);
    // The ONNX protobuf starts with field 1 (ir_version, varint) = 8.
    const onnx = await Deno.readFile(`${a}/onnx/model.onnx`);
    assert.deepEqual([...onnx.subarray(0, 2)], [0x08, 0x08]);
  } finally {
    await removeDir(a);
    await removeDir(b);
  }
});

Deno.test("make_tiny_model.ts runs as a script with only write permission for its folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-write=${dir}`,
        new URL("../../scripts/make_tiny_model.ts", import.meta.url).pathname,
        `${dir}/model`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^Wrote tiny model to .*: 64 dimensions, \d+ tokens/);
    for (const file of MODEL_FILES) assert.ok((await Deno.stat(`${dir}/model/${file}`)).isFile);
  } finally {
    await removeDir(dir);
  }
});
