import assert from "node:assert/strict";
import { createProgress, formatDuration } from "../../src/rag/progress.ts";

Deno.test("createProgress() redraws one bar in place on a terminal, with counts, rate and ETA", () => {
  let out = "";
  let t = 0;
  const progress = createProgress({
    write: (s) => out += s,
    isTerminal: true,
    now: () => t,
    barWidth: 10,
  });
  progress.start(200, "chunks");
  t = 2_000;
  progress.update(50);
  t = 4_000;
  progress.update(100);
  progress.finish("ingest: done");
  const frames = out.split("\r").filter(Boolean);
  assert.equal(frames.length, 3, JSON.stringify(out));
  assert.equal(frames[0], "░░░░░░░░░░ 0/200 chunks 0% · … chunks/s · ETA ?\x1b[K");
  assert.equal(frames[1], "███░░░░░░░ 50/200 chunks 25% · 25.0 chunks/s · ETA 6.0s\x1b[K");
  assert.equal(
    frames[2],
    "█████░░░░░ 100/200 chunks 50% · 25.0 chunks/s · ETA 4.0s\x1b[K\ningest: done\n",
  );
  assert.ok(!out.includes("\n\n"));
});

Deno.test("createProgress() writes plain lines at most every interval, and the last one", () => {
  let out = "";
  let t = 0;
  const progress = createProgress({
    write: (s) => out += s,
    isTerminal: false,
    now: () => t,
    lineIntervalSeconds: 5,
  });
  progress.start(1000, "chunks");
  for (let done = 10; done <= 1000; done += 10) {
    t += 200; // 50 chunks/s
    progress.update(done);
  }
  progress.finish("summary");
  const lines = out.trimEnd().split("\n");
  // 20 s in all: a line every 5 s (4), the last one at 100%, then the summary.
  assert.deepEqual(lines, [
    "ingest: 250/1000 chunks (25%), 50.0 chunks/s, ETA 15s",
    "ingest: 500/1000 chunks (50%), 50.0 chunks/s, ETA 10s",
    "ingest: 750/1000 chunks (75%), 50.0 chunks/s, ETA 5.0s",
    "ingest: 1000/1000 chunks (100%), 50.0 chunks/s, ETA 0.0s",
    "summary",
  ]);
  assert.ok(!out.includes("\r") && !out.includes("\x1b"), "no terminal codes in a log");
});

Deno.test("formatDuration() reads well from seconds to hours", () => {
  assert.equal(formatDuration(3.25), "3.3s");
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(125), "2m05s");
  assert.equal(formatDuration(3 * 3600 + 125), "3h02m");
  assert.equal(formatDuration(Infinity), "?");
});
