import assert from "node:assert/strict";
import { hashKey } from "../../src/auth/key_ring.ts";
import { hashKeyCommand } from "../../src/cli/hash_key.ts";
import { parseKeysFile } from "../../src/auth/keys_file.ts";

const KEY = "a-real-looking-key-0123456789";
const bytes = (s: string) => () => Promise.resolve(new TextEncoder().encode(s));

Deno.test("hash-key prints the SHA-256 of the key on stdin, one trailing newline dropped", async () => {
  for (const input of [KEY, `${KEY}\n`, `${KEY}\r\n`]) {
    assert.deepEqual(await hashKeyCommand([], bytes(input)), {
      code: 0,
      stdout: `${hashKey(KEY)}\n`,
      stderr: "",
    });
  }
});

Deno.test("hash-key refuses what could not be a key, without echoing it", async () => {
  const cases: [string, RegExp][] = [
    ["", /no key on stdin/],
    ["\n", /no key on stdin/],
    ["short-key", /not a usable key: expected 16 to 512/],
    [`${KEY} with spaces`, /not a usable key/],
    [`${KEY}\n\n`, /not a usable key/],
    ["k".repeat(5000), /too long/],
  ];
  for (const [input, message] of cases) {
    const outcome = await hashKeyCommand([], bytes(input));
    assert.equal(outcome.code, 2, JSON.stringify(input.slice(0, 20)));
    assert.equal(outcome.stdout, "");
    assert.match(outcome.stderr, message);
    if (input.trim()) assert.ok(!outcome.stderr.includes(input.trim()), "never echoes the input");
  }
  const notUtf8 = await hashKeyCommand([], () => Promise.resolve(new Uint8Array([0xff, 0xfe])));
  assert.match(notUtf8.stderr, /not UTF-8/);
  assert.equal((await hashKeyCommand(["extra"], bytes(KEY))).code, 2);
});

Deno.test("hash-key --generate makes a key whose hash a keys file accepts", async () => {
  const outcome = await hashKeyCommand(["--generate"], () => {
    throw new Error("stdin is not read");
  });
  assert.equal(outcome.code, 0);
  const m = /^key: (\S+)\nsha256: ([0-9a-f]{64})\n$/.exec(outcome.stdout);
  assert.ok(m, outcome.stdout);
  assert.equal(hashKey(m[1]), m[2]);
  const parsed = parseKeysFile(`keys: [{ id: new, sha256: ${m[2]} }]`);
  assert.ok(parsed.ok);
});

Deno.test("mcp-tool-server hash-key reads stdin in the real program", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "main.ts", "hash-key"],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${KEY}\n`));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), `${hashKey(KEY)}\n`);
});
