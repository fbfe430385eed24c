import assert from "node:assert/strict";
import { decodeUtf8, isJsonContentType, readJsonBody } from "../../src/http/body.ts";
import { createDeadlineQueue } from "../../src/timing/deadlines.ts";
import { ToolError } from "../../src/tools/errors.ts";

const URL_ = "http://localhost:8000/v1/mcp/tool";
const CAP = 4096;
const JSON_TYPE = { "content-type": "application/json" };

function post(body: BodyInit | null, headers: Record<string, string> = JSON_TYPE): Request {
  return new Request(URL_, { method: "POST", headers, body });
}

/** Asserts `readJsonBody` rejects with a ToolError and returns it. */
async function bodyError(req: Request, maxBytes = CAP): Promise<ToolError> {
  let caught: unknown;
  try {
    await readJsonBody(req, maxBytes);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ToolError, `expected a ToolError, got ${caught}`);
  return caught;
}

/** An endless stream of `chunkSize`-byte chunks of spaces, counting pulls. */
function endlessStream(chunkSize: number): {
  stream: ReadableStream<Uint8Array>;
  pulls: () => number;
  cancelled: () => boolean;
} {
  let pulls = 0;
  let cancelled = false;
  const chunk = new Uint8Array(chunkSize).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(chunk.slice());
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, pulls: () => pulls, cancelled: () => cancelled };
}

Deno.test("readJsonBody() gives {} for an empty body", async () => {
  assert.deepEqual(await readJsonBody(post(""), CAP), {});
});

Deno.test("readJsonBody() gives {} for an empty body whatever its content type", async () => {
  assert.deepEqual(await readJsonBody(post("", { "content-type": "text/plain" }), CAP), {});
  assert.deepEqual(await readJsonBody(post("", {}), CAP), {});
});

Deno.test("readJsonBody() gives {} for a request without a body", async () => {
  assert.deepEqual(await readJsonBody(new Request(URL_, { method: "POST" }), CAP), {});
  assert.deepEqual(await readJsonBody(new Request(URL_), CAP), {});
});

Deno.test("readJsonBody() gives {} for an empty stream", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.close();
    },
  });
  assert.deepEqual(await readJsonBody(post(stream), CAP), {});
});

Deno.test("readJsonBody() parses a JSON object", async () => {
  const body = { limit: 3, name: "Ada", nested: { ok: true, list: [1, 2] } };
  assert.deepEqual(await readJsonBody(post(JSON.stringify(body)), CAP), body);
});

Deno.test("readJsonBody() parses a JSON array, number, string and null as they are", async () => {
  assert.deepEqual(await readJsonBody(post("[1,2,3]"), CAP), [1, 2, 3]);
  assert.equal(await readJsonBody(post("42"), CAP), 42);
  assert.equal(await readJsonBody(post('"text"'), CAP), "text");
  assert.equal(await readJsonBody(post("null"), CAP), null);
});

Deno.test("readJsonBody() joins a body that arrives in several chunks", async () => {
  const parts = ['{"na', 'me": "Ad', 'a", "n": 1', "2}"].map((s) => new TextEncoder().encode(s));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = parts.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  assert.deepEqual(await readJsonBody(post(stream), CAP), { name: "Ada", n: 12 });
});

Deno.test("readJsonBody() decodes multi-byte UTF-8 split across chunks", async () => {
  const bytes = new TextEncoder().encode('{"name":"Zoë ✓"}');
  const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte "ë"
  const parts = [bytes.slice(0, cut), bytes.slice(cut)];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = parts.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  assert.deepEqual(await readJsonBody(post(stream), CAP), { name: "Zoë ✓" });
});

Deno.test("readJsonBody() accepts a body of exactly the cap", async () => {
  const body = JSON.stringify({ pad: "x".repeat(CAP - 10) });
  assert.equal(body.length, CAP);
  assert.deepEqual(await readJsonBody(post(body), CAP), { pad: "x".repeat(CAP - 10) });
});

Deno.test("readJsonBody() refuses a body over the cap with 413", async () => {
  const body = JSON.stringify({ pad: "x".repeat(CAP - 9) });
  assert.equal(body.length, CAP + 1);
  const error = await bodyError(post(body));
  assert.equal(error.httpStatus, 413);
  assert.equal(error.status, "invalid_input");
  assert.equal(error.message, `Request body too large: the limit is ${CAP} bytes`);
});

