import assert from "node:assert/strict";
import { Permits } from "../../../src/sources/db/permits.ts";
import { createDeadlineQueue } from "../../../src/timing/deadlines.ts";
import { DatabaseError } from "../../../src/sources/db/sql_source.ts";

Deno.test("permits: free ones are taken at once, then callers wait first come first served", async () => {
  const deadlines = createDeadlineQueue();
  try {
    const permits = new Permits(2, deadlines);
    assert.equal(permits.acquire(undefined, 1000), undefined);
    assert.equal(permits.acquire(undefined, 1000), undefined);
    const order: string[] = [];
    const a = permits.acquire(undefined, 1000)!.then(() => order.push("a"));
    const b = permits.acquire(undefined, 1000)!.then(() => order.push("b"));
    assert.equal(permits.waiting, 2);
    permits.release();
    await a;
    assert.deepEqual(order, ["a"]);
    assert.equal(permits.waiting, 1);
    permits.release();
    await b;
    assert.deepEqual(order, ["a", "b"]);
    // Both given back: free again, no waiting.
    permits.release();
    permits.release();
    assert.equal(permits.acquire(undefined, 1000), undefined);
  } finally {
    deadlines.close();
  }
});

Deno.test("permits: a caller who waits past its time hears busy, and its turn is skipped", async () => {
  const deadlines = createDeadlineQueue();
  try {
    const permits = new Permits(1, deadlines);
    assert.equal(permits.acquire(undefined, 1000), undefined);
    const started = performance.now();
    const late = permits.acquire(undefined, 50)!;
    const next = permits.acquire(undefined, 5000)!;
    await assert.rejects(late, (e) => e instanceof DatabaseError && e.kind === "busy");
    assert.ok(performance.now() - started >= 45);
    assert.equal(permits.waiting, 1);
    permits.release();
    await next; // the one still waiting gets it, not the one that left
    assert.equal(permits.waiting, 0);
  } finally {
    deadlines.close();
  }
});

Deno.test("permits: an aborted caller stops waiting with its signal's reason", async () => {
  const deadlines = createDeadlineQueue();
  try {
    const permits = new Permits(1, deadlines);
    assert.equal(permits.acquire(undefined, 1000), undefined);
    const controller = new AbortController();
    const waiting = permits.acquire(controller.signal, 5000)!;
    controller.abort(new Error("caller gone"));
    await assert.rejects(waiting, /caller gone/);
    assert.equal(permits.waiting, 0);
    // The permit was never handed to it: it goes back to the free count.
    permits.release();
    assert.equal(permits.acquire(undefined, 1000), undefined);
    // Already aborted: refused at once.
    assert.throws(() => permits.acquire(AbortSignal.abort(new Error("gone")), 10), /gone/);
  } finally {
    deadlines.close();
  }
});

Deno.test("permits: thousands of callers who left are skipped, and the permit stays free", async () => {
  const deadlines = createDeadlineQueue();
  try {
    const permits = new Permits(1, deadlines);
    assert.equal(permits.acquire(undefined, 1000), undefined);
    for (let i = 0; i < 3000; i++) {
      const controller = new AbortController();
      const p = permits.acquire(controller.signal, 60_000)!;
      controller.abort(new Error("left"));
      await p.catch(() => {});
      // Each release hands the permit over or frees it; re-take it each time.
      permits.release();
      assert.equal(permits.acquire(undefined, 1000), undefined);
    }
    assert.equal(permits.waiting, 0);
  } finally {
    deadlines.close();
  }
});
