/**
 * `WORKERS=2` end to end: the real program with the start:parallel task's
 * permissions, two isolates on one port. Every request goes on a new TCP
 * connection, so the kernel spreads them over both isolates (the audit
 * lines say which served each), and the test checks what must stay one
 * thing across them: the rate limit, the metrics, the logs, key reloads and
 * the shutdown.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  compilePermissionFlags,
  freePort,
  permissionFlags,
  type ServerProcess,
  spawnServer,
} from "../process.ts";
import {
  createTestDatabase,
  postgresUnavailable,
  type TestDatabase,
} from "../sources/db/pg_fixture.ts";
import { certificate, opensslUnavailable } from "../fixtures/tls.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KEY = "workers-test-key-0123456789";

async function parallelFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  return permissionFlags(config.tasks["start:parallel"]);
}

/** One HTTP/1.1 request on a connection of its own. */
async function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = [
    `${method} ${path} HTTP/1.1`,
    `host: 127.0.0.1:${port}`,
    "connection: close",
    `content-length: ${new TextEncoder().encode(body).length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(`${head}\r\n\r\n${body}`));
  const text = await new Response(conn.readable).text();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

/** A REST call of `tool` with a JSON `body`, on a connection of its own. */
const callTool = (port: number, tool: string, body: string, key = KEY) =>
  request(port, "POST", `/v1/mcp/${tool}`, {
    authorization: `Bearer ${key}`,
    "content-type": "application/json",
  }, body);

const lookup = (port: number, key = KEY) => callTool(port, "lookup_customer", '{"id":42}', key);

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const lines = (stdout: string[]) =>
  stdout.flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });

/**
 * Runs `test` against `main.ts` started with WORKERS=2 on a fresh test
 * database and a free port, once every isolate listens; stops it after.
 */
async function withWorkers(
  env: Record<string, string>,
  test: (server: ServerProcess, port: number, db: TestDatabase) => Promise<void>,
  extraFlags: (flags: string[]) => string[] = (flags) => flags,
): Promise<void> {
  const db = await createTestDatabase();
  const port = freePort();
  try {
    const server = await spawnServer(
      ["run", ...extraFlags(await parallelFlags()), "main.ts"],
      // The test database holds the demo schema: its demo tools are asked for.
      { DB_URL: db.url, DEMO_TOOLS: "true", PORT: String(port), WORKERS: "2", ...env },
      { cwd: ROOT },
    );
    try {
      await until(
        "workers listening",
        () => server.stdout.some((l) => l.includes("workers listening")),
      );
      await test(server, port, db);
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch { /* already exited */ }
    }
  } finally {
    await db.drop();
  }
}

/**
 * The most connections the server had open to `admin`'s database while
 * `calls` ran, sampled every 25 ms; every call must answer 200.
 */
async function mostConnectionsDuring(
  admin: TestDatabase["admin"],
  calls: Promise<{ status: number; body: string }>[],
): Promise<number> {
  let most = 0;
  let done = false;
  const all = Promise.all(calls).finally(() => done = true);
  while (!done) {
    const [{ n }] = await admin`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'mcp-tool-server'`;
    most = Math.max(most, n);
    await new Promise((r) => setTimeout(r, 25));
  }
  const answers = await all;
  assert.deepEqual(answers.map((a) => a.status), answers.map(() => 200), answers[0].body);
  return most;
}

/** Each isolate answered some of `logged` (20 new connections all on one isolate: 2 in 2²⁰). */
function assertBothServed(logged: { isolate?: number }[]): void {
  assert.deepEqual(
    [...new Set(logged.map((l) => l.isolate))].sort(),
    [0, 1],
    "both isolates served",
  );
}

Deno.test({
  name: "WORKERS=2: one rate limit, summed metrics, every log line, a clean stop",
  ignore: postgresUnavailable !== undefined,
  fn: () =>
    // Windows are aligned to the clock (shared_counters.ts): an hour's window,
    // and a start well inside it, so no window ends among the 20 calls below.
    withWorkers({
      API_KEY_PRIMARY: KEY,
      RATE_LIMIT_RPM: "10",
      RATE_LIMIT_WINDOW_SECONDS: "3600",
    }, async (server, port) => {
      // Scraped at once, before the primary's warm-up (1 s) loads the process
      // metrics: whichever isolate answers, they are there, once.
      for (let i = 0; i < 8; i++) {
        const { body } = await request(port, "GET", "/metrics", {});
        assert.equal(body.match(/^process_cpu_user_seconds_total /gm)?.length, 1, `scrape ${i}`);
      }
      const untilNextWindow = 3_600_000 - Date.now() % 3_600_000;
      if (untilNextWindow < 30_000) await new Promise((r) => setTimeout(r, untilNextWindow + 100));
      const statuses = [];
      for (let i = 0; i < 20; i++) statuses.push((await lookup(port)).status);
      // One budget for the key, whichever isolate each request reached.
      assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(","));
      assert.equal(statuses.filter((s) => s === 429).length, 10, statuses.join(","));
      // Ten audit lines of calls, ten of refusals (429), from both isolates.
      const requestLines = () =>
        lines(server.stdout).filter((l) =>
          (l.message === "tool call" && l.tool_name === "lookup_customer") ||
          (l.message === "request error" && l.status_code === 429)
        );
      await until("20 request lines", () => requestLines().length === 20);
      assertBothServed(requestLines());
      // Every scrape, whichever isolate answers it, counts every isolate's calls.
      for (let i = 0; i < 4; i++) {
        const { status, body } = await request(port, "GET", "/metrics", {});
        assert.equal(status, 200);
        assert.match(body, /tool_calls_total\{tool_name="lookup_customer",status="success"\} 10\n/);
        assert.match(
          body,
          /tool_calls_total\{tool_name="lookup_customer",status="rate_limited"\} 10\n/,
        );
        // Process metrics once (the primary's), not once per isolate.
        assert.equal(body.match(/^process_cpu_user_seconds_total /gm)?.length, 1);
      }
      const status = await server.stop("SIGTERM");
      assert.equal(status.code, 0, server.stderr());
      const logged = lines(server.stdout);
      assert.ok(logged.some((l) => l.message === "server stopped"));
      assert.equal(
        logged.filter((l) => l.tool_name === "lookup_customer" && l.status === "success").length,
        10,
        "the workers' lines are flushed before the process exits",
      );
    }),
});

Deno.test({
  name: "WORKERS=2: the isolates share DB_POOL_SIZE + DB_POOL_MAX_OVERFLOW, not open it each",
  ignore: postgresUnavailable !== undefined,
  fn: () =>
    withWorkers({
      API_KEY_PRIMARY: KEY,
      RATE_LIMIT_RPM: "100000",
      // The pools are under test, not the per-key bound: one key fills them.
      MAX_CONCURRENT_CALLS_PER_KEY: "100",
      ENABLE_SQL_QUERY_TOOL: "true",
      // A budget of 4: isolate 0 keeps 2 + 1, isolate 1 keeps 1 + 0.
      DB_POOL_SIZE: "3",
      DB_POOL_MAX_OVERFLOW: "1",
    }, async (_server, port, db) => {
      // 16 slow calls at once, each on a connection of its own, so both
      // isolates get more than their pool: each opens all it may.
      const most = await mostConnectionsDuring(
        db.admin,
        Array.from({ length: 16 }, () =>
          callTool(port, "sql_query", '{"query":"SELECT pg_sleep(0.3) AS slept"}')),
      );
      // Without the split, each isolate would open 4 (8 in all).
      assert.equal(most, 4, `at most ${most} connections at once`);
    }),
});

Deno.test({
  name: "WORKERS=2: a tools file's pool_size is shared by the isolates too",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/tools.yaml`;
    // The file's source on a database of its own, so its connections are told
    // apart from the server's own pool.
    const warehouse = await createTestDatabase();
    await Deno.writeTextFile(
      file,
      `sources:
  warehouse:
    kind: postgres
    url: ${warehouse.url}
    pool_size: 3
tools:
  slow:
    kind: sql
    source: warehouse
    description: Sleeps a little.
    statement: SELECT pg_sleep(0.3)::text AS slept
`,
    );
    try {
      await withWorkers(
        {
          API_KEY_PRIMARY: KEY,
          RATE_LIMIT_RPM: "100000",
          // The pools are under test, not the per-key bound: one key fills them.
          MAX_CONCURRENT_CALLS_PER_KEY: "100",
          TOOLS_FILE: file,
          // No overflow: the file's source opens exactly its share in each isolate.
          DB_POOL_MAX_OVERFLOW: "0",
        },
        async (_server, port) => {
          // 12 slow calls at once: both isolates get more than their share.
          const most = await mostConnectionsDuring(
            warehouse.admin,
            Array.from({ length: 12 }, () => callTool(port, "slow", "{}")),
          );
          // pool_size 3 over two isolates: 2 + 1. Without the split, 3 each.
          assert.equal(most, 3, `at most ${most} connections at once`);
        },
        (flags) => flags.map((f) => f.startsWith("--allow-read=") ? `${f},${file}` : f),
      );
    } finally {
      await warehouse.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "WORKERS=2: SIGHUP reloads API_KEYS_FILE in every isolate",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/keys.yaml`;
    const first = "first-file-key-0123456789";
    const second = "second-file-key-0123456789";
    const entry = (id: string, key: string) =>
      `keys: [{ id: ${id}, sha256: ${createHash("sha256").update(key).digest("hex")} }]\n`;
    await Deno.writeTextFile(file, entry("first", first));
    const withFile = (flags: string[]) =>
      flags.map((f) => f.startsWith("--allow-read=") ? `${f},${file}` : f);
    try {
      await withWorkers({ API_KEYS_FILE: file }, async (server, port) => {
        for (let i = 0; i < 6; i++) assert.equal((await lookup(port, first)).status, 200);
        await Deno.writeTextFile(file, entry("second", second));
        server.child.kill("SIGHUP");
        await until(
          "both isolates reloaded",
          () =>
            lines(server.stdout).filter((l) => l.message === "API keys file reloaded").length ===
              2,
        );
        for (let i = 0; i < 10; i++) {
          assert.equal((await lookup(port, second)).status, 200, `request ${i}`);
          assert.equal((await lookup(port, first)).status, 401, `request ${i}`);
        }
        assert.equal((await server.stop("SIGTERM")).code, 0);
      }, withFile);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "WORKERS=2 without read access to the program: exit 1 naming the grants",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...(await compilePermissionFlags()), "main.ts"],
        cwd: ROOT,
        env: {
          API_KEY_PRIMARY: KEY,
          DB_URL: db.url,
          PORT: String(freePort()),
          WORKERS: "2",
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
      });
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, stderr);
      assert.match(stderr, /--allow-read=main\.ts,src,vendor,node_modules/);
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "WORKERS=2 in development without a key: the generated key works on every isolate",
  ignore: postgresUnavailable !== undefined,
  fn: () =>
    withWorkers({}, async (server, port) => {
      const key = /generated a development key[^\n]*\n\s+(\S+)/.exec(server.stderr())?.[1];
      assert.ok(key, server.stderr());
      for (let i = 0; i < 20; i++) {
        assert.equal((await lookup(port, key)).status, 200, `request ${i}`);
      }
      const calls = () => lines(server.stdout).filter((l) => l.message === "tool call");
      await until("20 audit lines", () => calls().length === 20);
      assertBothServed(calls());
      assert.equal((await server.stop("SIGTERM")).code, 0);
    }),
});

Deno.test({
  name: "WORKERS=2 with native TLS: every isolate speaks HTTPS with the primary's certificate",
  ignore: postgresUnavailable !== undefined || opensslUnavailable !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-workers-tls-" });
    const { cert, key, ca } = await certificate(dir);
    const caCerts = [await Deno.readTextFile(ca)];
    // Only the primary reads the files: the workers get their contents.
    const withFiles = (flags: string[]) =>
      flags.map((f) => f.startsWith("--allow-read=") ? `${f},${cert},${key}` : f);
    try {
      await withWorkers(
        { API_KEY_PRIMARY: KEY, TLS_CERT_FILE: cert, TLS_KEY_FILE: key },
        async (server, port) => {
          for (let i = 0; i < 20; i++) {
            // A client per request: a new TLS connection each time.
            const client = Deno.createHttpClient({ caCerts });
            try {
              const res = await fetch(`https://localhost:${port}/v1/mcp/lookup_customer`, {
                method: "POST",
                headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
                body: '{"id":42}',
                client,
              });
              assert.equal(res.status, 200, `request ${i}`);
              assert.equal((await res.json()).name, "Alan Carter");
            } finally {
              client.close();
            }
          }
          const calls = () => lines(server.stdout).filter((l) => l.message === "tool call");
          await until("20 audit lines", () => calls().length === 20);
          assertBothServed(calls());
          assert.equal((await server.stop("SIGTERM")).code, 0);
        },
        withFiles,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "WORKERS=2 with a tools file: every isolate serves its tools",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/tools.yaml`;
    await Deno.writeTextFile(
      file,
      "tools:\n  file_answer:\n    kind: sql\n    description: The answer, from a tools file.\n" +
        "    statement: SELECT 42 AS answer\n",
    );
    const withFile = (flags: string[]) =>
      flags.map((f) => f.startsWith("--allow-read=") ? `${f},${file}` : f);
    try {
      await withWorkers({ API_KEY_PRIMARY: KEY, TOOLS_FILE: file }, async (server, port) => {
        for (let i = 0; i < 20; i++) {
          const res = await callTool(port, "file_answer", "{}");
          assert.equal(res.status, 200, `request ${i}: ${res.body}`);
          assert.match(res.body, /"answer":42/);
        }
        const calls = () =>
          lines(server.stdout).filter((l) =>
            l.message === "tool call" && l.tool_name === "file_answer"
          );
        await until("20 audit lines", () => calls().length === 20);
        assertBothServed(calls());
        assert.equal((await server.stop("SIGTERM")).code, 0);
      }, withFile);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
