import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/env.ts";
import { configForIsolate, poolShare } from "../../src/parallel/pool_share.ts";

Deno.test("poolShare() splits a budget into parts as even as can be that add up to it", () => {
  for (let isolates = 1; isolates <= 8; isolates++) {
    for (let total = isolates; total <= 40; total++) {
      const parts = Array.from({ length: isolates }, (_, i) => poolShare(total, isolates, i));
      assert.equal(parts.reduce((a, b) => a + b, 0), total, `${total} over ${isolates}`);
      assert.ok(Math.max(...parts) - Math.min(...parts) <= 1, `${parts}`);
    }
  }
  assert.deepEqual([0, 1, 2].map((i) => poolShare(10, 3, i)), [4, 3, 3]);
});

Deno.test("poolShare() never goes below its minimum: every isolate needs a connection", () => {
  assert.deepEqual([0, 1, 2, 3].map((i) => poolShare(2, 4, i)), [1, 1, 1, 1]);
  assert.deepEqual([0, 1, 2, 3].map((i) => poolShare(2, 4, i, 0)), [1, 1, 0, 0]);
});

Deno.test("configForIsolate() gives each isolate its part of the pool and overflow", () => {
  const env = { DB_URL: "postgres://x@127.0.0.1/db", PORT: "8000", WORKERS: "2" };
  const config = parseConfig({ ...env, DB_POOL_SIZE: "9", DB_POOL_MAX_OVERFLOW: "1" });
  const [first, second] = [0, 1].map((i) => configForIsolate(config, i));
  assert.deepEqual([first.db.poolSize, first.db.poolMaxOverflow, first.isolate], [5, 1, 0]);
  assert.deepEqual([second.db.poolSize, second.db.poolMaxOverflow, second.isolate], [4, 0, 1]);
  // Everything else is the same config, still frozen.
  assert.equal(second.db.url, config.db.url);
  assert.equal(second.port, config.port);
  assert.ok(Object.isFrozen(second) && Object.isFrozen(second.db));
  // One isolate: the config as parsed.
  const single = parseConfig({ DB_POOL_SIZE: "9" });
  assert.equal(configForIsolate(single, 0), single);
});
