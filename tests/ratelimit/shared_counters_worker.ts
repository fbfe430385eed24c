/**
 * A Worker for shared_counters_test.ts: given the shared table, consumes
 * `times` points of one key as fast as it can, then reports how many of its
 * consumes were allowed.
 *
 * @module
 */
import { sharedMemoryLimiter } from "../../src/ratelimit/shared_counters.ts";
import { createLogger } from "../../src/observability/logger.ts";

const scope = self as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(m: unknown): void;
};
scope.onmessage = async (e: MessageEvent) => {
  const { buffer, gate, times, limit, at } = e.data as {
    buffer: SharedArrayBuffer;
    /** A start line: each worker adds 1, and all start once it reads 2. */
    gate: SharedArrayBuffer;
    times: number;
    limit: number;
    /** A fixed clock, so no window boundary falls within the run. */
    at: number;
  };
  const limiter = sharedMemoryLimiter(buffer, {
    prefix: "rl",
    windowSeconds: 60,
    now: () => at,
    failMode: "closed",
    log: createLogger({ level: "error", sinks: [] }),
  });
  const line = new Int32Array(gate);
  Atomics.add(line, 0, 1);
  Atomics.notify(line, 0);
  for (let v = Atomics.load(line, 0); v < 2; v = Atomics.load(line, 0)) {
    Atomics.wait(line, 0, v, 50);
  }
  let allowed = 0;
  let degraded = 0;
  for (let i = 0; i < times; i++) {
    const d = await limiter.consume("shared-key", 1, limit);
    if (d.allowed) allowed++;
    if (d.degraded) degraded++;
  }
  scope.postMessage({ allowed, degraded });
};
