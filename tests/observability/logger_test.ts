import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import {
  createLogger,
  createMemorySink,
  createStreamSink,
  fileWritable,
  jsonLineFormatter,
  type LogRecord,
  textLineFormatter,
} from "../../src/observability/logger.ts";

Deno.test("createLogger() drops lines below its level and keeps the rest", () => {
  const sink = createMemorySink();
  const log = createLogger({ level: "warning", sinks: [sink] });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.deepEqual(sink.records.map((r) => [r.level, r.rawMessage]), [["warning", "w"], [
    "error",
    "e",
  ]]);
  assert.equal(log.isEnabled("info"), false);
  assert.equal(log.isEnabled("error"), true);
});

Deno.test("Logger.with() binds properties to every line without changing the parent", () => {
  const sink = createMemorySink();
  const root = createLogger({ level: "debug", sinks: [sink] });
  const child = root.with({ request_id: "r1" }).with({ tool_name: "t" });
  child.info("hello", { status: "success" });
  root.info("plain");
  assert.deepEqual(sink.records[0].properties, {
    request_id: "r1",
    tool_name: "t",
    status: "success",
  });
  assert.deepEqual(sink.records[1].properties, {});
});

Deno.test("jsonLineFormatter() writes one JSON object per line with top-level fields", () => {
  const sink = createMemorySink();
  createLogger({ level: "info", sinks: [sink] }).with({ request_id: "r1" }).info("tool call", {
    evil: 'a"\nb\r\n{"level":"error"}',
    big: 5n,
  });
  const line = jsonLineFormatter(sink.records[0]);
  assert.ok(line.endsWith("\n"));
  assert.equal(line.indexOf("\n"), line.length - 1, "no raw newline inside the line");
  const parsed = JSON.parse(line);
  assert.equal(parsed.message, "tool call");
  assert.equal(parsed.level, "info");
  assert.equal(parsed.request_id, "r1");
  assert.equal(parsed.big, "5");
  assert.equal(parsed.evil, 'a"\nb\r\n{"level":"error"}');
  assert.ok(!Number.isNaN(Date.parse(parsed.timestamp)));
});

Deno.test("textLineFormatter() writes logfmt with escaped values", () => {
  const sink = createMemorySink();
  createLogger({ level: "info", sinks: [sink] }).with({ request_id: "r1" }).info("tool call", {
    evil: "a\nb",
  });
  const line = textLineFormatter(sink.records[0]);
  assert.match(line, /level=info/);
  assert.match(line, /msg="tool call"/);
  assert.match(line, /request_id=r1/);
  assert.equal(line.trimEnd().includes("\n"), false);
});

Deno.test("createStreamSink() writes buffered lines and flushes them on dispose", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
  const sink = createStreamSink(stream, "json");
  const log = createLogger({ level: "info", sinks: [sink] });
  for (let i = 0; i < 300; i++) log.info("line", { i });
  await sink[Symbol.asyncDispose]();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 300);
  assert.deepEqual(lines.map((l) => l.i), [...Array(300).keys()]);
});

Deno.test("fileWritable() puts each line in the file while the server runs, not at close", async () => {
  const path = await Deno.makeTempFile();
  const file = await Deno.open(path, { write: true, append: true });
  const sink = createStreamSink(fileWritable(file), "json");
  try {
    createLogger({ level: "info", sinks: [sink] }).info("visible now");
    // The non-blocking sink flushes within its interval (50 ms).
    let text = "";
    for (let i = 0; i < 40 && !text.includes("visible now"); i++) {
      await new Promise((r) => setTimeout(r, 25));
      text = await Deno.readTextFile(path);
    }
    assert.match(text, /"message":"visible now"/);
  } finally {
    await sink[Symbol.asyncDispose]();
    file.close();
    await Deno.remove(path);
  }
});

