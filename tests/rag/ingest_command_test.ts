import assert from "node:assert/strict";
import { parseIngestArgs, runIngestCommand } from "../../src/rag/ingest_command.ts";
import { emptyStoreDir, removeDir, taskFlags, tinyModelDir, writeDocs } from "./fixture.ts";
import { CHILD_DENO_ENV } from "../process.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${REPO}/main.ts`;

/** Runs the command in this process, capturing what it prints. */
async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runIngestCommand(args, {
    env,
    stdout: (s) => stdout += s,
    stderr: (s) => stderr += s,
    isTerminal: false,
  });
  return { code, stdout, stderr };
}

Deno.test("parseIngestArgs() reads paths and options, and refuses bad ones", () => {
  assert.deepEqual(parseIngestArgs(["docs", "--source-name", "handbook/", "--prune"]), {
    paths: ["docs"],
    sourceName: "handbook",
    prune: true,
    rebuild: false,
    help: false,
  });
  assert.deepEqual(
    parseIngestArgs(["a.md", "b", "--chunk-size=500", "--chunk-overlap", "50", "--batch-size=8"]),
    {
      paths: ["a.md", "b"],
      chunkSize: 500,
      chunkOverlap: 50,
      batchSize: 8,
      prune: false,
      rebuild: false,
      help: false,
    },
  );
  assert.throws(
    () => parseIngestArgs(["--chunk-size", "99"]),
    /--chunk-size: expected an integer from 100/,
  );
  assert.throws(() => parseIngestArgs(["--batch-size", "x"]), /--batch-size: expected an integer/);
  assert.throws(() => parseIngestArgs(["--source-name"]), /--source-name: expected a name/);
  assert.throws(() => parseIngestArgs(["--frobnicate"]), /Unknown option "--frobnicate"/);
  assert.equal(parseIngestArgs(["d", "--progress-seconds", "2"]).progressSeconds, 2);
  for (const bad of ["0", "x", "1.5", "3601"]) {
    assert.throws(
      () => parseIngestArgs(["d", "--progress-seconds", bad]),
      /--progress-seconds: expected an integer from 1 to 3600/,
      bad,
    );
  }
});

Deno.test("ingest exits 2 with the usage for no path, a bad option or a bad overlap", async () => {
  for (
    const [args, message] of [
      [[], /name at least one file or folder/],
      [["docs", "--bogus"], /Unknown option "--bogus"/],
      [["docs", "--chunk-size", "200", "--chunk-overlap", "150"], /at most half of the chunk size/],
    ] as const
  ) {
    const result = await run([...args]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
  }
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: mcp-tool-server ingest <files or folders>/);
  assert.match(help.stdout, /--prune/);
});

Deno.test("ingest exits 2 naming a missing model folder or path, writing nothing", async () => {
  const store = await Deno.makeTempDir();
  try {
    const noModel = await run(["docs"], { RAG_MODEL_DIR: `${store}/none`, RAG_PGLITE_DIR: store });
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /^Cannot ingest: RAG_MODEL_DIR ".*\/none" has no config\.json/);
    const env = { RAG_MODEL_DIR: await tinyModelDir(), RAG_PGLITE_DIR: `${store}/db` };
    const noPath = await run([`${store}/missing`], env);
    assert.equal(noPath.code, 2);
    assert.match(
      noPath.stderr,
      /^Cannot ingest ".*\/missing": no such file or folder\n$/,
    );
  } finally {
    await removeDir(store);
  }
});

