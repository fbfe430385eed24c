/**
 * Scopes and the keys file through the whole app: both doors, both MCP
 * paths (the fast one and the SDK's), listings, batches, per-key limits,
 * expiry and a reload.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { hashKey } from "../../src/auth/key_ring.ts";
import { defineTool } from "../../src/tools/define.ts";
import {
  createTestApp,
  errorOf,
  MCP_HEADERS,
  mcpToolCall,
  postJson,
  SECONDARY_KEY,
  type TestApp,
} from "../harness.ts";

const calls: string[] = [];
const publicEcho = defineTool({
  name: "public_echo",
  description: "Echoes its text (needs tools:read, the default).",
  input: z.strictObject({ text: z.string().max(10) }),
  handler: ({ text }) => {
    calls.push("public_echo");
    return Promise.resolve({ text });
  },
});
const report = defineTool({
  name: "secret_report",
  description: "A report only reports:read keys may run.",
  input: z.strictObject({}),
  scopes: ["reports:read"],
  handler: () => {
    calls.push("secret_report");
    return Promise.resolve({ total: 42 });
  },
});

const REPORTER_KEY = "reporter-key-0123456789abc";
const EXPIRED_KEY = "expired-key-0123456789abcd";
const NEW_KEY = "rotated-key-0123456789abcd";

function keysYaml(entries: string[]): string {
  return `keys:\n${entries.join("\n")}\n`;
}
const REPORTER = `  - id: reporter
    sha256: ${hashKey(REPORTER_KEY)}
    scopes: [reports:read]
    rate_limit_rpm: 3`;
const EXPIRED = `  - id: old-bot
    sha256: ${hashKey(EXPIRED_KEY)}
    expires: 2020-01-01`;

async function withApp(fn: (app: TestApp, keysFile: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const keysFile = `${dir}/keys.yaml`;
  await Deno.writeTextFile(keysFile, keysYaml([REPORTER, EXPIRED]));
  const toolsFile = `${dir}/tools.yaml`;
  await Deno.writeTextFile(
    toolsFile,
    "tools:\n  file_report:\n    kind: sql\n    description: A file tool with a scope.\n" +
      "    statement: SELECT 1 AS one\n    scopes: [reports:read]\n",
  );
  const app = await createTestApp({
    tools: [publicEcho, report],
    env: {
      API_KEY_SECONDARY_SCOPES: "tools:read",
      API_KEYS_FILE: keysFile,
      TOOLS_FILE: toolsFile,
      RATE_LIMIT_RPM: "1000",
    },
  });
  try {
    await fn(app, keysFile);
  } finally {
    await app.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function names(list: { tools: { name: string }[] }): string[] {
  return list.tools.map((t) => t.name).sort();
}

function mcp(app: TestApp, key: string, body: unknown): Promise<Response> {
  return app.request("/mcp", {
    key,
    method: "POST",
    headers: MCP_HEADERS,
    body: JSON.stringify(body),
  });
}

Deno.test("scopes: listings show a key only the tools it may call, on both doors and both MCP paths", async () => {
  await withApp(async (app) => {
    const all = ["file_report", "public_echo", "secret_report"];
    assert.deepEqual(names(await (await app.request("/v1/mcp")).json()), all, "no scope list");
    assert.deepEqual(
      names(await (await app.request("/v1/mcp", { key: SECONDARY_KEY })).json()),
      ["public_echo"],
    );
    assert.deepEqual(
      names(await (await app.request("/v1/mcp", { key: REPORTER_KEY })).json()),
      ["file_report", "secret_report"],
    );
    // The fast path answers a plain tools/list; `_meta` sends it through the SDK.
    for (const params of [undefined, { _meta: { progressToken: 1 } }]) {
      const res = await mcp(app, SECONDARY_KEY, {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
        ...(params && { params }),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(names((await res.json()).result), ["public_echo"]);
    }
  });
});

Deno.test("scopes: REST answers 403 forbidden with the scope the tool needs; the tool never runs", async () => {
  await withApp(async (app) => {
    calls.length = 0;
    const res = await postJson(app, "/v1/mcp/secret_report", {}, { key: SECONDARY_KEY });
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get("www-authenticate"),
      'Bearer realm="mcp-tool-server", error="insufficient_scope", scope="reports:read"',
    );
    const body = await errorOf(res);
    assert.equal(body.status, "forbidden");
    assert.match(body.error, /may not call secret_report/);
    assert.ok(res.headers.get("x-ratelimit-remaining"), "the attempt still counts");
    assert.deepEqual(calls, []);
    // A file key with reports:read lacks tools:read, which public_echo needs by default.
    const echo = await postJson(app, "/v1/mcp/public_echo", { text: "x" }, { key: REPORTER_KEY });
    assert.equal(echo.status, 403);
    assert.match(echo.headers.get("www-authenticate")!, /scope="tools:read"/);
    // Unknown stays 404, allowed stays 200.
    const unknown = await postJson(app, "/v1/mcp/nope", {}, { key: SECONDARY_KEY });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const ok = await postJson(app, "/v1/mcp/secret_report", {}, { key: REPORTER_KEY });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { total: 42 });
    const file = await postJson(app, "/v1/mcp/file_report", {}, { key: SECONDARY_KEY });
    assert.equal(file.status, 403, "a tools-file tool's scopes apply too");
    await file.body?.cancel();
    assert.deepEqual(calls, ["secret_report"]);
  });
});

Deno.test("scopes: MCP answers HTTP 403 with WWW-Authenticate insufficient_scope, batches included", async () => {
  await withApp(async (app) => {
    calls.length = 0;
    const call = (id: number, name: string) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: name === "public_echo" ? { text: "x" } : {} },
    });
    const res = await mcp(app, SECONDARY_KEY, call(7, "secret_report"));
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get("www-authenticate"),
      'Bearer realm="mcp-tool-server", error="insufficient_scope", scope="reports:read"',
    );
    const body = await res.json();
    assert.equal(body.id, 7);
    assert.equal(body.error.code, -32000);
    assert.equal(body.error.data.status, "forbidden");
    assert.ok(body.error.data.request_id);
    // One forbidden call refuses the whole batch, before any of it runs.
    const batch = await mcp(app, SECONDARY_KEY, [call(1, "public_echo"), call(2, "secret_report")]);
    assert.equal(batch.status, 403);
    await batch.body?.cancel();
    assert.deepEqual(calls, []);
    const allowed = await mcpToolCall(app, "secret_report", {});
    assert.equal(allowed.status, 200, "the primary key has no scope list");
    assert.deepEqual((await allowed.json()).result.structuredContent, { total: 42 });
  });
});

Deno.test("keys file: its own rate limit, expiry (401, logged by id) and a reload", async () => {
  await withApp(async (app, keysFile) => {
    for (let i = 0; i < 3; i++) {
      const res = await postJson(app, "/v1/mcp/secret_report", {}, { key: REPORTER_KEY });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-limit"), "3", "rate_limit_rpm of the file");
      await res.body?.cancel();
    }
    const limited = await postJson(app, "/v1/mcp/secret_report", {}, { key: REPORTER_KEY });
    assert.equal(limited.status, 429);
    await limited.body?.cancel();

    const expired = await postJson(app, "/v1/mcp/public_echo", { text: "x" }, {
      key: EXPIRED_KEY,
    });
    assert.equal(expired.status, 401);
    assert.equal((await errorOf(expired)).status, "unauthorized");
    const line = app.lines().find((l) => l.message === "expired API key presented");
    assert.equal(line?.key_id, "old-bot");
    assert.ok(!JSON.stringify(app.lines()).includes(EXPIRED_KEY), "the key is never logged");
    assert.ok(
      app.lines().some((l) =>
        l.message === "API keys file lists expired keys; they are refused" &&
        JSON.stringify(l.key_ids) === '["old-bot"]'
      ),
    );

    // Rotation: the new file replaces the old file keys at once.
    await Deno.writeTextFile(
      keysFile,
      keysYaml([`  - id: rotated\n    sha256: ${hashKey(NEW_KEY)}\n    scopes: [tools:read]`]),
    );
    assert.deepEqual(await app.reloadKeys(), { ok: true, keys: 1 });
    const gone = await postJson(app, "/v1/mcp/secret_report", {}, { key: REPORTER_KEY });
    assert.equal(gone.status, 401);
    await gone.body?.cancel();
    const fresh = await postJson(app, "/v1/mcp/public_echo", { text: "y" }, { key: NEW_KEY });
    assert.equal(fresh.status, 200);
    await fresh.body?.cancel();

    // A bad file changes nothing.
    await Deno.writeTextFile(keysFile, "keys: [{ id: x, sha256: nope }]");
    const refused = await app.reloadKeys();
    assert.equal(refused.ok, false);
    assert.match(
      !refused.ok ? refused.error : "",
      /keys\.yaml:1:\d+: keys\.0\.sha256: expected 64 hex/,
    );
    assert.ok(
      app.lines().some((l) => String(l.message).startsWith("API keys file reload refused")),
    );
    const still = await postJson(app, "/v1/mcp/public_echo", { text: "z" }, { key: NEW_KEY });
    assert.equal(still.status, 200);
    await still.body?.cancel();
  });
});

Deno.test("keys file: a bad one stops the start, naming file, line and column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/keys.json`;
    await Deno.writeTextFile(path, JSON.stringify({ keys: [{ id: "a", sha256: "x" }] }));
    await assert.rejects(
      () => createTestApp({ tools: [publicEcho], env: { API_KEYS_FILE: path } }),
      new RegExp(`${path}:1:\\d+: keys\\.0\\.sha256`),
    );
    await assert.rejects(
      () => createTestApp({ tools: [publicEcho], env: { API_KEYS_FILE: `${dir}/missing` } }),
      /no such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scopes: a tool declaring a bad scope list is refused at registration", async () => {
  const bad = defineTool({ ...report, name: "bad_scopes", scopes: [] });
  await assert.rejects(() => createTestApp({ tools: [bad] }), /scopes must be a non-empty list/);
  const worse = defineTool({ ...report, name: "worse_scopes", scopes: ["has space"] });
  await assert.rejects(() => createTestApp({ tools: [worse] }), /scopes must be/);
});
