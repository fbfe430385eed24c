import assert from "node:assert/strict";
import type * as PromClient from "prom-client";
import CounterClass from "prom-client/lib/counter.js";
import HistogramClass from "prom-client/lib/histogram.js";
import RegistryClass from "prom-client/lib/registry.js";
import { aggregateMetrics } from "../../src/parallel/messages.ts";
import { SeriesHistogram, talliedCounter } from "../../src/observability/tallies.ts";

const Counter = CounterClass as typeof PromClient.Counter;
const Histogram = HistogramClass as typeof PromClient.Histogram;
const Registry = RegistryClass as typeof PromClient.Registry;

const BUCKETS = [0.001, 0.005, 0.01, 0.1, 1, 30];

/** The same observations into prom-client's own metrics and into ours, in one order. */
function twins() {
  const theirs = new Registry();
  const ours = new Registry();
  const plainCounter = new Counter({
    name: "calls_total",
    help: "Calls.",
    labelNames: ["tool_name", "status"],
    registers: [theirs],
  });
  const plainHistogram = new Histogram({
    name: "duration_seconds",
    help: "Duration.",
    labelNames: ["tool_name"],
    buckets: BUCKETS,
    registers: [theirs],
  });
  const tallied = talliedCounter<string, string>({
    name: "calls_total",
    help: "Calls.",
    labelNames: ["tool_name", "status"],
    registers: [ours],
  });
  const series = new SeriesHistogram({
    name: "duration_seconds",
    help: "Duration.",
    labelName: "tool_name",
    buckets: BUCKETS,
    registers: [ours],
  });
  return {
    theirs,
    ours,
    call(tool: string, status: string, seconds: number) {
      plainCounter.inc({ tool_name: tool, status });
      plainHistogram.observe({ tool_name: tool }, seconds);
      tallied.tally(tool, status).pending++;
      series.series(tool).observe(seconds);
    },
    /** A direct `inc` beside the tallies, as toolRateLimited-style callers could. */
    inc(tool: string, status: string) {
      plainCounter.inc({ tool_name: tool, status });
      tallied.counter.inc({ tool_name: tool, status });
    },
  };
}

Deno.test("tallied counter and series histogram scrape exactly as prom-client's own", async () => {
  const t = twins();
  // Values on every bucket bound, between them, past the last, and zero.
  const values = [0, 0.0005, 0.001, 0.0011, 0.005, 0.0099, 0.01, 0.1, 0.5, 1, 29.9, 30, 31, 1e6];
  let i = 0;
  for (const tool of ["noop", "get_top_customers", "echo"]) {
    for (const v of values) t.call(tool, i++ % 3 === 0 ? "error" : "success", v);
  }
  t.inc("noop", "rate_limited");
  t.call("noop", "rate_limited", 0.002);
  assert.equal(await t.ours.metrics(), await t.theirs.metrics());
  assert.deepEqual(await t.ours.getMetricsAsJSON(), await t.theirs.getMetricsAsJSON());

  // A second scrape after more calls: tallies hand over only what is new.
  for (const v of values) t.call("echo", "success", v * 2);
  assert.equal(await t.ours.metrics(), await t.theirs.metrics());
  assert.equal(await t.ours.metrics(), await t.theirs.metrics(), "a scrape changes nothing");
});

Deno.test("several isolates' tallies aggregate as prom-client's metrics do", async () => {
  // WORKERS > 1 sums every isolate's getMetricsAsJSON() (src/parallel/messages.ts).
  const a = twins();
  const b = twins();
  a.call("noop", "success", 0.0004);
  b.call("noop", "success", 0.02);
  b.call("echo", "error", 3);
  const theirs = await aggregateMetrics([
    await a.theirs.getMetricsAsJSON(),
    await b.theirs.getMetricsAsJSON(),
  ]);
  const ours = await aggregateMetrics([
    await a.ours.getMetricsAsJSON(),
    await b.ours.getMetricsAsJSON(),
  ]);
  assert.equal(ours, theirs);
  assert.match(ours, /duration_seconds_count\{tool_name="noop"\} 2/);
});

Deno.test("a series histogram resets with its registry and refuses a second name", async () => {
  const registry = new Registry();
  const h = new SeriesHistogram({
    name: "d_seconds",
    help: "D.",
    labelName: "x",
    buckets: [1],
    registers: [registry],
  });
  h.series("a").observe(0.5);
  assert.match(await registry.metrics(), /d_seconds_count\{x="a"\} 1/);
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /x="a"/);
  assert.throws(
    () =>
      new SeriesHistogram({
        name: "d_seconds",
        help: "D.",
        labelName: "x",
        buckets: [1],
        registers: [registry],
      }),
    /already been registered/,
  );
});