Deno.test("deno task ingest's permissions ingest a folder, print plain progress and a summary, and run again idle", async () => {
  const model = await tinyModelDir();
  const store = await emptyStoreDir();
  const docs = await writeDocs();
  const flags = await taskFlags("ingest", { models: model, "data/rag": store });
  const env = {
    RAG_MODEL_DIR: model,
    RAG_PGLITE_DIR: store,
    HOME: Deno.env.get("HOME") ?? "/",
    // No NO_COLOR: the progress must be plain because its output is not a terminal.
    DENO_NO_UPDATE_CHECK: CHILD_DENO_ENV.DENO_NO_UPDATE_CHECK,
  };
  const ingestOnce = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, MAIN, "ingest", docs, "--source-name", "docs", "--chunk-size", "100"],
      env: { NO_COLOR: "1", ...env },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  try {
    const first = await ingestOnce();
    assert.equal(first.code, 0, first.stderr);
    const match =
      /^ingest: 4 files, (\d+) chunks, (\d+) embedded, 0 reused, 0 unchanged, 0 deleted in [\d.]+ s \([\d.]+ chunks\/s embedded\)\n$/
        .exec(first.stdout);
    assert.ok(match, first.stdout);
    assert.equal(match[1], match[2]);
    // Not a terminal: plain lines, no bar, no escape codes.
    assert.match(
      first.stderr,
      new RegExp(`^ingest: ${match[1]}/${match[1]} chunks \\(100%\\)`, "m"),
    );
    assert.ok(!first.stderr.includes("\r") && !first.stderr.includes("\x1b"), first.stderr);

    const second = await ingestOnce();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`, 0 embedded, 0 reused, ${match[1]} unchanged,`));
  } finally {
    await removeDir(store);
    await removeDir(docs);
  }
});

Deno.test("ingest killed mid-run (SIGKILL) resumes where it stopped", async () => {
  const model = await tinyModelDir();
  const store = await emptyStoreDir();
  // Enough chunks for several seconds of work: 80 files of 60 paragraphs, one chunk each.
  const words = ["cat", "milk", "rocket", "mars", "pizza", "oven", "river", "forest", "music"];
  const docs: Record<string, string> = {};
  for (let f = 0; f < 80; f++) {
    docs[`f${f}.md`] = Array.from(
      { length: 60 },
      (_, p) =>
        `Paragraph ${p} of file ${f} is about the ${words[(f + p) % 9]} and the ${
          words[p % 9]
        } near the ${words[(f * p) % 9]}.`,
    ).join("\n\n");
  }
  const folder = await writeDocs(docs);
  const flags = await taskFlags("ingest", { models: model, "data/rag": store });
  const args = [
    "run",
    ...flags,
    MAIN,
    "ingest",
    folder,
    "--source-name",
    "bulk",
    "--chunk-size",
    "100",
    "--chunk-overlap",
    "0",
    "--batch-size",
    "4",
    // The first progress line after a second of work, whatever the machine's speed.
    "--progress-seconds",
    "1",
  ];
  const env = { ...CHILD_DENO_ENV, RAG_MODEL_DIR: model, RAG_PGLITE_DIR: store };
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Wait for the first progress line (after ~1 s of embedding), then kill it hard.
    let stderr = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const deadline = Date.now() + 60_000;
    while (!/ingest: (\d+)\/(\d+) chunks/.test(stderr) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    const progress = /ingest: (\d+)\/(\d+) chunks/.exec(stderr);
    child.kill("SIGKILL");
    const status = await child.status;
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
    await child.stdout.cancel().catch(() => {});
    assert.ok(progress, `no progress line before the kill: ${stderr}`);
    assert.equal(status.signal, "SIGKILL");
    const [done, total] = [Number(progress[1]), Number(progress[2])];
    assert.ok(done > 0 && done < total, `${done}/${total}: the run must be killed mid-way`);

    const out = await new Deno.Command(Deno.execPath(), { args, env, clearEnv: true }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const m = /(\d+) chunks, (\d+) embedded, (\d+) reused, (\d+) unchanged/.exec(stdout);
    assert.ok(m, stdout);
    const [chunks, embedded, reused, unchanged] = m.slice(1).map(Number);
    assert.equal(chunks, total);
    // At least what the killed run had reported is kept; the rest is done now.
    assert.ok(unchanged >= done, `${unchanged} unchanged, ${done} reported before the kill`);
    assert.equal(embedded + reused + unchanged, total);
    assert.ok(embedded < total);
  } finally {
    await removeDir(store);
    await removeDir(folder);
  }
});
