import assert from "node:assert/strict";
import { createKeyRing, hashKey, sameKey } from "../../src/auth/key_ring.ts";
import type { FileKey } from "../../src/auth/keys_file.ts";

const ENV_KEY = "environment-key-0123456789";
const FILE_KEY = "file-key-abcdefghijklmnop";

function fileKey(key: string, extra: Partial<FileKey> = {}): FileKey {
  return {
    id: "bot",
    sha256: hashKey(key),
    scopes: undefined,
    rateLimitRpm: undefined,
    expiresAt: undefined,
    ...extra,
  };
}

Deno.test("hashKey() is the lowercase hex SHA-256 (the FIPS 180-2 test vector)", () => {
  assert.equal(hashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("sameKey() is still exported from the auth middleware's module", async () => {
  const auth = await import("../../src/http/middleware/auth.ts");
  assert.equal(auth.sameKey, sameKey);
});

Deno.test("a ring knows the environment keys with their scopes, one principal object per key", () => {
  const ring = createKeyRing([{ id: "primary", key: ENV_KEY, scopes: ["tools:read"] }]);
  const a = ring.identify(ENV_KEY, 0);
  const b = ring.identify(ENV_KEY, 0);
  assert.ok(a.ok && b.ok);
  assert.equal(a.principal.id, "primary");
  assert.deepEqual([...a.principal.scopes!], ["tools:read"]);
  assert.equal(a.principal, b.principal, "built once: listings are cached by its scope set");
  assert.deepEqual(ring.identify(ENV_KEY + "x", 0), { ok: false });
  assert.deepEqual(ring.identify("", 0), { ok: false });
  assert.equal(ring.fileKeyCount, 0);
});

Deno.test("a ring finds a file key by its hash, with its scopes and limit", () => {
  const ring = createKeyRing([{ id: "primary", key: ENV_KEY }], [
    fileKey(FILE_KEY, { scopes: new Set(["sql:query"]), rateLimitRpm: 7 }),
  ]);
  const found = ring.identify(FILE_KEY, 0);
  assert.ok(found.ok);
  assert.equal(found.principal.id, "bot");
  assert.deepEqual([...found.principal.scopes!], ["sql:query"]);
  assert.equal(found.principal.rateLimitRpm, 7);
  assert.deepEqual(ring.identify(hashKey(FILE_KEY), 0), { ok: false }, "the hash is not the key");
  const env = ring.identify(ENV_KEY, 0);
  assert.ok(env.ok && env.principal.scopes === undefined, "no scopes listed: every tool");
});

Deno.test("a ring refuses an expired file key from its expiry on, and says which", () => {
  const ring = createKeyRing([], [fileKey(FILE_KEY, { expiresAt: 1_000 })]);
  assert.ok(ring.identify(FILE_KEY, 999).ok);
  assert.deepEqual(ring.identify(FILE_KEY, 1_000), { ok: false, expired: "bot" });
});

Deno.test("replaceFileKeys() swaps the file's keys at once and leaves the environment's", () => {
  const ring = createKeyRing([{ id: "primary", key: ENV_KEY }], [fileKey(FILE_KEY)]);
  const next = "next-file-key-0123456789";
  ring.replaceFileKeys([fileKey(next, { id: "next" })]);
  assert.deepEqual(ring.identify(FILE_KEY, 0), { ok: false }, "the old file key is gone");
  const found = ring.identify(next, 0);
  assert.ok(found.ok && found.principal.id === "next");
  assert.ok(ring.identify(ENV_KEY, 0).ok);
  ring.replaceFileKeys([]);
  assert.equal(ring.fileKeyCount, 0);
  assert.deepEqual(ring.identify(next, 0), { ok: false });
});