Deno.test("readJsonBody() refuses a Content-Length over the cap with 413 without reading", async () => {
  const { stream, pulls, cancelled } = endlessStream(1024);
  const req = post(stream, { ...JSON_TYPE, "content-length": String(CAP + 1) });
  const error = await bodyError(req);
  assert.equal(error.httpStatus, 413);
  assert.equal(error.status, "invalid_input");
  // At most the one pull a ReadableStream makes on its own to fill its queue.
  assert.ok(pulls() <= 1, `pulled ${pulls()} chunks`);
  assert.equal(cancelled(), true);
});

Deno.test("readJsonBody() refuses a huge Content-Length with 413 even without a body", async () => {
  const req = new Request(URL_, {
    method: "POST",
    headers: { ...JSON_TYPE, "content-length": "99999999999" },
  });
  const error = await bodyError(req);
  assert.equal(error.httpStatus, 413);
});

Deno.test("readJsonBody() refuses a streamed body past the cap with 413 and stops reading", async () => {
  const chunkSize = 1024;
  const { stream, pulls, cancelled } = endlessStream(chunkSize);
  const error = await bodyError(post(stream));
  assert.equal(error.httpStatus, 413);
  assert.equal(error.status, "invalid_input");
  // The cap is passed on chunk 5; allow a little read-ahead, never much more.
  const pulled = pulls();
  assert.ok(pulled >= CAP / chunkSize + 1, `pulled only ${pulled}`);
  assert.ok(pulled <= CAP / chunkSize + 3, `pulled ${pulled} chunks`);
  // And it stays stopped: nothing pulls the stream afterwards.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(pulls(), pulled);
  assert.equal(cancelled(), true);
});

Deno.test("readJsonBody() refuses an in-process body longer than its Content-Length", async () => {
  const chunk = new Uint8Array(1024).fill(0x20);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 3 * CAP) return controller.close();
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const error = await bodyError(post(stream, { ...JSON_TYPE, "content-length": "10" }));
  assert.equal(error.httpStatus, 413);
});

Deno.test("readJsonBody() over a socket reads only the declared Content-Length, however much follows", async () => {
  const seen: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    try {
      seen.push(await readJsonBody(req, CAP));
      return new Response("ok");
    } catch (error) {
      seen.push((error as ToolError).httpStatus);
      return new Response("refused", { status: (error as ToolError).httpStatus });
    }
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    const head = "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
      "content-length: 7\r\n\r\n";
    // 7 declared bytes, then 10 × CAP more that are not this body.
    await conn.write(new TextEncoder().encode(head + '{"a":1}' + " ".repeat(10 * CAP)));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    assert.deepEqual(seen[0], { a: 1 });
  } finally {
    conn.close();
    await server.shutdown();
  }
});

Deno.test("readJsonBody() refuses a non-JSON content type with 415", async () => {
  for (
    const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "text/json",
      "application/jsonp",
    ]
  ) {
    const error = await bodyError(post('{"a":1}', { "content-type": type }));
    assert.equal(error.httpStatus, 415, type);
    assert.equal(error.status, "invalid_input", type);
    assert.equal(error.message, "Unsupported media type: send Content-Type: application/json");
  }
});

Deno.test("readJsonBody() refuses a non-empty body without a content type with 415", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"a":1}'));
      controller.close();
    },
  });
  const req = post(stream, {});
  assert.equal(req.headers.get("content-type"), null);
  const error = await bodyError(req);
  assert.equal(error.httpStatus, 415);
});

Deno.test("readJsonBody() accepts JSON content types with parameters and +json", async () => {
  for (
    const type of [
      "application/json; charset=utf-8",
      "Application/JSON",
      "application/vnd.api+json",
      "application/merge-patch+json; charset=UTF-8",
    ]
  ) {
    assert.deepEqual(
      await readJsonBody(post('{"a":1}', { "content-type": type }), CAP),
      { a: 1 },
      type,
    );
  }
});

Deno.test("readJsonBody() refuses malformed JSON with 400 invalid_input", async () => {
  for (const body of ['{"a":', "{a:1}", "undefined", "{'a':1}", '{"a":1}}', "\u0000"]) {
    const error = await bodyError(post(body));
    assert.equal(error.httpStatus, 400, body);
    assert.equal(error.status, "invalid_input", body);
    assert.equal(error.message, "Malformed request body: not valid JSON");
  }
});

Deno.test("readJsonBody() refuses invalid UTF-8 with 400", async () => {
  for (const bytes of [[0x7b, 0xff, 0x7d], [0x22, 0xc3, 0x22], [0xed, 0xa0, 0x80]]) {
    const error = await bodyError(post(new Uint8Array(bytes)));
    assert.equal(error.httpStatus, 400);
    assert.equal(error.status, "invalid_input");
    assert.equal(error.message, "Malformed request body: not valid UTF-8");
  }
});

