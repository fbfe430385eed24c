import assert from "node:assert/strict";
import { createDeadlineQueue } from "../../src/timing/deadlines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("deadlines fire at their time, not before, each once", async () => {
  const queue = createDeadlineQueue();
  try {
    const fired: [string, number][] = [];
    const start = performance.now();
    queue.add(40, () => fired.push(["a", performance.now() - start]));
    queue.add(40, () => fired.push(["b", performance.now() - start]));
    await sleep(20);
    assert.equal(fired.length, 0);
    await sleep(60);
    assert.deepEqual(fired.map(([name]) => name), ["a", "b"]);
    for (const [, at] of fired) assert.ok(at >= 39, `fired at ${at} ms`);
    await sleep(50);
    assert.equal(fired.length, 2, "never again");
  } finally {
    queue.close();
  }
});

Deno.test("a cancelled deadline never fires; the others still do", async () => {
  const queue = createDeadlineQueue();
  try {
    const fired: string[] = [];
    const a = queue.add(30, () => fired.push("a"));
    queue.add(30, () => fired.push("b"));
    const c = queue.add(30, () => fired.push("c"));
    queue.cancel(a);
    queue.cancel(c);
    queue.cancel(c); // twice is harmless
    await sleep(70);
    assert.deepEqual(fired, ["b"]);
    queue.cancel(a); // after it would have fired: harmless too
  } finally {
    queue.close();
  }
});

Deno.test("a shorter timeout added after a longer one fires first (the timer re-arms earlier)", async () => {
  const queue = createDeadlineQueue();
  try {
    const fired: string[] = [];
    queue.add(200, () => fired.push("long"));
    queue.add(20, () => fired.push("short"));
    await sleep(80);
    assert.deepEqual(fired, ["short"]);
    await sleep(200);
    assert.deepEqual(fired, ["short", "long"]);
  } finally {
    queue.close();
  }
});

Deno.test("when the calls it was armed for ended, a later deadline still fires on time", async () => {
  const queue = createDeadlineQueue();
  try {
    const fired: string[] = [];
    // Many calls that finish at once leave the timer armed for the first of them.
    for (let i = 0; i < 100; i++) queue.cancel(queue.add(30, () => fired.push("finished")));
    await sleep(15);
    queue.add(30, () => fired.push("late"));
    await sleep(25);
    assert.deepEqual(fired, [], "the early wake-up finds nothing due");
    await sleep(40);
    assert.deepEqual(fired, ["late"]);
  } finally {
    queue.close();
  }
});

Deno.test("a callback may add and cancel deadlines; close() stops everything", async () => {
  const queue = createDeadlineQueue();
  const fired: string[] = [];
  const victim = queue.add(60, () => fired.push("victim"));
  queue.add(10, () => {
    fired.push("first");
    queue.cancel(victim);
    queue.add(10, () => fired.push("chained"));
  });
  await sleep(50);
  assert.deepEqual(fired, ["first", "chained"]);
  queue.add(10, () => fired.push("after close"));
  queue.close();
  await sleep(40);
  assert.deepEqual(fired, ["first", "chained"]);
});

Deno.test("many distinct timeouts (a database wait's leftover time), all cancelled but one: only that one fires", async () => {
  const queue = createDeadlineQueue();
  try {
    const fired: number[] = [];
    const pending = [];
    for (let i = 0; i < 2000; i++) {
      const ms = 20 + i * 0.37; // fractional and all different
      pending.push(queue.add(ms, () => fired.push(ms)));
    }
    for (const d of pending.slice(1)) queue.cancel(d);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(fired, [20]);
    // The queue keeps working after its lists emptied out.
    const later = new Promise<void>((resolve) => queue.add(5.5, resolve));
    await later;
  } finally {
    queue.close();
  }
});