Deno.test("createStreamSink() writes a burst of lines as one chunk, not a write per line", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
  const sink = createStreamSink(stream, "json", { flushMs: 10 });
  const log = createLogger({ level: "info", sinks: [sink] });
  for (let i = 0; i < 100; i++) log.info("burst", { i });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(chunks.length, 1);
  assert.equal(new TextDecoder().decode(chunks[0]).trimEnd().split("\n").length, 100);
  await sink[Symbol.asyncDispose]();
});

Deno.test("createStreamSink() keeps lines in order across turns, flushes and batches from other isolates", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
  const sink = createStreamSink(stream, "json", { flushMs: 1 });
  const log = createLogger({ level: "info", sinks: [sink] });
  const turn = () => new Promise((r) => setImmediate(r));
  log.info("a");
  sink.appendFormatted('{"message":"b"}\n');
  log.info("c");
  await turn(); // encoded at the turn's end
  log.info("d");
  await new Promise((r) => setTimeout(r, 20)); // written by the timer
  log.info("e");
  sink.appendFormatted('{"message":"f"}\n{"message":"g"}\n');
  await sink[Symbol.asyncDispose](); // logged in this turn: still written
  const text = chunks.map((c) => new TextDecoder().decode(c)).join("");
  const messages = text.trimEnd().split("\n").map((l) => JSON.parse(l).message);
  assert.deepEqual(messages, ["a", "b", "c", "d", "e", "f", "g"]);
  assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
});

Deno.test("createStreamSink() drops past its buffer while the output is stuck, and says how many", async () => {
  let release!: () => void;
  const stuck = new Promise<void>((r) => release = r);
  const chunks: string[] = [];
  const stream = new WritableStream<Uint8Array>({
    async write(c) {
      chunks.push(new TextDecoder().decode(c));
      if (chunks.length === 1) await stuck;
    },
  });
  const sink = createStreamSink(stream, "json", { flushMs: 5, maxBufferedBytes: 2000 });
  const log = createLogger({ level: "info", sinks: [sink] });
  log.info("first");
  await new Promise((r) => setTimeout(r, 30)); // the first write is now stuck
  for (let i = 0; i < 500; i++) log.info("while stuck", { i });
  release();
  await sink[Symbol.asyncDispose]();
  const lines = chunks.join("").trimEnd().split("\n").map((l) => JSON.parse(l));
  const kept = lines.filter((l) => l.message === "while stuck").length;
  const notice = lines.find((l) => l.message.startsWith("log lines dropped"));
  assert.ok(kept > 0 && kept < 500, `kept ${kept}`);
  assert.equal(notice?.dropped, 500 - kept);
});

Deno.test("jsonLineFormatter(): the fast path for plain values writes exactly what the general path writes", () => {
  const general = (r: LogRecord) =>
    JSON.stringify({
      timestamp: new Date(r.timestamp).toISOString(),
      level: r.level,
      message: r.rawMessage,
      ...r.properties,
    }) + "\n";
  const cases: Record<string, unknown>[] = [
    {},
    { request_id: "r", latency_ms: 0.013, ok: true, none: null, skipped: undefined },
    { evil: 'a"\n\u2028b\\', 'key with "quotes"': 1, "": "" },
    { n: Number.NaN, inf: Infinity, neg: -0 },
  ];
  let t = Date.UTC(2026, 10, 24, 12, 0, 0, 1);
  for (const properties of cases) {
    for (const message of ["tool call", 'quote " and \n newline']) {
      const record: LogRecord = {
        category: ["x"],
        level: "info",
        message: [message],
        rawMessage: message,
        timestamp: t++,
        properties,
      };
      assert.equal(jsonLineFormatter(record), general(record));
    }
  }
  // A property named like a leading field overrides it, as the spread always did.
  const clash: LogRecord = {
    category: ["x"],
    level: "info",
    message: ["m"],
    rawMessage: "m",
    timestamp: t,
    properties: { level: "forged", message: "forged" },
  };
  assert.equal(jsonLineFormatter(clash), general(clash));
  assert.equal(JSON.parse(jsonLineFormatter(clash)).level, "forged");
});