Deno.test("readJsonBody() keeps a real U+FFFD in valid UTF-8", async () => {
  // The lenient decoder's replacement character is only a hint: a body that
  // holds one legitimately (EF BF BD) is still read.
  const input = await readJsonBody(post('{"name":"a\uFFFDb"}'), CAP);
  assert.deepEqual(input, { name: "a\uFFFDb" });
});

Deno.test("decodeUtf8() answers as a fatal TextDecoder does", () => {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const cases: number[][] = [
    [],
    [0x7b, 0x7d],
    [0xef, 0xbb, 0xbf, 0x7b, 0x7d], // a BOM, dropped by both
    [0xef, 0xbf, 0xbd], // U+FFFD itself
    [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], // é € 😀
    [0xff],
    [0xc3],
    [0xed, 0xa0, 0x80], // a lone surrogate
    [0xf8, 0x88, 0x80, 0x80, 0x80], // five-byte form
    [0xc0, 0xaf], // overlong "/"
    [0x41, 0xef, 0xbf, 0xbd, 0xff], // a real U+FFFD, then a bad byte
  ];
  for (const bytes of cases) {
    let expected: string | undefined;
    try {
      expected = strict.decode(new Uint8Array(bytes));
    } catch {
      expected = undefined;
    }
    assert.equal(decodeUtf8(new Uint8Array(bytes)), expected, JSON.stringify(bytes));
  }
});

Deno.test("readJsonBody() never puts the body text in an error message", async () => {
  const marker = "BODY-MARKER-7f3a";
  const cases: [Request, number][] = [
    [post(`{"secret": "${marker}"`), 400],
    [post(`{"secret": "${marker}"}`, { "content-type": "text/plain" }), 415],
    [post(`{"secret": "${marker}", "pad": "${"x".repeat(CAP)}"}`), 413],
    [post(new Uint8Array([...new TextEncoder().encode(`"${marker}`), 0xff, 0x22])), 400],
  ];
  for (const [req, status] of cases) {
    const error = await bodyError(req);
    assert.equal(error.httpStatus, status);
    assert.ok(!error.message.includes(marker), error.message);
    assert.ok(!String(error.stack).includes(marker));
    assert.equal(error.details, undefined);
  }
});

Deno.test("isJsonContentType() recognises JSON media types only", () => {
  assert.equal(isJsonContentType(null), false);
  assert.equal(isJsonContentType(""), false);
  assert.equal(isJsonContentType("application/json"), true);
  assert.equal(isJsonContentType(" application/json ; charset=utf-8"), true);
  assert.equal(isJsonContentType("APPLICATION/JSON"), true);
  assert.equal(isJsonContentType("application/vnd.api+json"), true);
  assert.equal(isJsonContentType("application/problem+json; charset=utf-8"), true);
  assert.equal(isJsonContentType("text/json"), false);
  assert.equal(isJsonContentType("text/plain"), false);
  assert.equal(isJsonContentType("application/jsonx"), false);
  assert.equal(isJsonContentType("application/json-patch"), false);
  assert.equal(isJsonContentType("text/plain; x=application/json"), false);
});

Deno.test("readJsonBody() with a deadline refuses a body that stops arriving with 408, and stops reading it", async () => {
  const queue = createDeadlineQueue();
  let cancelled = false;
  // One byte, then nothing: a slow-body client.
  const stalled = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("{"));
    },
    cancel() {
      cancelled = true;
    },
  });
  try {
    const started = performance.now();
    let guard: ReturnType<typeof setTimeout> | undefined;
    const error = await Promise.race([
      readJsonBody(post(stalled), CAP, { queue, timeoutMs: 50 }).then(
        () => assert.fail("a stalled body was read"),
        (error) => error as ToolError,
      ),
      new Promise<never>((_, reject) =>
        guard = setTimeout(() => reject(new Error("still reading after 2 s")), 2_000)
      ),
    ]).finally(() => clearTimeout(guard));
    assert.equal(error.httpStatus, 408);
    assert.equal(
      error.message,
      "Request body timeout: the body did not arrive within 0.05 seconds",
    );
    assert.ok(performance.now() - started < 1_000);
    assert.ok(cancelled, "the stream read was cancelled");
    // A body that is all there is read as before.
    assert.deepEqual(await readJsonBody(post('{"a":1}'), CAP, { queue, timeoutMs: 50 }), { a: 1 });
  } finally {
    queue.close();
  }
});
