import assert from "node:assert/strict";
import { exposedGc, releaseMemoryWhenIdle } from "../../src/runtime/idle_memory.ts";
import { runDeno } from "../process.ts";

const MB = 1024 * 1024;
const tick = (ms = 60) => new Promise((r) => setTimeout(r, ms));

/** A fake heap and request count the test moves; `collect` shrinks the heap. */
function fake() {
  const state = { committed: 40 * MB, requests: 0, loading: false, collections: 0 };
  return {
    state,
    options: {
      intervalMs: 20,
      // Under load every look finds more requests served.
      activity: () => state.loading ? ++state.requests : state.requests,
      readHeap: () => state.committed,
      collect: () => {
        state.collections++;
        state.committed = 30 * MB;
      },
    },
  };
}

Deno.test("without --expose-gc nothing is watched", () => {
  // deno test runs without the flag.
  assert.equal(exposedGc(), undefined);
  assert.equal(releaseMemoryWhenIdle({ activity: () => 0 }), undefined);
});

Deno.test("a heap that grew is released once, when the load is over", async () => {
  const { state, options } = fake();
  const released: [number, number][] = [];
  const watch = releaseMemoryWhenIdle({ ...options, onRelease: (b, a) => released.push([b, a]) })!;
  try {
    await tick();
    assert.equal(state.collections, 0, "no growth: nothing to do");
    // A load: the heap grows while requests come in.
    state.committed = 80 * MB;
    state.loading = true;
    await tick(120);
    assert.equal(state.collections, 0, "never during the load");
    // The load ends.
    state.loading = false;
    await tick(100);
    assert.equal(state.collections, 1);
    assert.deepEqual(released, [[80 * MB, 30 * MB]]);
    assert.equal(watch.releases, 1);
    // Idle afterwards, with a health probe now and then: no second collection.
    for (let i = 0; i < 4; i++) {
      state.requests++;
      await tick(25);
    }
    assert.equal(state.collections, 1);
  } finally {
    watch.stop();
  }
});

Deno.test("growth below the threshold, or a heap that shrank by itself, is left alone", async () => {
  const { state, options } = fake();
  const watch = releaseMemoryWhenIdle(options)!;
  try {
    state.committed = 40 * MB + 15 * MB;
    await tick(80);
    assert.equal(state.collections, 0, "15 MB is under the 16 MB threshold");
    // V8 shrank the heap itself; growing 16 MB from there is worth a release.
    state.committed = 35 * MB;
    await tick(50);
    state.committed = 35 * MB + 17 * MB;
    await tick(80);
    assert.equal(state.collections, 1);
  } finally {
    watch.stop();
  }
});

Deno.test("with --expose-gc, a real heap grown by garbage is given back after the load", async () => {
  const script = `
    import { releaseMemoryWhenIdle } from ${
    JSON.stringify(new URL("../../src/runtime/idle_memory.ts", import.meta.url).href)
  };
    import { getHeapStatistics } from "node:v8";
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))[1]) * 1024;
    const releases = [];
    let requests = 0;
    const watch = releaseMemoryWhenIdle({ intervalMs: 250, activity: () => requests, onRelease: (b, a) => releases.push([b, a]) });
    const live = []; for (let i = 0; i < 100000; i++) live.push({ i, s: "live" + i });
    let keep = [];
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      requests++;
      for (let i = 0; i < 2000; i++) { keep.push({ i, s: "x" + i, a: new Array(8).fill(i) }); if (keep.length > 30000) keep = []; }
      await new Promise((r) => setTimeout(r, 0));
    }
    keep = [];
    const peak = { heap: getHeapStatistics().total_heap_size, rss: rss() };
    await new Promise((r) => setTimeout(r, 1500));
    watch?.stop();
    console.log(JSON.stringify({ releases, peak, after: { heap: getHeapStatistics().total_heap_size, rss: rss() }, live: live.length }));
  `;
  const flags = "--v8-flags=--max-semi-space-size=16,--heap-growing-percent=100,--expose-gc";
  const run = await runDeno(["eval", flags, script]);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.equal(out.releases.length, 1, run.stdout);
  assert.ok(out.after.heap < out.peak.heap - 16 * MB, run.stdout);
  assert.ok(out.after.rss < out.peak.rss - 16 * MB, run.stdout);
  // Without the flag the same script releases nothing (no gc to call).
  const plain = await runDeno(["eval", "--v8-flags=--max-semi-space-size=16", script]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout).releases, []);
});
