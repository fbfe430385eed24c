import assert from "node:assert/strict";
import { hashKey } from "../src/auth/key_ring.ts";
import { compilePermissionFlags, runDeno, spawnServer } from "./process.ts";
import { createTestDatabase, postgresUnavailable } from "./sources/db/pg_fixture.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const KEY = "cli-test-key-0123456789abcdef";

async function run(args: string[], env: Record<string, string> = {}) {
  return runDeno(["run", ...(await compilePermissionFlags()), MAIN, ...args], env);
}

Deno.test("main --help and --version exit 0", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage:/);
  assert.match(help.stdout, /Exit codes/);
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^mcp-tool-server \d+\.\d+\.\d+/);
});

Deno.test("main refuses an unknown command with exit 2", async () => {
  const result = await run(["frobnicate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Unknown command or argument: "frobnicate"/);
});

Deno.test("main refuses bad configuration with exit 2, one line per variable, no secret", async () => {
  const result = await run([], {
    PORT: "http",
    RATE_LIMIT_RPM: "0",
    API_KEY_PRIMARY: "short secret",
    LOG_FORMAT: "xml",
  });
  assert.equal(result.code, 2);
  for (const name of ["PORT:", "RATE_LIMIT_RPM:", "API_KEY_PRIMARY:", "LOG_FORMAT:"]) {
    assert.match(result.stderr, new RegExp(`^\\s+${name}`, "m"));
  }
  assert.ok(!result.stderr.includes("short secret"));
});

Deno.test("main refuses to start in production without API_KEY_PRIMARY", async () => {
  const result = await run([], { ENVIRONMENT: "production" });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /API_KEY_PRIMARY: is required in "production"/);
});

Deno.test("main serves, logs JSON lines, and stops cleanly on SIGTERM", async () => {
  const server = await spawnServer(["run", ...(await compilePermissionFlags()), MAIN], {
    API_KEY_PRIMARY: KEY,
  });
  try {
    const res = await fetch(`${server.url}/v1/mcp/get_top_customers`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${KEY}`,
        "content-type": "application/json",
        "x-request-id": "cli-1",
      },
      body: JSON.stringify({ limit: 1 }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).customers.length, 1);
  } finally {
    const status = await server.stop("SIGTERM");
    assert.equal(status.code, 0, server.stderr());
  }
  const lines = server.stdout.map((l) => JSON.parse(l));
  const started = lines.find((l) => l.message === "server started");
  assert.equal(started.config.apiKeys[0].key, "[redacted]");
  assert.ok(!server.stdout.join("\n").includes(KEY));
  const call = lines.find((l) => l.message === "tool call");
  for (
    const field of [
      "timestamp",
      "level",
      "request_id",
      "tool_name",
      "principal",
      "status",
      "latency_ms",
    ]
  ) {
    assert.ok(field in call, `audit line lacks ${field}`);
  }
  assert.equal(call.request_id, "cli-1");
  assert.ok(lines.some((l) => l.message === "server stopped"));
});

Deno.test("main generates and prints a development key when none is set", async () => {
  const server = await spawnServer(["run", ...(await compilePermissionFlags()), MAIN], {});
  try {
    const key = /^\s+([A-Za-z0-9_-]{43})$/m.exec(server.stderr())?.[1];
    assert.ok(key, server.stderr());
    assert.match(
      server.stderr(),
      /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/mcp\/get_top_customers/,
    );
    const ok = await fetch(`${server.url}/v1/mcp`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const wrong = await fetch(`${server.url}/v1/mcp`, {
      headers: { authorization: "Bearer x".padEnd(40, "x") },
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
  } finally {
    await server.stop();
  }
});

Deno.test("main appends log lines to LOG_FILE when granted write access to it", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/server.log`;
  try {
    const flags = [...(await compilePermissionFlags()), `--allow-write=${file}`];
    const server = await spawnServer(["run", ...flags, MAIN], {
      API_KEY_PRIMARY: KEY,
      LOG_FILE: file,
    });
    const res = await fetch(`${server.url}/v1/mcp`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    await res.body?.cancel();
    assert.equal((await server.stop()).code, 0);
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.message === "server started"));
    assert.ok(lines.some((l) => l.message === "server stopped"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main refuses a LOG_FILE it may not write with exit 2 and the flag to grant", async () => {
  const result = await run([], {
    API_KEY_PRIMARY: KEY,
    LOG_FILE: "/tmp/mcp-tool-server-denied.log",
  });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--allow-write=\/tmp\/mcp-tool-server-denied\.log/);
});

Deno.test({
  name: "main on SIGTERM stops accepting, finishes the call in flight, and exits 0",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    const server = await spawnServer(["run", ...(await compilePermissionFlags()), MAIN], {
      API_KEY_PRIMARY: KEY,
      DB_URL: db.url,
      ENABLE_SQL_QUERY_TOOL: "true",
    });
    try {
      const started = performance.now();
      const inFlight = fetch(`${server.url}/v1/mcp/sql_query`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ query: "SELECT pg_sleep(1.5), 42 AS answer" }),
      });
      await new Promise((r) => setTimeout(r, 400));
      server.child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      // A new connection is refused once shutdown began.
      await assert.rejects(fetch(`${server.url}/health/live`));
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal((await res.json()).rows[0].answer, 42);
      assert.ok(performance.now() - started >= 1500);
      assert.equal((await server.child.status).code, 0);
      assert.ok(server.stdout.some((l) => l.includes('"server stopped"')));
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch { /* already exited */ }
      await db.drop();
    }
  },
});

