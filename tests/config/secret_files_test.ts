import assert from "node:assert/strict";
import { ConfigError, parseConfig, SECRET_VARIABLES } from "../../src/config/env.ts";
import { resolveSecretFiles } from "../../src/config/secret_files.ts";

const KEY = "file-key-0123456789abcdef";

Deno.test("resolveSecretFiles() reads NAME_FILE into NAME, dropping one trailing newline", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, `${KEY}\n`);
    const env = resolveSecretFiles({ API_KEY_PRIMARY_FILE: path, PORT: "9000" });
    assert.equal(env.API_KEY_PRIMARY, KEY);
    assert.equal(env.API_KEY_PRIMARY_FILE, undefined);
    assert.equal(parseConfig(env).apiKeys[0].key, KEY);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("resolveSecretFiles() works for every secret variable", () => {
  const files: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const name of SECRET_VARIABLES) {
    env[`${name}_FILE`] = `/secrets/${name}`;
    files[`/secrets/${name}`] = `value-of-${name}`;
  }
  const out = resolveSecretFiles(env, (p) => files[p]);
  for (const name of SECRET_VARIABLES) assert.equal(out[name], `value-of-${name}`);
});

function problems(env: Record<string, string>, read = (_p: string): string => "x"): string[] {
  try {
    resolveSecretFiles(env, read);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail("expected a ConfigError");
}

Deno.test("resolveSecretFiles() refuses NAME and NAME_FILE together", () => {
  assert.match(
    problems({ DB_URL: "postgres://a@b/c", DB_URL_FILE: "/x" })[0],
    /^DB_URL_FILE: set either DB_URL or DB_URL_FILE, not both$/,
  );
});

Deno.test("resolveSecretFiles() names a missing file, an unreadable one and an empty one, never the content", () => {
  const found = problems(
    { API_KEY_PRIMARY_FILE: "/nope", METRICS_TOKEN_FILE: "/locked", REDIS_URL_FILE: "/empty" },
    (p) => {
      if (p === "/nope") throw new Deno.errors.NotFound("no");
      if (p === "/locked") throw new Deno.errors.NotCapable("read");
      return "\n";
    },
  );
  assert.deepEqual(found.sort(), [
    "API_KEY_PRIMARY_FILE: no file at /nope",
    "METRICS_TOKEN_FILE: no permission to read /locked: put it under /etc/mcp-tool-server/, " +
    "/run/secrets/, /run/credentials/ (the binary and the image read only there; deno task start " +
    "also reads config/), or under deno run grant --allow-read=/locked",
    "REDIS_URL_FILE: /empty is empty",
  ]);
});

Deno.test("resolveSecretFiles() never puts a file's content in an error", () => {
  const secret = "TOPSECRET-in-a-file";
  const found = problems({ API_KEY_PRIMARY: "x", API_KEY_PRIMARY_FILE: "/k" }, () => secret);
  assert.ok(!found.join("\n").includes(secret));
});

Deno.test("the server starts with a key from a file under a read grant for just that file", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, `${KEY}\n`);
  try {
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const run = (flags: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-env", ...flags, main, "tools"],
        env: {
          API_KEY_PRIMARY_FILE: path,
          ENVIRONMENT: "production",
          DB_EMBEDDED: "true",
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const granted = await run([`--allow-read=${path}`]);
    assert.equal(granted.code, 0, new TextDecoder().decode(granted.stderr));
    const refused = await run([]);
    assert.equal(refused.code, 2);
    assert.match(new TextDecoder().decode(refused.stderr), /grant --allow-read=/);
  } finally {
    await Deno.remove(path);
  }
});
