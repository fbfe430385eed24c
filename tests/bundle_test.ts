import assert from "node:assert/strict";
import { compilePermissionFlags, runDeno, spawnServer, toolchainEnv } from "./process.ts";

const KEY = "bundle-test-key-0123456789ab";

Deno.test("the bundle runs from an empty directory with only the compile task's permissions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-bundle-" });
  try {
    const bundle = `${dir}/mcp-tool-server.js`;
    const built = await runDeno([
      "bundle",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      "--platform=deno",
      new URL("../main.ts", import.meta.url).pathname,
      "-o",
      bundle,
    ], toolchainEnv());
    assert.equal(built.code, 0, built.stderr);

    const flags = await compilePermissionFlags();
    assert.deepEqual(flags, ["--allow-net", "--allow-env", "--allow-read=/run/secrets"]);
    // Nothing but the bundle in the working directory: no node_modules, no deno.json.
    const server = await spawnServer(
      ["run", "--no-config", "--unstable-no-legacy-abort", ...flags, "mcp-tool-server.js"],
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
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["mcp-tool-server.js"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
