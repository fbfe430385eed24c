import assert from "node:assert/strict";
import {
  REQUEST_ID_HEADER,
  REQUEST_ID_PATTERN,
  resolveRequestId,
} from "../../../src/http/middleware/request_id.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("resolveRequestId() keeps a sane id", () => {
  for (const id of ["a", "abc-123", "req_01.HX-z", "0", "x".repeat(128), "ABCDEF.ghi_jkl-mno"]) {
    assert.equal(resolveRequestId(id), id);
  }
});

Deno.test("resolveRequestId() keeps an id of exactly 1 and 128 characters", () => {
  assert.equal(resolveRequestId("Z"), "Z");
  const long = "a1._-".repeat(25) + "abc";
  assert.equal(long.length, 128);
  assert.equal(resolveRequestId(long), long);
});

const HOSTILE: readonly [string, string][] = [
  ["a newline", "abc\ndef"],
  ["a trailing newline", "abc\n"],
  ["CRLF header injection", "abc\r\nSet-Cookie: x=1"],
  ["quotes and JSON", 'x"\n{"level":"error","msg":"forged"}'],
  ["a double quote", 'abc"def'],
  ["spaces", "abc def"],
  ["a leading space", " abc"],
  ["129 characters", "x".repeat(129)],
  ["10 KB", "y".repeat(10 * 1024)],
  ["the empty string", ""],
  ["unicode letters", "réquête-id"],
  ["a unicode digit", "abc٣"],
  ["an emoji", "id-🙂"],
  ["a tab", "abc\tdef"],
  ["a NUL", "abc\u0000"],
  ["a slash and colon", "a/b:c"],
  ["an HTML tag", "<script>"],
];

for (const [what, id] of HOSTILE) {
  Deno.test(`resolveRequestId() replaces an id with ${what} by a UUID`, () => {
    const resolved = resolveRequestId(id);
    assert.notEqual(resolved, id);
    assert.match(resolved, UUID);
  });
}

Deno.test("resolveRequestId() makes a UUID when there is no id", () => {
  assert.match(resolveRequestId(null), UUID);
});

Deno.test("resolveRequestId() makes a different UUID each call", () => {
  const a = resolveRequestId(null);
  const b = resolveRequestId(null);
  const c = resolveRequestId("bad id");
  assert.match(a, UUID);
  assert.match(b, UUID);
  assert.match(c, UUID);
  assert.equal(new Set([a, b, c]).size, 3);
});

Deno.test("REQUEST_ID_PATTERN accepts its own generated ids", () => {
  assert.ok(REQUEST_ID_PATTERN.test(resolveRequestId(null)));
  assert.equal(REQUEST_ID_HEADER, "x-request-id");
});
