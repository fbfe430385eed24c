import assert from "node:assert/strict";
import { KeysFileError, parseKeysFile, readKeysFile } from "../../src/auth/keys_file.ts";

const HASH = "a".repeat(64);
const HASH2 = "B".repeat(64);

function problemsOf(text: string): string[] {
  const result = parseKeysFile(text);
  assert.equal(result.ok, false, "the file is refused");
  return result.ok ? [] : result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
}

Deno.test("parseKeysFile() reads every field of a YAML file", () => {
  const result = parseKeysFile(`keys:
  - id: reporting-bot
    sha256: ${HASH}
    scopes: [tools:read, sql:query]
    rate_limit_rpm: 120
    expires: 2027-06-30
  - id: ci.smoke_1
    sha256: ${HASH2}
    expires: "2027-01-02T03:04:05+01:00"
`);
  assert.ok(result.ok);
  const [a, b] = result.keys;
  assert.equal(a.id, "reporting-bot");
  assert.equal(a.sha256, HASH);
  assert.deepEqual([...a.scopes!], ["tools:read", "sql:query"]);
  assert.equal(a.rateLimitRpm, 120);
  assert.equal(a.expiresAt, Date.UTC(2027, 5, 30));
  assert.equal(b.sha256, "b".repeat(64), "hashes are compared in lowercase");
  assert.equal(b.scopes, undefined, "no scope list: every tool");
  assert.equal(b.rateLimitRpm, undefined);
  assert.equal(b.expiresAt, Date.UTC(2027, 0, 2, 2, 4, 5));
});

Deno.test("parseKeysFile() reads the same shape as JSON", () => {
  const result = parseKeysFile(JSON.stringify({ keys: [{ id: "k1", sha256: HASH }] }));
  assert.ok(result.ok);
  assert.deepEqual(result.keys.map((k) => k.id), ["k1"]);
});

Deno.test("parseKeysFile() reports every problem with its line and column", () => {
  const problems = problemsOf(`keys:
  - id: primary
    sha256: ${HASH}
  - id: Bad Id
    sha256: abc
    scopes: []
    rate_limit_rpm: 0
    expires: next tuesday
    key: the-plain-key-must-never-be-here
`);
  assert.deepEqual(problems, [
    "2:9: keys.0.id: is reserved for the environment keys",
    '4:5: keys.1: unknown field "key"',
    "4:9: keys.1.id: must match ^[a-z0-9][a-z0-9_.-]{0,63}$",
    "5:13: keys.1.sha256: expected 64 hex digits (the SHA-256 of the key; `mcp-tool-server hash-key` prints it)",
    "6:13: keys.1.scopes: list at least one scope, or leave scopes out to allow every tool",
    "7:21: keys.1.rate_limit_rpm: Too small: expected number to be >=1",
    '8:14: keys.1.expires: expected a real date (2027-06-30) or an ISO date-time with a zone, not "next tuesday"',
  ]);
});

Deno.test("parseKeysFile() refuses a key or an id listed twice", () => {
  assert.deepEqual(
    problemsOf(`keys:
  - { id: one, sha256: ${HASH} }
  - { id: one, sha256: ${HASH2} }
  - { id: three, sha256: ${HASH.toUpperCase()} }
`),
    [
      '3:11: keys.1.id: "one" is listed twice',
      "4:26: keys.2.sha256: the same key is listed twice",
    ],
  );
});

Deno.test("parseKeysFile() refuses bad scopes, a date-time without a zone, no keys, not YAML", () => {
  assert.match(
    problemsOf(`keys: [{ id: a, sha256: ${HASH}, scopes: ["tools read"] }]`)[0],
    /keys\.0\.scopes\.0: must match/,
  );
  assert.match(
    problemsOf(`keys: [{ id: a, sha256: ${HASH}, expires: "2027-01-01T00:00:00" }]`)[0],
    /expires: expected a real date/,
  );
  assert.deepEqual(problemsOf("keys: []"), ["1:7: keys: list at least one key"]);
  assert.match(problemsOf("")[0], /keys: .*expected array/i);
  assert.match(problemsOf("- just a list")[0], /expected object/i);
  assert.match(problemsOf("keys: [unclosed")[0], /^1:\d+: /);
  assert.match(problemsOf(`keys: [{ id: a, sha256: ${HASH}, id: b }]`)[0], /unique/i);
});

Deno.test("readKeysFile() reads a file and names a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/keys.yaml`;
    await Deno.writeTextFile(path, `keys: [{ id: a, sha256: ${HASH} }]`);
    assert.deepEqual((await readKeysFile(path)).map((k) => k.id), ["a"]);
    await assert.rejects(
      () => readKeysFile(`${dir}/none.yaml`),
      (e) => e instanceof KeysFileError && e.message === `${dir}/none.yaml:1:1: no such file`,
    );
    await Deno.writeTextFile(path, "keys: 1");
    await assert.rejects(
      () => readKeysFile(path),
      (e) => e instanceof KeysFileError && e.message.startsWith(`${path}:1:7: keys:`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseKeysFile() refuses an impossible expiry instead of rolling it over", () => {
  for (
    const expires of [
      "2027-02-30",
      "2026-02-29",
      "2027-13-01",
      "2027-00-10",
      '"2027-01-02T24:00:00Z"',
      '"2027-01-02T23:60:00Z"',
      '"2027-12-31T23:59:60Z"',
      "2027-01-02junk",
      "２０２７-０１-０２",
    ]
  ) {
    const problems = problemsOf(`keys: [{ id: a, sha256: ${HASH}, expires: ${expires} }]`);
    assert.equal(problems.length, 1, expires);
    assert.match(problems[0], /keys\.0\.expires: expected a real date/, expires);
  }
  const leap = parseKeysFile(`keys: [{ id: a, sha256: ${HASH}, expires: 2028-02-29 }]`);
  assert.ok(leap.ok);
  assert.equal(leap.keys[0].expiresAt, Date.UTC(2028, 1, 29));
});
