import assert from "node:assert/strict";
import type { IRetryBackoffContext } from "cockatiel";
import { JitterBackoff, parseRetryAfter } from "../../../src/sources/http/backoff.ts";

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);

Deno.test("parseRetryAfter() reads delay-seconds and IMF dates", () => {
  assert.equal(parseRetryAfter("0", NOW), 0);
  assert.equal(parseRetryAfter(" 7 ", NOW), 7000);
  assert.equal(parseRetryAfter("Tue, 24 Nov 2026 12:00:30 GMT", NOW), 30_000);
  assert.equal(parseRetryAfter("Tue, 24 Nov 2026 11:00:00 GMT", NOW), 0, "a past date means now");
});

Deno.test("parseRetryAfter() caps absurd waits at a day", () => {
  assert.equal(parseRetryAfter("9999999999", NOW), 86_400_000);
  assert.equal(parseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", NOW), 86_400_000);
});

for (
  const value of [
    null,
    undefined,
    "",
    "-1",
    "1.5",
    "soon",
    "1e3",
    "0x10",
    "Tuesday",
    "2026-11-24T12:00:30Z",
    "12345678901",
  ]
) {
  Deno.test(`parseRetryAfter() ignores ${JSON.stringify(value)}`, () => {
    assert.equal(parseRetryAfter(value, NOW), undefined);
  });
}

function context(attempt: number, error: unknown = new Error("x")): IRetryBackoffContext<unknown> {
  return { attempt, signal: new AbortController().signal, result: { error } as never };
}

Deno.test("JitterBackoff grows by the factor up to the cap, and never waits past the deadline", () => {
  const backoff = new JitterBackoff({
    initialMs: 100,
    factor: 3,
    maxMs: 1000,
    deadlineAt: performance.now() + 60_000,
    random: () => 1,
  });
  assert.deepEqual([1, 2, 3, 4].map((n) => Math.round(backoff.next(context(n)).duration)), [
    100,
    300,
    900,
    1000,
  ]);

  const late = new JitterBackoff({
    initialMs: 10_000,
    factor: 2,
    maxMs: 60_000,
    deadlineAt: performance.now() + 200,
    random: () => 1,
  });
  assert.ok(late.next(context(1)).duration <= 200);
});

Deno.test("JitterBackoff draws uniformly below the ceiling (full jitter)", () => {
  const backoff = new JitterBackoff({
    initialMs: 100,
    factor: 2,
    maxMs: 1000,
    deadlineAt: performance.now() + 60_000,
    random: () => 0.25,
  });
  assert.equal(backoff.next(context(2)).duration, 50);
});

Deno.test("JitterBackoff takes the upstream's Retry-After over its own guess", () => {
  const backoff = new JitterBackoff({
    initialMs: 100,
    factor: 2,
    maxMs: 1000,
    deadlineAt: performance.now() + 60_000,
  });
  assert.equal(backoff.next(context(1, { retryAfterMs: 2500 })).duration, 2500);
});