Deno.test("main reads API_KEYS_FILE (read grant for that file only) and re-reads it on SIGHUP", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/keys.yaml`;
  const first = "first-file-key-0123456789";
  const second = "second-file-key-0123456789";
  const entry = (id: string, key: string) => `keys: [{ id: ${id}, sha256: ${hashKey(key)} }]\n`;
  await Deno.writeTextFile(file, entry("first", first));
  const flags = [...(await compilePermissionFlags()), `--allow-read=${file}`];
  const server = await spawnServer(["run", ...flags, MAIN], { API_KEYS_FILE: file });
  const status = async (key: string) => {
    const res = await fetch(`${server.url}/v1/mcp`, {
      headers: { authorization: `Bearer ${key}` },
    });
    await res.body?.cancel();
    return res.status;
  };
  try {
    assert.ok(!server.stderr().includes("development API key"), "no generated key beside a file");
    assert.equal(await status(first), 200);
    assert.equal(await status(second), 401);
    await Deno.writeTextFile(file, entry("second", second));
    server.child.kill("SIGHUP");
    const deadline = Date.now() + 10_000;
    while (await status(second) !== 200) {
      assert.ok(Date.now() < deadline, "the reload never took effect");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await status(first), 401, "the old file key is gone");
    // Log lines go out in batches (every 20 ms): wait for it rather than race it.
    while (!server.stdout.some((l) => l.includes('"API keys file reloaded"'))) {
      assert.ok(Date.now() < deadline, "no 'API keys file reloaded' line");
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main refuses a bad API_KEYS_FILE with exit 2 and file:line:column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/keys.yaml`;
    await Deno.writeTextFile(file, "keys:\n  - id: a\n    sha256: not-a-hash\n");
    const result = await runDeno(
      ["run", ...(await compilePermissionFlags()), `--allow-read=${file}`, MAIN],
      { API_KEYS_FILE: file, PORT: "0" },
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${file}:3:13: keys\\.0\\.sha256: expected 64 hex`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main refuses to start in production with a variable that looks like ours, naming the right one", async () => {
  const result = await run([], {
    ENVIRONMENT: "production",
    API_KEY_PRIMARY: KEY,
    DB_URL: "postgres://reader@127.0.0.1:1/app",
    RATE_LIMIT_STORE: "redis",
    DB_PASSWORD: "secret-value-never-printed",
    // A Kubernetes service link of a Service named "db" is not ours.
    DB_PORT: "tcp://10.0.0.7:5432",
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /Cannot start: unknown variables in "production"/);
  assert.match(result.stderr, /RATE_LIMIT_STORE: .*did you mean RATE_LIMIT_STORAGE\?/);
  assert.match(result.stderr, /DB_PASSWORD: is not a variable this server reads/);
  assert.ok(!result.stderr.includes("DB_PORT"));
  assert.ok(!result.stderr.includes("secret-value-never-printed"));
});

Deno.test("main refuses a mistyped DB_URL in production instead of serving the demo database", async () => {
  const result = await run([], {
    ENVIRONMENT: "production",
    API_KEY_PRIMARY: KEY,
    DB_ULR: "postgres://reader@127.0.0.1:1/app",
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /DB_URL: is required in "production"/);
  assert.match(result.stderr, /DB_EMBEDDED=true/);
});

Deno.test("main warns about a near-miss variable in development and serves only the tools it has", async () => {
  const server = await spawnServer(["run", ...(await compilePermissionFlags()), MAIN], {
    API_KEY_PRIMAY: KEY,
    DB_URL: "postgres://reader@127.0.0.1:1/app",
    DB_CONNECT_TIMEOUT_SECONDS: "1",
  });
  try {
    const warned = server.stdout.map((l) => JSON.parse(l)).find((l) =>
      l.message === "unknown variable ignored"
    );
    assert.equal(warned?.variable, "API_KEY_PRIMAY");
    assert.equal(warned?.did_you_mean, "API_KEY_PRIMARY");
    // The generated key's banner shows a call that works: the list of served tools.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!server.stderr().includes("get_top_customers"), server.stderr());
    assert.match(server.stderr(), /curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/mcp -H/);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr());
  }
});
