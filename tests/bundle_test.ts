import assert from "node:assert/strict";
import {
  buildBundle,
  bundlePermissionFlags,
  compilePermissionFlags,
  runDeno,
  spawnServer,
} from "./process.ts";
import { BUNDLE_ENTRY } from "../scripts/bundle.ts";
import { createTestDatabase, postgresUnavailable } from "./sources/db/pg_fixture.ts";

const KEY = "bundle-test-key-0123456789ab";

/** The names in `dir`, sorted. */
function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("the bundle runs from its own folder with the compile task's permissions and read access to that folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-bundle-" });
  try {
    await buildBundle(dir);
    const built = listing(dir);
    assert.ok(built.includes(BUNDLE_ENTRY), built.join(" "));

    assert.deepEqual(await compilePermissionFlags(), [
      "--allow-net",
      "--allow-env",
      "--allow-read=/etc/mcp-tool-server,/run/secrets,/run/credentials",
      "--allow-write=/var/log/mcp-tool-server",
    ]);
    const flags = await bundlePermissionFlags(dir);
    // Nothing but the bundle in the working directory: no node_modules, no deno.json.
    const server = await spawnServer(
      ["run", "--no-config", "--unstable-no-legacy-abort", ...flags, BUNDLE_ENTRY],
      // sql_query on the embedded database: its worker is bundled as text and started from a blob.
      { API_KEY_PRIMARY: KEY, ENABLE_SQL_QUERY_TOOL: "true", DB_QUERY_TIMEOUT_SECONDS: "1" },
      { cwd: dir },
    );
    try {
      const live = await fetch(`${server.url}/health/live`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: "alive" });
      const res = await fetch(`${server.url}/v1/mcp/get_top_customers`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ limit: 2 }),
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.customers.length, 2);
      assert.equal(body.total_count, 1000);
      // The REST tools through cockatiel's policies and the in-process demo upstream.
      const viaApi = await fetch(`${server.url}/v1/mcp/get_customer`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ customer_id: 42 }),
      });
      assert.equal(viaApi.status, 200);
      assert.equal((await viaApi.json()).email, "customer42@example.com");
      // sql_query: the parser's WASM and the embedded database's worker are in the bundle.
      const sqlQuery = (query: string) =>
        fetch(`${server.url}/v1/mcp/sql_query`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ query, params: { id: 7 } }),
        });
      const found = await sqlQuery("SELECT id, name FROM customers WHERE id = :id");
      assert.equal(found.status, 200, await found.clone().text());
      assert.equal((await found.json()).rows[0].id, 7);
      // A statement that would run ten minutes is cut at the 1 s timeout, and the
      // server answers other requests meanwhile.
      const started = performance.now();
      const sleeping = sqlQuery("SELECT pg_sleep(600) WHERE :id > 0");
      await new Promise((r) => setTimeout(r, 300));
      const liveStarted = performance.now();
      const liveMeanwhile = await fetch(`${server.url}/health/live`);
      assert.equal(liveMeanwhile.status, 200);
      await liveMeanwhile.body?.cancel();
      assert.ok(performance.now() - liveStarted < 500, "the server stalled during the statement");
      const cut = await sleeping;
      assert.equal(cut.status, 504);
      assert.equal((await cut.json()).status, "retry");
      assert.ok(performance.now() - started < 5000);
      const after = await sqlQuery("SELECT count(*)::int AS n FROM orders WHERE :id > 0");
      assert.equal(after.status, 200, await after.clone().text());
      // The docs page and Swagger UI's files are embedded too (bytes imports), no file read.
      const docs = await fetch(`${server.url}/docs`);
      assert.equal(docs.status, 200);
      const html = await docs.text();
      const script = /src="(docs\/swagger-ui-bundle\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
      assert.ok(script, html);
      const asset = await fetch(`${server.url}/${script}`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get("content-type"), "text/javascript; charset=utf-8");
      const source = await asset.text();
      assert.ok(source.length > 1_000_000, `${source.length} characters`);
      assert.match(source.slice(0, 200), /swagger-ui-bundle/);
    } finally {
      assert.equal((await server.stop()).code, 0, server.stderr());
    }
    // The server wrote nothing beside its own files.
    assert.deepEqual(listing(dir), built);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a start on PostgreSQL loads only the code it runs: the embedded database, the parser and /docs (code and embedded files) stay unread until used",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-bundle-lazy-" });
    const db = await createTestDatabase();
    try {
      await buildBundle(dir);
      // Without these chunks a start that read them would fail before its
      // first line ran (a literal import() is loaded with its importer).
      // The same for the embedded files beside them (WASM, data, Swagger UI):
      // read when their module is imported, never at start.
      const removed: string[] = [];
      for (const name of listing(dir)) {
        if (/^(pglite_worker|pg_parser|docs_assets)-|^embedded-.*\.bin$/.test(name)) {
          await Deno.remove(`${dir}/${name}`);
          removed.push(name);
        }
      }
      assert.equal(removed.filter((n) => n.endsWith(".js")).length, 3, removed.join(" "));
      assert.ok(removed.filter((n) => n.endsWith(".bin")).length >= 5, removed.join(" "));
      const server = await spawnServer(
        [
          "run",
          "--no-config",
          "--unstable-no-legacy-abort",
          ...await bundlePermissionFlags(dir),
          BUNDLE_ENTRY,
        ],
        { API_KEY_PRIMARY: KEY, DB_URL: db.url, DEMO_TOOLS: "true" },
        { cwd: dir },
      );
      try {
        const res = await fetch(`${server.url}/v1/mcp/get_top_customers`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ limit: 3 }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal((await res.json()).customers.length, 3);
        // /docs is what needed a removed chunk: read at its first request, not before.
        const docs = await fetch(`${server.url}/docs`);
        assert.equal(docs.status, 500);
        await docs.body?.cancel();
      } finally {
        await server.stop();
      }
    } finally {
      await db.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the bundle without read access to its own folder stops at once and says which folder to grant", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-bundle-noread-" });
  try {
    await buildBundle(dir);
    const result = await runDeno(
      [
        "run",
        "--no-config",
        "--unstable-no-legacy-abort",
        ...await compilePermissionFlags(),
        BUNDLE_ENTRY,
      ],
      { API_KEY_PRIMARY: KEY, PORT: "0" },
      { cwd: dir },
    );
    assert.equal(result.code, 2, result.stderr);
    const real = await Deno.realPath(dir);
    assert.equal(
      result.stderr.trim(),
      `Cannot run: this bundle reads its parts from ${real}/ when they are first needed: add that folder to --allow-read`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Makes `dir` and its missing parents, recording each one made (newest first) in `made`. */
async function ensureDir(dir: string, made: string[]): Promise<void> {
  const parts = dir.split("/").slice(1);
  for (let i = 1; i <= parts.length; i++) {
    const path = `/${parts.slice(0, i).join("/")}`;
    try {
      await Deno.mkdir(path);
      made.unshift(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/** Writes `text` at `path`, making its folders; records what to remove in `made`. */
async function place(path: string, text: string, made: string[]): Promise<void> {
  await ensureDir(path.slice(0, path.lastIndexOf("/")), made);
  await Deno.writeTextFile(path, text);
  made.unshift(path);
}

Deno.test({
  name:
    "the bundle with the compile flags reads its tools file, keys and secret from the configuration folders and logs to its log folder",
  // It writes under /etc, /run and /var/log (removed afterwards): root only.
  ignore: Deno.uid?.() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-bundle-config-" });
    const id = crypto.randomUUID().slice(0, 8);
    const toolsFile = `/etc/mcp-tool-server/test-${id}-tools.yaml`;
    const keysFile = `/run/credentials/mcp-tool-server-test-${id}/keys.yaml`;
    const keyFile = `/run/secrets/test-${id}-api-key`;
    const logFile = `/var/log/mcp-tool-server/test-${id}.log`;
    const made: string[] = [];
    const FILE_KEY = "bundle-file-key-0123456789abcdef";
    const sha256 = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(FILE_KEY))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    try {
      await place(
        toolsFile,
        "tools:\n  customer_count:\n    kind: sql\n    description: How many customers.\n" +
          "    statement: SELECT count(*)::int AS n FROM customers\n",
        made,
      );
      await place(keysFile, `keys:\n  - id: reporting-bot\n    sha256: ${sha256}\n`, made);
      await place(keyFile, `${KEY}\n`, made);
      await buildBundle(dir);
      const args = [
        "run",
        "--no-config",
        "--unstable-no-legacy-abort",
        ...await bundlePermissionFlags(dir),
        BUNDLE_ENTRY,
      ];
      // The log folder is what systemd's LogsDirectory= makes: it exists before the start.
      await ensureDir("/var/log/mcp-tool-server", made);
      const env = {
        ENVIRONMENT: "production",
        DB_EMBEDDED: "true",
        TOOLS_FILE: toolsFile,
        API_KEYS_FILE: keysFile,
        API_KEY_PRIMARY_FILE: keyFile,
        LOG_FILE: logFile,
      };
      made.unshift(logFile);
      const server = await spawnServer(args, env, { cwd: dir });
      try {
        const res = await fetch(`${server.url}/v1/mcp/customer_count`, {
          method: "POST",
          headers: { authorization: `Bearer ${FILE_KEY}`, "content-type": "application/json" },
          body: "{}",
        });
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal((await res.json()).rows[0].n, 1000);
        const viaSecret = await fetch(`${server.url}/v1/mcp`, {
          headers: { authorization: `Bearer ${KEY}` },
        });
        assert.equal(viaSecret.status, 200);
        await viaSecret.body?.cancel();
      } finally {
        assert.equal((await server.stop()).code, 0, server.stderr());
      }
      const logged = (await Deno.readTextFile(logFile)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.ok(logged.some((l) => l.message === "server started"));
      assert.ok(logged.some((l) => l.message === "tool call" && l.tool_name === "customer_count"));

      // A tools file anywhere else (not the bundle's own folder, which it may
      // read): the message says where to put it.
      const outside = await Deno.makeTempDir({ prefix: "mcp-bundle-elsewhere-" });
      made.push(outside);
      await Deno.writeTextFile(`${outside}/tools.yaml`, "tools: {}\n");
      made.unshift(`${outside}/tools.yaml`);
      const elsewhere = await runDeno(args, { ...env, TOOLS_FILE: `${outside}/tools.yaml` }, {
        cwd: dir,
      });
      assert.equal(elsewhere.code, 2);
      assert.match(
        elsewhere.stderr,
        /no permission to read .*tools\.yaml: put it under \/etc\/mcp-tool-server\/, \/run\/secrets\/, \/run\/credentials\//,
      );
      assert.ok(!/NotCapable|at .*\.js:\d+/.test(elsewhere.stderr), elsewhere.stderr);
      // A log file outside the log folder, likewise.
      const badLog = await runDeno(args, { ...env, LOG_FILE: `${dir}/mcp.log` }, { cwd: dir });
      assert.equal(badLog.code, 2);
      assert.match(badLog.stderr, /put it under \/var\/log\/mcp-tool-server\//);
    } finally {
      for (const path of made) await Deno.remove(path).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
