import assert from "node:assert/strict";
import { startWorkers } from "../../src/parallel/pool.ts";
import { createSharedCounters } from "../../src/ratelimit/shared_counters.ts";

const entry = new URL("./fake_worker.ts", import.meta.url).href;

function options(mode: string, count = 2) {
  const logs: string[] = [];
  return {
    logs,
    options: {
      count,
      entry,
      init: {
        env: { MODE: mode },
        toolsEnv: {},
        rateLimitTable: createSharedCounters(32),
        authFailureTable: createSharedCounters(32),
      },
      onLog: (text: string) => logs.push(text),
      ownMetrics: () => Promise.resolve([]),
      startTimeoutMs: 10_000,
    },
  };
}

Deno.test("pool: starts every worker, relays their log lines and metrics, stops them", async () => {
  const { logs, options: o } = options("serve");
  const pool = await startWorkers(o);
  try {
    assert.deepEqual(await pool.metricsFrom(), [[{ name: "m", index: 1 }], [{
      name: "m",
      index: 1,
    }]]);
    for (let i = 0; i < 50 && logs.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(logs.sort(), ['{"message":"worker 1 up"}\n', '{"message":"worker 2 up"}\n']);
  } finally {
    await pool.shutdown(1_000);
  }
  // Shutting down twice waits for nothing more.
  await pool.shutdown(1_000);
});

Deno.test("pool: a worker that cannot listen fails the start", async () => {
  const { options: o } = options("refuse");
  await assert.rejects(startWorkers(o), /refused on purpose/);
});

Deno.test("pool: a worker that dies after the start is reported, so the process can stop", async () => {
  const { options: o } = options("crash", 1);
  const pool = await startWorkers(o);
  try {
    const reason = await Promise.race([
      pool.failed,
      new Promise<string>((r) => setTimeout(() => r("no failure reported"), 5_000)),
    ]);
    assert.match(reason, /worker 1: .*crashed on purpose/);
  } finally {
    await pool.shutdown(100);
  }
});
