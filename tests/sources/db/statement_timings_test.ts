import assert from "node:assert/strict";
import {
  FAST_STATEMENT_MS,
  MEASURE_EVERY,
  RUNS_TO_KNOW,
  StatementTimings,
} from "../../../src/sources/db/statement_timings.ts";

Deno.test("statement timings: known fast after enough measured runs under the bar", () => {
  const timings = new StatementTimings();
  for (let i = 0; i < RUNS_TO_KNOW; i++) {
    assert.equal(timings.knownFast("q"), false, `not known after ${i} runs`);
    assert.equal(timings.shouldMeasure("q"), true, "every run is measured until known");
    timings.record("q", 0.2);
  }
  assert.equal(timings.knownFast("q"), true);
  assert.equal(timings.knownFast("other"), false);
});

Deno.test("statement timings: once known, one run in MEASURE_EVERY is measured", () => {
  const timings = new StatementTimings();
  for (let i = 0; i < RUNS_TO_KNOW; i++) timings.record("q", 0.1);
  const measured = Array.from({ length: 4 * MEASURE_EVERY }, () => timings.shouldMeasure("q"))
    .filter(Boolean).length;
  assert.equal(measured, 4);
});

Deno.test("statement timings: one measured run over the bar stops it being fast; coming back is gradual", () => {
  const timings = new StatementTimings();
  for (let i = 0; i < RUNS_TO_KNOW; i++) timings.record("q", 0.1);
  timings.record("q", 20);
  assert.equal(timings.knownFast("q"), false);
  let runs = 0;
  while (!timings.knownFast("q") && runs < 100) {
    timings.record("q", 0.1);
    runs++;
  }
  // 20 ms decaying by an eighth a run: ~23 fast runs to fall under 1 ms.
  assert.ok(runs > 15 && runs < 40, `${runs} runs to be fast again`);
});

Deno.test("statement timings: a slow text never becomes fast; the table is bounded", () => {
  const timings = new StatementTimings();
  for (let i = 0; i < 100; i++) timings.record("slow", FAST_STATEMENT_MS * 1.5);
  assert.equal(timings.knownFast("slow"), false);
  for (let i = 0; i < RUNS_TO_KNOW; i++) timings.record("kept", 0.1);
  // Past 1,000 texts the table starts over: "kept" is forgotten, not kept for ever.
  for (let i = 0; i < 1000; i++) timings.record(`t${i}`, 0.1);
  assert.equal(timings.knownFast("kept"), false);
});
