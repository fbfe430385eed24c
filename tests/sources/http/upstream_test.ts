import assert from "node:assert/strict";
import { createLogger, createMemorySink } from "../../../src/observability/logger.ts";
import { apiPath } from "../../../src/sources/http/path.ts";
import {
  createUpstream,
  type UpstreamCall,
  UpstreamError,
  type UpstreamOptions,
} from "../../../src/sources/http/upstream.ts";
import {
  endlessCompressed,
  peakRssGrowth,
  rawUpstream,
  refusedPort,
  scriptedUpstream,
  sleep,
  truncatingUpstream,
  whitespaceBomb,
} from "./upstream_fixture.ts";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function client(baseUrl: string, overrides: Partial<UpstreamOptions> = {}) {
  const sink = createMemorySink();
  const events: string[] = [];
  const upstream = createUpstream({
    name: "api",
    baseUrl,
    attemptTimeoutMs: 1000,
    maxRetries: 2,
    // Pinned jitter: every wait is its upper bound, so gaps can be measured.
    backoff: { initialMs: 20, factor: 2, maxMs: 1000, random: () => 1 },
    maxConnections: 10,
    circuitFailures: 100,
    // One caller's failures open the circuit for all, as before callers were
    // told apart; the tests of telling them apart set 2.
    circuitMinCallers: 1,
    circuitCooldownMs: 1000,
    maxResponseBytes: 1024 * 1024,
    log: createLogger({ level: "debug", sinks: [sink] }),
    observe: {
      attempt: (_u, outcome) => events.push(`attempt:${outcome}`),
      circuit: (_u, state) => events.push(`circuit:${state}`),
    },
    ...overrides,
  });
  return { upstream, records: sink.records, events };
}

function call(ms = 5000, extra: Partial<UpstreamCall> = {}): UpstreamCall & { cancel(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("deadline")), ms);
  return {
    signal: controller.signal,
    deadlineAt: performance.now() + ms,
    requestId: "req-1",
    ...extra,
    cancel: () => clearTimeout(timer),
  };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

