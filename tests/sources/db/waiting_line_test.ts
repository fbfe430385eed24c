import assert from "node:assert/strict";
import { WaitingLine } from "../../../src/sources/db/waiting_line.ts";
import { createDeadlineQueue } from "../../../src/timing/deadlines.ts";
import { DatabaseError } from "../../../src/sources/db/sql_source.ts";

Deno.test("waiting line: first come, first served; the front tells what it asked for", async () => {
  const deadlines = createDeadlineQueue();
  try {
    const line = new WaitingLine<string, number>(deadlines, () => {});
    assert.equal(line.first(), undefined);
    const a = line.wait("a", undefined, 1000);
    const b = line.wait("b", undefined, 1000);
    assert.equal(line.waiting, 2);
    assert.equal(line.first(), "a");
    line.grant(1);
    assert.equal(await a, 1);
    assert.equal(line.first(), "b");
    line.grant(2);
    assert.equal(await b, 2);
    assert.equal(line.waiting, 0);
    assert.equal(line.first(), undefined);
  } finally {
    deadlines.close();
  }
});

Deno.test("waiting line: a caller past its time hears busy, leaves, and the line is told", async () => {
  const deadlines = createDeadlineQueue();
  try {
    let left = 0;
    const line = new WaitingLine<string, number>(deadlines, () => left++);
    const started = performance.now();
    const late = line.wait("late", undefined, 50);
    const next = line.wait("next", undefined, 5000);
    await assert.rejects(late, (e) => e instanceof DatabaseError && e.kind === "busy");
    assert.ok(performance.now() - started >= 45);
    assert.equal(left, 1);
    assert.equal(line.waiting, 1);
    // The one still waiting is at the front now, not the one that left.
    assert.equal(line.first(), "next");
    line.grant(7);
    assert.equal(await next, 7);
  } finally {
    deadlines.close();
  }
});

Deno.test("waiting line: an aborted caller leaves with its signal's reason", async () => {
  const deadlines = createDeadlineQueue();
  try {
    let left = 0;
    const line = new WaitingLine<string, number>(deadlines, () => left++);
    const controller = new AbortController();
    const waiting = line.wait("a", controller.signal, 5000);
    controller.abort(new Error("caller gone"));
    await assert.rejects(waiting, /caller gone/);
    assert.equal(line.waiting, 0);
    assert.equal(left, 1);
    assert.equal(line.first(), undefined);
    // Already aborted: refused at once, never queued.
    assert.throws(() => line.wait("b", AbortSignal.abort(new Error("gone")), 10), /gone/);
    assert.equal(line.waiting, 0);
  } finally {
    deadlines.close();
  }
});

Deno.test("waiting line: thousands who left are skipped and do not pile up", async () => {
  const deadlines = createDeadlineQueue();
  try {
    const line = new WaitingLine<number, number>(deadlines, () => {});
    const stays = line.wait(-1, undefined, 60_000);
    for (let i = 0; i < 3000; i++) {
      const controller = new AbortController();
      const p = line.wait(i, controller.signal, 60_000);
      controller.abort(new Error("left"));
      await p.catch(() => {});
    }
    assert.equal(line.waiting, 1);
    assert.equal(line.first(), -1);
    line.grant(1);
    assert.equal(await stays, 1);
    const last = line.wait(99, undefined, 60_000);
    assert.equal(line.first(), 99);
    line.grant(2);
    assert.equal(await last, 2);
    assert.equal(line.waiting, 0);
  } finally {
    deadlines.close();
  }
});
