import assert from "node:assert/strict";
import { createCursorCodec, cursorSecret } from "../../src/tools/result_cursor.ts";
import { ToolError } from "../../src/tools/errors.ts";

const SECRET = "a-cursor-secret-of-at-least-32-chars!";
const CALL = { principal: "primary", tool: "sql_query", args: { query: "SELECT 1", params: {} } };

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof ToolError && error.httpStatus === 400 && error.status === "invalid_input" &&
  pattern.test(error.message);

Deno.test("createCursorCodec() opens its own cursor on another codec with the same secret", async () => {
  const a = await createCursorCodec({ secret: SECRET, ttlSeconds: 60 });
  const b = await createCursorCodec({ secret: SECRET, ttlSeconds: 60 });
  const cursor = await a.issue(CALL, 250);
  assert.equal(await b.open(cursor, CALL), 250);
  // Argument order does not matter (canonical JSON).
  assert.equal(
    await b.open(cursor, { ...CALL, args: { params: {}, query: "SELECT 1" } }),
    250,
  );
});

Deno.test("createCursorCodec() refuses forged, changed, foreign and expired cursors with a 400", async () => {
  let now = 1_800_000_000_000;
  const codec = await createCursorCodec({ secret: SECRET, ttlSeconds: 60, now: () => now });
  const cursor = await codec.issue(CALL, 100);
  const [v, payload, signature] = cursor.split(".");
  const changedPayload = btoa(
    atob(payload.replaceAll("-", "+").replaceAll("_", "/")).replace('"o":100', '"o":0'),
  ).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const other = await createCursorCodec({ secret: `${SECRET}-other`, ttlSeconds: 60 });
  const forged = [
    "",
    "garbage",
    `${v}.${payload}`,
    `${v}.${changedPayload}.${signature}`,
    `${v}.${payload}.${signature.slice(0, -2)}AA`,
    // The last character's unused bits: another spelling of the same bytes.
    `${v}.${payload}.${signature.slice(0, -1)}${signature.at(-1) === "A" ? "B" : "A"}`,
    `v2.${payload}.${signature}`,
    `${v}.${payload}.${signature}.x`,
    `${v}.${payload}.!!`,
    await other.issue(CALL, 100),
    "x".repeat(5000),
  ];
  for (const bad of forged) {
    await assert.rejects(codec.open(bad, CALL), refusedWith(/not issued by this server/), bad);
  }
  await assert.rejects(
    codec.open(cursor, { ...CALL, principal: "secondary" }),
    refusedWith(/issued to another API key/),
  );
  await assert.rejects(
    codec.open(cursor, { ...CALL, tool: "other_tool" }),
    refusedWith(/continues another call/),
  );
  await assert.rejects(
    codec.open(cursor, { ...CALL, args: { query: "SELECT 2", params: {} } }),
    refusedWith(/continues another call/),
  );
  assert.equal(await codec.open(cursor, CALL), 100);
  now += 61_000;
  await assert.rejects(codec.open(cursor, CALL), refusedWith(/has expired/));
});

Deno.test("cursorSecret() prefers CURSOR_SECRET, then the API keys, then a random one", () => {
  const keys = [{ key: "k1" }, { key: "k2" }];
  assert.deepEqual(cursorSecret({ cursors: { secret: SECRET }, apiKeys: keys }), {
    secret: SECRET,
    shared: true,
  });
  const derived = cursorSecret({ cursors: { secret: undefined }, apiKeys: keys });
  assert.equal(derived.shared, true);
  assert.deepEqual(derived, cursorSecret({ cursors: { secret: undefined }, apiKeys: keys }));
  const random = cursorSecret({ cursors: { secret: undefined }, apiKeys: [] });
  assert.equal(random.shared, false);
  assert.notDeepEqual(
    random.secret,
    cursorSecret({ cursors: { secret: undefined }, apiKeys: [] }).secret,
  );
});
