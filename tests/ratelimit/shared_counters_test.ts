import assert from "node:assert/strict";
import { createSharedCounters, sharedMemoryLimiter } from "../../src/ratelimit/shared_counters.ts";
import { createLogger, createMemorySink } from "../../src/observability/logger.ts";

function limiter(
  buffer = createSharedCounters(),
  options: { failMode?: "open" | "closed"; now?: () => number; prefix?: string } = {},
) {
  const sink = createMemorySink();
  const log = createLogger({ level: "debug", sinks: [sink] });
  return {
    sink,
    limiter: sharedMemoryLimiter(buffer, {
      prefix: options.prefix ?? "rl",
      windowSeconds: 60,
      failMode: options.failMode ?? "open",
      log,
      now: options.now,
    }),
  };
}

/** A clock 10 s into a 60 s window. */
const WINDOW_START = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);

Deno.test("shared limiter: exactly the limit per window, then refusals with the time to the window's end", async () => {
  let t = WINDOW_START + 10_000;
  const { limiter: l } = limiter(undefined, { now: () => t });
  for (let i = 1; i <= 3; i++) {
    const d = await l.consume("key:a", 1, 3);
    assert.deepEqual(d, {
      allowed: true,
      limit: 3,
      remaining: 3 - i,
      resetAtMs: WINDOW_START + 60_000,
      retryAfterSeconds: 50,
    });
  }
  const refused = await l.consume("key:a", 1, 3);
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
  assert.equal(refused.retryAfterSeconds, 50);
  // Another key has its own budget.
  assert.equal((await l.consume("key:b", 1, 3)).remaining, 2);
  // The next window starts afresh.
  t = WINDOW_START + 60_000;
  const next = await l.consume("key:a", 1, 3);
  assert.equal(next.allowed, true);
  assert.equal(next.remaining, 2);
  assert.equal(next.resetAtMs, WINDOW_START + 120_000);
});

Deno.test("shared limiter: a cost spends several points; over-spending is refused", async () => {
  const { limiter: l } = limiter(undefined, { now: () => WINDOW_START });
  assert.equal((await l.consume("k", 4, 5)).remaining, 1);
  const d = await l.consume("k", 2, 5);
  assert.equal(d.allowed, false);
  assert.equal(d.remaining, 0);
});

Deno.test("shared limiter: refusal() reads without spending or claiming", async () => {
  const { limiter: l } = limiter(undefined, { now: () => WINDOW_START });
  assert.equal(await l.refusal("never-seen", 2), undefined);
  assert.equal(l.trackedKeys(), 0, "a read claims no slot");
  await l.consume("k", 1, 2);
  assert.equal(await l.refusal("k", 2), undefined);
  await l.consume("k", 1, 2);
  const r = await l.refusal("k", 2);
  assert.equal(r?.allowed, false);
  assert.equal(r?.remaining, 0);
  assert.equal(l.trackedKeys(), 1);
});

Deno.test("shared limiter: prefix and limit separate the counts of one key", async () => {
  const buffer = createSharedCounters();
  const a = limiter(buffer, { prefix: "rl", now: () => WINDOW_START }).limiter;
  const b = limiter(buffer, { prefix: "authfail", now: () => WINDOW_START }).limiter;
  await a.consume("127.0.0.1", 3, 3);
  assert.equal((await b.consume("127.0.0.1", 1, 3)).remaining, 2);
  assert.equal((await a.consume("127.0.0.1", 1, 10)).remaining, 9, "another limit, another count");
  assert.equal((await a.consume("127.0.0.1", 1, 3)).allowed, false);
});

Deno.test("shared limiter: two limiters on one buffer (two isolates' view) share one count", async () => {
  const buffer = createSharedCounters();
  const a = limiter(buffer, { now: () => WINDOW_START }).limiter;
  const b = limiter(buffer, { now: () => WINDOW_START }).limiter;
  await a.consume("k", 1, 2);
  await b.consume("k", 1, 2);
  assert.equal((await a.consume("k", 1, 2)).allowed, false);
  assert.equal((await b.consume("k", 1, 2)).allowed, false);
});

Deno.test("shared limiter: a table full of live keys answers by the fail mode, and frees up next window", async () => {
  let t = WINDOW_START;
  const buffer = createSharedCounters(32);
  for (const failMode of ["open", "closed"] as const) {
    t = WINDOW_START + (failMode === "open" ? 0 : 120_000);
    const { limiter: l, sink } = limiter(buffer, { failMode, now: () => t });
    for (let i = 0; i < 32; i++) assert.equal((await l.consume(`k${i}`, 1, 5)).allowed, true);
    assert.equal(l.trackedKeys(), 32);
    const d = await l.consume("one-too-many", 1, 5);
    assert.equal(d.degraded, true);
    assert.equal(d.allowed, failMode === "open");
    // refusal() (what the auth-failure limit asks first) follows the fail mode too.
    const r = await l.refusal("one-too-many", 5);
    if (failMode === "open") assert.equal(r, undefined);
    else assert.deepEqual([r?.allowed, r?.degraded], [false, true]);
    assert.ok(sink.records.some((r) => r.rawMessage === "rate-limit store unavailable"));
    // Keys already counted keep their counts.
    assert.equal((await l.consume("k0", 1, 5)).remaining, 3);
    t += 60_000;
    assert.equal((await l.consume("one-too-many", 1, 5)).degraded, undefined);
  }
});

Deno.test("shared limiter: a lock that is never released (a dead holder) degrades instead of hanging", async () => {
  const buffer = createSharedCounters(32);
  Atomics.store(new Int32Array(buffer), 0, 1); // every slot's lock word
  const words = new Int32Array(buffer);
  for (let at = 0; at < words.length; at += 8) words[at] = 1;
  const { limiter: l } = limiter(buffer, { failMode: "closed", now: () => WINDOW_START });
  const d = await l.consume("k", 1, 5);
  assert.equal(d.degraded, true);
  assert.equal(d.allowed, false);
});

Deno.test("shared limiter: two Workers consuming one key at once lose no count", async () => {
  const buffer = createSharedCounters();
  const gate = new SharedArrayBuffer(4);
  const times = 100_000;
  const limit = 150_000;
  const workers = [0, 1].map(() =>
    new Worker(new URL("./shared_counters_worker.ts", import.meta.url).href, { type: "module" })
  );
  try {
    const results = await Promise.all(
      workers.map((w) =>
        new Promise<{ allowed: number; degraded: number }>((resolve, reject) => {
          w.onmessage = (e) => resolve(e.data);
          w.onerror = (e) => reject(e.message);
          w.postMessage({ buffer, gate, times, limit, at: WINDOW_START });
        })
      ),
    );
    assert.deepEqual(results.map((r) => r.degraded), [0, 0]);
    // Exactly `limit` of the 200,000 were allowed, whoever got them.
    assert.equal(results[0].allowed + results[1].allowed, limit);
    // A zero-cost read sees the key spent, as any isolate would.
    const { limiter: l } = limiter(buffer, { now: () => WINDOW_START });
    const after = await l.consume("shared-key", 0, limit);
    assert.equal(after.allowed, false);
    assert.equal(after.remaining, 0);
  } finally {
    for (const w of workers) w.terminate();
  }
});