Deno.test("upstream: a 200 JSON body is returned, with request id, trace and auth passed on", async () => {
  const server = scriptedUpstream(() => Response.json({ id: 7, name: "Ada" }));
  const { upstream, events } = client(server.url, {
    auth: { header: "X-Api-Key", value: "upstream-secret" },
  });
  const c = call(5000, { traceparent: TRACEPARENT });
  try {
    assert.deepEqual(await upstream.getJson(apiPath`/customers/${7}`, c), { id: 7, name: "Ada" });
    const [hit] = server.hits;
    assert.equal(server.hits.length, 1);
    assert.equal(hit.method, "GET");
    assert.equal(hit.path, "/customers/7");
    assert.equal(hit.headers.get("x-request-id"), "req-1");
    assert.equal(hit.headers.get("traceparent"), TRACEPARENT);
    assert.equal(hit.headers.get("x-api-key"), "upstream-secret");
    assert.equal(hit.headers.get("accept"), "application/json");
    assert.deepEqual(events, ["circuit:closed", "attempt:success"]);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: a malformed traceparent is not passed on", async () => {
  const server = scriptedUpstream(() => Response.json({}));
  const { upstream } = client(server.url);
  const c = call(5000, { traceparent: "00-zz\r\nX-Evil: 1" });
  try {
    await upstream.getJson(apiPath`/x`, c);
    assert.equal(server.hits[0].headers.get("traceparent"), null);
    assert.equal(server.hits[0].headers.get("x-evil"), null);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: slower than the attempt timeout → timeout after every attempt", async () => {
  const server = scriptedUpstream(async (req) => {
    await sleep(3000, req.signal);
    return Response.json({});
  });
  const { upstream } = client(server.url, { attemptTimeoutMs: 150, maxRetries: 1 });
  const c = call();
  const started = performance.now();
  try {
    const error = await failure(upstream.getJson(apiPath`/slow`, c));
    const elapsed = performance.now() - started;
    assert.equal(error.kind, "timeout");
    assert.equal(server.hits.length, 2);
    // Two 150 ms attempts and one 20 ms wait, nowhere near the server's 3 s.
    assert.ok(elapsed >= 300 && elapsed < 1500, `took ${elapsed} ms`);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: 503 twice then 200 succeeds on the third attempt", async () => {
  const server = scriptedUpstream((_req, n) =>
    n < 2 ? new Response("busy", { status: 503 }) : Response.json({ ok: true })
  );
  const { upstream, records, events } = client(server.url);
  const c = call();
  try {
    assert.deepEqual(await upstream.getJson(apiPath`/flaky`, c), { ok: true });
    assert.equal(server.hits.length, 3);
    assert.deepEqual(events.filter((e) => e.startsWith("attempt")), [
      "attempt:503",
      "attempt:503",
      "attempt:success",
    ]);
    assert.equal(records.filter((r) => r.rawMessage.includes("retrying")).length, 0); // no call log given
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: always 500 gives up after exactly 1 + API_MAX_RETRIES attempts, backing off exponentially", async () => {
  const server = scriptedUpstream(() => new Response("boom", { status: 500 }));
  const { upstream } = client(server.url, {
    maxRetries: 3,
    backoff: { initialMs: 60, factor: 2, maxMs: 10_000, random: () => 1 },
  });
  const c = call();
  try {
    const error = await failure(upstream.getJson(apiPath`/down`, c));
    assert.equal(error.kind, "unavailable");
    assert.equal(error.details.status, 500);
    assert.equal(server.hits.length, 4);
    const gaps = server.hits.slice(1).map((h, i) => h.at - server.hits[i].at);
    [60, 120, 240].forEach((expected, i) => {
      assert.ok(
        gaps[i] >= expected - 5 && gaps[i] < expected + 100,
        `gap ${i + 1} was ${gaps[i].toFixed(1)} ms, expected about ${expected} ms (${gaps})`,
      );
    });
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: full jitter keeps every wait within [0, initial × factor^(n−1)]", async () => {
  const server = scriptedUpstream(() => new Response("boom", { status: 502 }));
  const { upstream } = client(server.url, {
    maxRetries: 4,
    backoff: { initialMs: 40, factor: 2, maxMs: 100, random: Math.random },
  });
  const c = call();
  try {
    await failure(upstream.getJson(apiPath`/down`, c));
    const gaps = server.hits.slice(1).map((h, i) => h.at - server.hits[i].at);
    // Ceilings 40, 80, then capped at 100.
    [40, 80, 100, 100].forEach((ceiling, i) => {
      assert.ok(gaps[i] < ceiling + 100, `gap ${i + 1} was ${gaps[i]} ms, ceiling ${ceiling} ms`);
    });
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: 429 with Retry-After: 1 waits a second, then succeeds", async () => {
  const server = scriptedUpstream((_req, n) =>
    n === 0
      ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
      : Response.json({ ok: true })
  );
  const { upstream } = client(server.url);
  const c = call();
  try {
    assert.deepEqual(await upstream.getJson(apiPath`/limited`, c), { ok: true });
    const gap = server.hits[1].at - server.hits[0].at;
    assert.ok(gap >= 990 && gap < 1500, `waited ${gap} ms`);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: a Retry-After past the deadline fails at once, passing the wait on", async () => {
  const server = scriptedUpstream(() =>
    new Response("slow down", { status: 429, headers: { "retry-after": "120" } })
  );
  const { upstream } = client(server.url);
  const c = call(2000);
  const started = performance.now();
  try {
    const error = await failure(upstream.getJson(apiPath`/limited`, c));
    assert.equal(error.kind, "rate_limited");
    assert.equal(error.retryAfterMs, 120_000);
    assert.equal(server.hits.length, 1);
    assert.ok(performance.now() - started < 500);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: a Retry-After HTTP date is honoured", async () => {
  const server = scriptedUpstream((_req, n) =>
    n === 0
      ? new Response("later", {
        status: 503,
        headers: { "retry-after": new Date(Date.now() + 1500).toUTCString() },
      })
      : Response.json({ ok: 1 })
  );
  const { upstream } = client(server.url);
  const c = call();
  try {
    await upstream.getJson(apiPath`/later`, c);
    const gap = server.hits[1].at - server.hits[0].at;
    // HTTP dates have whole seconds, so the wait is 0.5–1.5 s.
    assert.ok(gap >= 450 && gap < 2000, `waited ${gap} ms`);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

for (const [status, kind] of [[404, "not_found"], [400, "rejected"], [401, "rejected"]] as const) {
  Deno.test(`upstream: ${status} is ${kind} and never retried`, async () => {
    const server = scriptedUpstream(() => Response.json({ error: "no" }, { status }));
    const { upstream } = client(server.url);
    const c = call();
    try {
      const error = await failure(upstream.getJson(apiPath`/x`, c));
      assert.equal(error.kind, kind);
      assert.equal(error.details.status, status);
      assert.equal(server.hits.length, 1);
    } finally {
      c.cancel();
      upstream.close();
      await server.close();
    }
  });
}

Deno.test("upstream: a redirect is not followed (it could carry our auth elsewhere)", async () => {
  const elsewhere = scriptedUpstream(() => Response.json({ stolen: true }));
  const server = scriptedUpstream(() =>
    new Response(null, { status: 302, headers: { location: `${elsewhere.url}/steal` } })
  );
  const { upstream } = client(server.url, { auth: { header: "X-Api-Key", value: "secret" } });
  const c = call();
  try {
    const error = await failure(upstream.getJson(apiPath`/x`, c));
    assert.equal(error.kind, "rejected");
    assert.equal(elsewhere.hits.length, 0);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
    await elsewhere.close();
  }
});

for (
  const [label, body] of [
    ["malformed JSON", '{"id": 1,'],
    ["HTML", "<html>oops</html>"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ["empty", ""],
  ] as const
) {
  Deno.test(`upstream: a ${label} body is bad_response, not a crash, and not retried`, async () => {
    const server = scriptedUpstream(() =>
      new Response(body, { headers: { "content-type": "application/json" } })
    );
    const { upstream } = client(server.url);
    const c = call();
    try {
      const error = await failure(upstream.getJson(apiPath`/x`, c));
      assert.equal(error.kind, "bad_response");
      assert.equal(server.hits.length, 1);
    } finally {
      c.cancel();
      upstream.close();
      await server.close();
    }
  });
}

Deno.test("upstream: a 50 MB streamed body is cut at the cap without reading it all", async () => {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const server = scriptedUpstream(() =>
    new Response(
      new ReadableStream({
        pull(controller) {
          if (sent >= 50 * 1024 * 1024) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
      { headers: { "content-type": "application/json" } },
    )
  );
  const { upstream } = client(server.url, { maxResponseBytes: 1024 * 1024 });
  const c = call();
  try {
    const error = await failure(upstream.getJson(apiPath`/huge`, c));
    assert.equal(error.kind, "bad_response");
    assert.match(error.message, /exceeds the cap/);
    assert.equal(server.hits.length, 1);
    await sleep(100);
    assert.ok(sent < 10 * 1024 * 1024, `the server got to send ${sent} bytes`);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

const MiB = 1024 * 1024;

// A compressed body declares its compressed size: fetch inflates gzip and
// brotli as it streams, so only counting the decoded bytes keeps the cap.
for (const format of ["gzip", "brotli"] as const) {
  Deno.test(`upstream: a ${format} bomb under the cap by Content-Length is cut at the cap once decoded`, async () => {
    const compressed = await new Response(whitespaceBomb(format, 256 * MiB).stream).bytes();
    assert.ok(compressed.byteLength < MiB, `${compressed.byteLength} compressed bytes`);
    const server = rawUpstream(
      "HTTP/1.1 200 OK\ncontent-type: application/json\n" +
        `content-encoding: ${format === "brotli" ? "br" : format}\n` +
        `content-length: ${compressed.byteLength}\n`,
      () => compressed,
    );
    const { upstream } = client(server.url, { maxResponseBytes: MiB, maxRetries: 0 });
    const c = call();
    try {
      const { result: error, bytes } = await peakRssGrowth(() =>
        failure(upstream.getJson(apiPath`/bomb`, c))
      );
      assert.equal(error.kind, "bad_response");
      assert.match(error.message, /exceeds the cap of 1048576 bytes \(decoded\)/);
      assert.ok(bytes < 64 * MiB, `RSS grew ${(bytes / MiB).toFixed(1)} MiB`);
    } finally {
      c.cancel();
      upstream.close();
      server.close();
    }
  });
}

for (const format of ["gzip", "brotli", "deflate"] as const) {
  Deno.test(`upstream: a never-ending ${format} body is cut at the cap and the sender cancelled`, async () => {
    const endless = await endlessCompressed(format);
    const server = scriptedUpstream(() =>
      new Response(endless.stream(), {
        headers: {
          "content-type": "application/json",
          "content-encoding": format === "brotli" ? "br" : format,
        },
      })
    );
    const { upstream } = client(server.url, { maxResponseBytes: MiB, maxRetries: 0 });
    const c = call();
    try {
      const { result: error, bytes } = await peakRssGrowth(() =>
        failure(upstream.getJson(apiPath`/forever`, c))
      );
      assert.equal(error.kind, "bad_response");
      // fetch does not inflate deflate: its compressed bytes are what is read,
      // and capped (1 KB a decoded megabyte, so ~1000 of them).
      assert.match(error.message, /exceeds the cap of 1048576 bytes/);
      assert.ok(bytes < 64 * MiB, `RSS grew ${(bytes / MiB).toFixed(1)} MiB`);
      for (let i = 0; i < 50 && !endless.cancelled(); i++) await sleep(20);
      assert.ok(endless.cancelled(), "the upstream's stream was cancelled");
      const sent = endless.sent();
      await sleep(100);
      assert.equal(endless.sent(), sent, "nothing more is sent once cancelled");
    } finally {
      c.cancel();
      upstream.close();
      await server.close();
    }
  });
}

Deno.test("upstream: a Content-Length shorter than what is sent frames the body; the rest is never read", async () => {
  const json = new TextEncoder().encode('{"ok":true}');
  const body = new Uint8Array(64 * MiB).fill(0x20);
  body.set(json);
  const server = rawUpstream(
    `HTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: ${json.byteLength}\n`,
    () => body,
  );
  const { upstream } = client(server.url, { maxResponseBytes: MiB });
  const c = call();
  try {
    const { result, bytes } = await peakRssGrowth(() => upstream.getJson(apiPath`/liar`, c));
    assert.deepEqual(result, { ok: true });
    assert.ok(bytes < 32 * MiB, `RSS grew ${(bytes / MiB).toFixed(1)} MiB`);
  } finally {
    c.cancel();
    upstream.close();
    server.close();
  }
});

Deno.test("upstream: a declared Content-Length over the cap is refused before reading", async () => {
  const server = scriptedUpstream(() =>
    new Response("x".repeat(4096), { headers: { "content-type": "application/json" } })
  );
  const { upstream } = client(server.url, { maxResponseBytes: 1024 });
  const c = call();
  try {
    const error = await failure(upstream.getJson(apiPath`/big`, c));
    assert.equal(error.kind, "bad_response");
    assert.match(error.message, /4096 bytes/);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: connection refused is a network failure after every attempt", async () => {
  const { upstream, events } = client(`http://127.0.0.1:${refusedPort()}`, { maxRetries: 2 });
  const c = call();
  try {
    const error = await failure(upstream.getJson(apiPath`/x`, c));
    assert.equal(error.kind, "network");
    assert.equal(events.filter((e) => e === "attempt:network").length, 3);
  } finally {
    c.cancel();
    upstream.close();
  }
});

Deno.test("upstream: a connection reset mid-body is a network failure, retried", async () => {
  const server = truncatingUpstream();
  const { upstream } = client(server.url, { maxRetries: 1 });
  const c = call();
  try {
    const error = await failure(upstream.getJson(apiPath`/x`, c));
    assert.equal(error.kind, "network");
    assert.equal(server.connections(), 2);
  } finally {
    c.cancel();
    upstream.close();
    server.close();
  }
});

Deno.test("upstream: the circuit opens after N failed calls, fails fast, then a probe closes it", async () => {
  let healthy = false;
  const server = scriptedUpstream(() =>
    healthy ? Response.json({ ok: true }) : new Response("down", { status: 503 })
  );
  const { upstream, records, events } = client(server.url, {
    maxRetries: 0,
    circuitFailures: 3,
    circuitCooldownMs: 300,
  });
  try {
    for (let i = 0; i < 3; i++) {
      const c = call();
      assert.equal((await failure(upstream.getJson(apiPath`/x`, c))).kind, "unavailable");
      c.cancel();
    }
    assert.equal(upstream.circuitState, "open");
    assert.equal(server.hits.length, 3);

    const c = call();
    const started = performance.now();
    const open = await failure(upstream.getJson(apiPath`/x`, c));
    c.cancel();
    assert.equal(open.kind, "circuit_open");
    assert.ok(performance.now() - started < 50, "an open circuit answers at once");
    assert.equal(server.hits.length, 3, "an open circuit sends nothing");
    assert.ok(open.retryAfterMs! > 0 && open.retryAfterMs! <= 300);
    assert.ok(
      records.some((r) =>
        r.rawMessage === "upstream circuit opened: failing fast" && r.level === "warning"
      ),
    );

    healthy = true;
    await sleep(350);
    const probe = call();
    assert.deepEqual(await upstream.getJson(apiPath`/x`, probe), { ok: true });
    probe.cancel();
    assert.equal(upstream.circuitState, "closed");
    assert.deepEqual(events.filter((e) => e.startsWith("circuit")), [
      "circuit:closed",
      "circuit:open",
      "circuit:half_open",
      "circuit:closed",
    ]);
  } finally {
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: a failed probe opens the circuit again", async () => {
  const server = scriptedUpstream(() => new Response("down", { status: 502 }));
  const { upstream } = client(server.url, {
    maxRetries: 0,
    circuitFailures: 1,
    circuitCooldownMs: 100,
  });
  try {
    const c1 = call();
    await failure(upstream.getJson(apiPath`/x`, c1));
    c1.cancel();
    assert.equal(upstream.circuitState, "open");
    await sleep(150);
    const c2 = call();
    assert.equal((await failure(upstream.getJson(apiPath`/x`, c2))).kind, "unavailable");
    c2.cancel();
    assert.equal(upstream.circuitState, "open");
    assert.equal(server.hits.length, 2);
  } finally {
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: 404s and 429s do not open the circuit (the upstream is answering)", async () => {
  const server = scriptedUpstream((_req, n) =>
    n % 2 === 0 ? Response.json({}, { status: 404 }) : new Response("", {
      status: 429,
      headers: { "retry-after": "60" },
    })
  );
  const { upstream } = client(server.url, { maxRetries: 0, circuitFailures: 2 });
  try {
    for (let i = 0; i < 6; i++) {
      const c = call();
      await failure(upstream.getJson(apiPath`/x`, c));
      c.cancel();
    }
    assert.equal(upstream.circuitState, "closed");
    assert.equal(server.hits.length, 6);
  } finally {
    upstream.close();
    await server.close();
  }
});

/** One call for `caller`; its failure (or `"ok"`). */
async function outcome(
  upstream: ReturnType<typeof client>["upstream"],
  path: string,
  caller: string,
): Promise<string> {
  const c = call(5000, { caller });
  try {
    await upstream.getJson(apiPath`/${path}`, c);
    return "ok";
  } catch (error) {
    assert.ok(error instanceof UpstreamError, String(error));
    return error.kind;
  } finally {
    c.cancel();
  }
}

Deno.test("upstream: one caller's failing inputs open its own circuit, never another caller's", async () => {
  // The upstream fails on one input only: what a caller can provoke at will.
  const server = scriptedUpstream((req) =>
    new URL(req.url).pathname === "/poison"
      ? new Response("boom", { status: 500 })
      : Response.json({ ok: true })
  );
  const { upstream, records } = client(server.url, {
    maxRetries: 0,
    circuitFailures: 3,
    circuitMinCallers: 2,
    circuitCooldownMs: 10_000,
  });
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal(await outcome(upstream, "poison", "mallory"), "unavailable");
    }
    // Its own circuit is open: it fails fast, sending nothing...
    for (let i = 0; i < 5; i++) {
      assert.equal(await outcome(upstream, "poison", "mallory"), "circuit_open");
    }
    assert.equal(server.hits.length, 3);
    assert.ok(
      records.some((r) =>
        r.rawMessage === "upstream circuit opened for one caller: failing fast for it" &&
        r.properties.caller === "mallory"
      ),
    );
    // ...and everyone else is served, even the same input.
    assert.equal(upstream.circuitState, "closed");
    assert.equal(await outcome(upstream, "good", "alice"), "ok");
    assert.equal(await outcome(upstream, "poison", "alice"), "unavailable");
    assert.equal(await outcome(upstream, "good", "alice"), "ok");
    assert.equal(upstream.circuitState, "closed");
    assert.equal(server.hits.length, 6);
  } finally {
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: 4xx answers and bad bodies open no circuit, however many a caller provokes", async () => {
  const answers = [
    () => new Response("{}", { status: 400 }),
    () => new Response("{}", { status: 422 }),
    () => new Response("{}", { status: 404 }),
    () => new Response("<html>not json</html>", { status: 200 }),
    () => Response.json({ big: "x".repeat(4096) }),
  ];
  const server = scriptedUpstream((_req, n) => answers[n % answers.length]());
  const { upstream } = client(server.url, {
    maxRetries: 0,
    circuitFailures: 2,
    circuitMinCallers: 1,
    maxResponseBytes: 1024,
  });
  try {
    for (let i = 0; i < 3 * answers.length; i++) {
      assert.notEqual(await outcome(upstream, "x", "mallory"), "circuit_open");
    }
    assert.equal(upstream.circuitState, "closed");
    assert.equal(server.hits.length, 3 * answers.length);
  } finally {
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: an outage seen by several callers opens the circuit for all", async () => {
  const server = scriptedUpstream(() => new Response("down", { status: 503 }));
  const { upstream, events } = client(server.url, {
    maxRetries: 0,
    circuitFailures: 3,
    circuitMinCallers: 2,
    circuitCooldownMs: 10_000,
  });
  try {
    // One caller alone cannot tell an outage from its own inputs.
    for (let i = 0; i < 3; i++) assert.equal(await outcome(upstream, "x", "alice"), "unavailable");
    assert.equal(upstream.circuitState, "closed");
    assert.equal(await outcome(upstream, "x", "alice"), "circuit_open");
    // A second caller failing in the same run is enough.
    assert.equal(await outcome(upstream, "x", "bob"), "unavailable");
    assert.equal(upstream.circuitState, "open");
    assert.equal(await outcome(upstream, "x", "carol"), "circuit_open");
    assert.equal(server.hits.length, 4, "nothing is sent once it is open");
    assert.ok(upstream.circuitRetryInMs > 9000);
    assert.deepEqual(events.filter((e) => e.startsWith("circuit")), [
      "circuit:closed",
      "circuit:open",
    ]);
  } finally {
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: connection refused for several callers opens the circuit for all", async () => {
  const { upstream } = client(`http://127.0.0.1:${refusedPort()}`, {
    maxRetries: 0,
    circuitFailures: 2,
    circuitMinCallers: 2,
    circuitCooldownMs: 10_000,
  });
  try {
    assert.equal(await outcome(upstream, "x", "alice"), "network");
    assert.equal(await outcome(upstream, "x", "bob"), "network");
    assert.equal(upstream.circuitState, "open");
    const c = call(5000, { caller: "carol" });
    const open = await failure(upstream.getJson(apiPath`/x`, c));
    c.cancel();
    assert.equal(open.kind, "circuit_open");
    assert.ok(open.retryAfterMs! > 9000);
  } finally {
    upstream.close();
  }
});

Deno.test("upstream: a success between two callers' failures keeps the circuit closed", async () => {
  let n = 0;
  const server = scriptedUpstream((req) =>
    new URL(req.url).pathname === "/ok"
      ? Response.json({ n: n++ })
      : new Response("", { status: 500 })
  );
  const { upstream } = client(server.url, {
    maxRetries: 0,
    circuitFailures: 2,
    circuitMinCallers: 2,
  });
  try {
    for (let i = 0; i < 5; i++) {
      assert.equal(await outcome(upstream, "bad", "alice"), i < 2 ? "unavailable" : "circuit_open");
      assert.equal(await outcome(upstream, "ok", "bob"), "ok");
    }
    assert.equal(await outcome(upstream, "bad", "bob"), "unavailable");
    assert.equal(upstream.circuitState, "closed");
  } finally {
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: the whole call ends at its deadline, however many retries are left", async () => {
  const server = scriptedUpstream(() => new Response("down", { status: 503 }));
  const { upstream } = client(server.url, {
    maxRetries: 10,
    backoff: { initialMs: 200, factor: 2, maxMs: 10_000, random: () => 1 },
  });
  const c = call(500);
  const started = performance.now();
  try {
    await assert.rejects(upstream.getJson(apiPath`/x`, c), /deadline/);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 800, `took ${elapsed} ms`);
    await sleep(300);
    const hits = server.hits.length;
    await sleep(500);
    assert.equal(server.hits.length, hits, "no attempt after the deadline");
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: API_MAX_CONNECTIONS caps requests in flight; the rest wait their turn", async () => {
  const server = scriptedUpstream(async (req) => {
    await sleep(100, req.signal);
    return Response.json({ ok: true });
  });
  const { upstream } = client(server.url, { maxConnections: 2 });
  const calls = Array.from({ length: 6 }, () => call());
  try {
    const results = await Promise.all(calls.map((c) => upstream.getJson(apiPath`/x`, c)));
    assert.equal(results.length, 6);
    assert.equal(server.inFlight.max, 2);
  } finally {
    for (const c of calls) c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: a call queued behind the cap fails at its deadline and is never sent", async () => {
  const server = scriptedUpstream(async (req) => {
    await sleep(600, req.signal);
    return Response.json({ ok: true });
  });
  const { upstream } = client(server.url, { maxConnections: 1 });
  const first = call();
  const queued = call(150);
  try {
    const running = upstream.getJson(apiPath`/x`, first);
    const started = performance.now();
    await assert.rejects(upstream.getJson(apiPath`/x`, queued), /deadline/);
    assert.ok(performance.now() - started < 400);
    await running;
    await sleep(50);
    assert.equal(server.hits.length, 1);
  } finally {
    first.cancel();
    queued.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: path values are encoded; none can leave the base URL's prefix", async () => {
  const server = scriptedUpstream(() => Response.json({}));
  const { upstream } = client(`${server.url}/api/v1`);
  const hostile = [
    "../admin",
    "a/b",
    "?x=1",
    "#frag",
    "%2e%2e%2f",
    "\\..\\",
    "@evil.example",
    "x y",
    "..x",
  ];
  const c = call();
  try {
    for (const value of hostile) {
      await upstream.getJson(apiPath`/customers/${value}`, c);
    }
    assert.equal(server.hits.length, hostile.length);
    server.hits.forEach((hit, i) => {
      assert.equal(decodeURIComponent(hit.path), `/api/v1/customers/${hostile[i]}`);
      assert.equal(hit.path.split("/").length, 5, `one segment only: ${hit.path}`);
      assert.equal(hit.search, "");
    });
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: dot-only segments, which URL parsing would resolve away, are refused", () => {
  for (const value of ["..", ".", "...", "%2e%2e", ".%2E", "%2E", ""]) {
    assert.throws(() => apiPath`/customers/${value}`, RangeError, JSON.stringify(value));
  }
});

Deno.test("upstream: a segment with a lone surrogate is a RangeError, not encodeURIComponent's URIError", () => {
  for (const value of ["\uD800", "a\uDFFF", "\uDC00\uD800"]) {
    assert.throws(() => apiPath`/customers/${value}`, RangeError, JSON.stringify(value));
  }
  assert.equal(apiPath`/c/${"\uD83D\uDE00"}`.path, "/c/%F0%9F%98%80");
});

Deno.test("upstream: a dot segment in a literal path is refused before sending", async () => {
  const server = scriptedUpstream(() => Response.json({}));
  const { upstream } = client(`${server.url}/api/v1`);
  const c = call();
  try {
    await assert.rejects(upstream.getJson(apiPath`/customers/../admin`, c), /escaped/);
    assert.equal(server.hits.length, 0);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: query values are encoded, never splitting into more parameters", async () => {
  const server = scriptedUpstream(() => Response.json({}));
  const { upstream } = client(server.url);
  const c = call();
  try {
    await upstream.getJson(apiPath`/orders`, c, { status: "all&admin=1#x", skip: undefined, n: 2 });
    const params = new URLSearchParams(server.hits[0].search);
    assert.deepEqual([...params], [["status", "all&admin=1#x"], ["n", "2"]]);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});

Deno.test("upstream: plain strings are refused as paths", async () => {
  const { upstream } = client("http://127.0.0.1:9");
  const c = call();
  try {
    await assert.rejects(
      // @ts-expect-error: a string is not an ApiPath
      upstream.getJson("/customers/1", c),
      /apiPath/,
    );
  } finally {
    c.cancel();
    upstream.close();
  }
});

Deno.test("upstream: POST sends a JSON body once and is never retried (not idempotent)", async () => {
  const bodies: unknown[] = [];
  const server = scriptedUpstream(async (req) => {
    bodies.push(await req.json());
    return new Response("busy", { status: 503 });
  });
  const { upstream } = client(server.url, { maxRetries: 3 });
  const c = call();
  try {
    const error = await failure(upstream.postJson(apiPath`/search`, { q: "ada", n: 2 }, c));
    assert.equal(error.kind, "unavailable");
    assert.equal(server.hits.length, 1);
    assert.equal(server.hits[0].method, "POST");
    assert.equal(server.hits[0].headers.get("content-type"), "application/json");
    assert.deepEqual(bodies, [{ q: "ada", n: 2 }]);
  } finally {
    c.cancel();
    upstream.close();
    await server.close();
  }
});
