/**
 * The response cache: its key, the registry's check of `cacheTtlSeconds`,
 * and the whole path through both doors of a real app (memory store, Redis
 * store shared by two apps, Redis down).
 *
 * @module
 */
import { createAdmission } from "../../src/http/admission.ts";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { z } from "zod";
import { cacheKey, canonicalJson } from "../../src/cache/response_cache.ts";
import { mcpDoor } from "../../src/mcp/door.ts";
import type { RateLimitPolicy } from "../../src/http/middleware/rate_limit.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";
import { defineTool, type Tool } from "../../src/tools/define.ts";
import { ToolError } from "../../src/tools/errors.ts";
import { invokeTool } from "../../src/tools/invoke.ts";
import { createRegistry, RegistryError } from "../../src/tools/registry.ts";
import { createToolCache } from "../../src/cache/response_cache.ts";
import { createMemoryCache } from "../../src/cache/memory_cache.ts";
import { SERVER_VERSION } from "../../src/version.ts";
import { echo } from "../fixtures/tools.ts";
import {
  createTestApp,
  MCP_HEADERS,
  mcpToolCall,
  postJson,
  requestContext,
  SECONDARY_KEY,
  type TestApp,
} from "../harness.ts";
import { redisUnavailable, TEST_REDIS_URL } from "../ratelimit/redis_fixture.ts";

/** A loopback port in this suite's range where no Redis listens (checked). */
const DEAD_REDIS_PORT = 18743;

const noSql = {
  kind: "postgres",
  query: () => Promise.reject(new Error("no database in this test")),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve(),
} as unknown as SqlSource;

/** Cacheable test tools, each counting how often its handler ran. */
function cachedTools(ttlSeconds = 60) {
  const runs = { lookup: 0, flaky: 0, failing: 0, brief: 0 };
  const lookup = defineTool({
    name: "cached_lookup",
    description: "Returns its input, the principal and which run answered.",
    input: z.strictObject({ a: z.string().max(20), b: z.int().default(1) }),
    cacheTtlSeconds: ttlSeconds,
    handler: (input, ctx) =>
      Promise.resolve({ ...input, principal: ctx.principal.id, run: ++runs.lookup }),
  });
  const flaky = defineTool({
    name: "cached_flaky",
    description: "Fails on its first run, succeeds after.",
    input: z.strictObject({}),
    cacheTtlSeconds: ttlSeconds,
    handler: () =>
      ++runs.flaky === 1
        ? Promise.reject(new ToolError("retry", "Try again", { httpStatus: 503 }))
        : Promise.resolve({ run: runs.flaky }),
  });
  const failing = defineTool({
    name: "cached_failing",
    description: "Always not found.",
    input: z.strictObject({}),
    cacheTtlSeconds: ttlSeconds,
    handler: () => {
      runs.failing++;
      return Promise.reject(new ToolError("not_found", "Nothing here"));
    },
  });
  const brief = defineTool({
    name: "cached_brief",
    description: "Cached for 0.2 s.",
    input: z.strictObject({}),
    cacheTtlSeconds: 0.2,
    handler: () => Promise.resolve({ run: ++runs.brief }),
  });
  return { runs, tools: [lookup, flaky, failing, brief, echo] };
}

async function call(
  app: TestApp,
  tool: string,
  body: unknown,
  key?: string,
): Promise<{ status: number; cache: string | null; body: Record<string, unknown> }> {
  const res = await postJson(app, `/v1/mcp/${tool}`, body, key ? { key } : {});
  return { status: res.status, cache: res.headers.get("x-cache"), body: await res.json() };
}

/** The sum of the metric lines matching `pattern`. */
async function metric(app: TestApp, pattern: RegExp): Promise<number> {
  const text = await app.metrics.registry.metrics();
  return text.split("\n").filter((l) => pattern.test(l))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("canonicalJson() sorts keys at every depth and keeps array order", () => {
  assert.equal(
    canonicalJson({ z: [{ b: 2, a: 1 }, 3], a: { y: null, x: "s" } }),
    '{"a":{"x":"s","y":null},"z":[{"a":1,"b":2},3]}',
  );
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  assert.equal(canonicalJson(undefined), "null");
});

Deno.test("cacheKey() depends on tool, version, principal and input, not on key order", () => {
  const tool = { name: "t" };
  const base = cacheKey(tool, { a: 1, b: { c: 2, d: 3 } }, { id: "primary" });
  assert.equal(base, cacheKey(tool, { b: { d: 3, c: 2 }, a: 1 }, { id: "primary" }));
  const others = [
    cacheKey({ name: "u" }, { a: 1, b: { c: 2, d: 3 } }, { id: "primary" }),
    cacheKey({ name: "t", cacheVersion: "v2" }, { a: 1, b: { c: 2, d: 3 } }, { id: "primary" }),
    cacheKey(tool, { a: 1, b: { c: 2, d: 3 } }, { id: "secondary" }),
    cacheKey(tool, { a: 2, b: { c: 2, d: 3 } }, { id: "primary" }),
    cacheKey(tool, { a: "1", b: { c: 2, d: 3 } }, { id: "primary" }),
  ];
  assert.equal(new Set([base, ...others]).size, 6);
  assert.match(base, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(SERVER_VERSION.length > 0, "the server version is part of every key");
});

Deno.test("createRegistry() refuses a cacheTtlSeconds outside (0, 86400]", () => {
  const make = (ttl: number) =>
    defineTool({
      name: "t",
      description: "d",
      input: z.strictObject({}),
      cacheTtlSeconds: ttl,
      handler: () => Promise.resolve({}),
    });
  for (const ttl of [0, -1, 86_401, Number.NaN, Infinity]) {
    assert.throws(() => createRegistry([make(ttl)]), RegistryError, String(ttl));
  }
  for (const ttl of [0.2, 1, 86_400]) createRegistry([make(ttl)]);
});

Deno.test("response cache through the REST door (memory store)", async (t) => {
  const { runs, tools } = cachedTools();
  const app = await createTestApp({ tools, sql: noSql });
  try {
    await t.step(
      "a miss runs the handler, the same call then hits without running it",
      async () => {
        const first = await call(app, "cached_lookup", { a: "x", b: 2 });
        assert.deepEqual([first.status, first.cache, runs.lookup], [200, "miss", 1]);
        const second = await call(app, "cached_lookup", { a: "x", b: 2 });
        assert.deepEqual([second.status, second.cache, runs.lookup], [200, "hit", 1]);
        assert.deepEqual(second.body, first.body);
        assert.deepEqual(first.body, { a: "x", b: 2, principal: "primary", run: 1 });
      },
    );

    await t.step(
      "key order and defaults do not matter: the validated input is the key",
      async () => {
        const sorted = await postJson(app, "/v1/mcp/cached_lookup", '{"a":"y","b":1}');
        const reversed = await postJson(app, "/v1/mcp/cached_lookup", '{"b":1,"a":"y"}');
        const defaulted = await postJson(app, "/v1/mcp/cached_lookup", '{"a":"y"}');
        assert.deepEqual(
          [sorted, reversed, defaulted].map((r) => r.headers.get("x-cache")),
          ["miss", "hit", "hit"],
        );
        const bodies = await Promise.all([sorted, reversed, defaulted].map((r) => r.json()));
        assert.deepEqual(bodies[1], bodies[0]);
        assert.deepEqual(bodies[2], bodies[0]);
        assert.equal(runs.lookup, 2);
      },
    );

    await t.step("another key never gets the first key's entry", async () => {
      const other = await call(app, "cached_lookup", { a: "x", b: 2 }, SECONDARY_KEY);
      assert.deepEqual([other.cache, other.body.principal, runs.lookup], ["miss", "secondary", 3]);
      const otherAgain = await call(app, "cached_lookup", { a: "x", b: 2 }, SECONDARY_KEY);
      assert.deepEqual([otherAgain.cache, otherAgain.body.principal], ["hit", "secondary"]);
      const primary = await call(app, "cached_lookup", { a: "x", b: 2 });
      assert.deepEqual([primary.cache, primary.body.principal, primary.body.run], [
        "hit",
        "primary",
        1,
      ]);
      assert.equal(runs.lookup, 3);
    });

    await t.step("errors are never cached", async () => {
      const failed = await call(app, "cached_flaky", {});
      assert.deepEqual([failed.status, failed.cache], [503, null]);
      const fresh = await call(app, "cached_flaky", {});
      assert.deepEqual([fresh.status, fresh.cache, fresh.body], [200, "miss", { run: 2 }]);
      const cached = await call(app, "cached_flaky", {});
      assert.deepEqual([cached.cache, runs.flaky], ["hit", 2]);

      for (let i = 0; i < 3; i++) {
        const res = await call(app, "cached_failing", {});
        assert.deepEqual([res.status, res.cache], [404, null]);
      }
      assert.equal(runs.failing, 3);
    });

    await t.step("invalid input is refused before any lookup", async () => {
      const before = await metric(app, /^tool_cache_requests_total\{tool_name="cached_lookup"/);
      const res = await call(app, "cached_lookup", { a: 5 });
      assert.deepEqual([res.status, res.cache], [400, null]);
      const unknownField = await call(app, "cached_lookup", { a: "x", b: 2, z: 1 });
      assert.equal(unknownField.status, 400);
      const after = await metric(app, /^tool_cache_requests_total\{tool_name="cached_lookup"/);
      assert.equal(after, before);
    });

    await t.step("an entry expires after its TTL", async () => {
      assert.equal((await call(app, "cached_brief", {})).cache, "miss");
      assert.equal((await call(app, "cached_brief", {})).cache, "hit");
      await new Promise((r) => setTimeout(r, 300));
      const later = await call(app, "cached_brief", {});
      assert.deepEqual([later.cache, later.body, runs.brief], ["miss", { run: 2 }, 2]);
    });

    await t.step("a tool that did not opt in has no X-Cache and no cache metric", async () => {
      const res = await call(app, "echo", { text: "hi" });
      assert.deepEqual([res.status, res.cache], [200, null]);
      assert.equal(await metric(app, /^tool_cache_requests_total\{tool_name="echo"/), 0);
    });

    await t.step("the OpenAPI document names X-Cache for cacheable tools only", async () => {
      const doc = await (await app.request("/openapi.json")).json();
      const ok = (tool: string) => doc.paths[`/v1/mcp/${tool}`].post.responses["200"];
      assert.deepEqual(ok("cached_lookup").headers["X-Cache"].schema.enum, ["hit", "miss"]);
      assert.match(ok("cached_lookup").headers["X-Cache"].description, /60 s/);
      assert.equal(ok("echo").headers, undefined);
    });

    await t.step("metrics count hits and misses; hits are tool calls too", async () => {
      const lookups = (result: string) =>
        metric(
          app,
          new RegExp(
            `^tool_cache_requests_total\\{tool_name="cached_lookup",result="${result}"\\}`,
          ),
        );
      assert.equal(await lookups("miss"), 3);
      assert.equal(await lookups("hit"), 5);
      assert.equal(await lookups("error"), 0);
      assert.equal(
        await metric(app, /^tool_calls_total\{tool_name="cached_lookup",status="success"\}/),
        8,
      );
    });

    await t.step("the audit line says hit or miss", () => {
      const audited = app.lines().filter((l) =>
        l.message === "tool call" && l.tool_name === "cached_lookup" && l.status === "success"
      );
      assert.equal(audited.length, 8);
      assert.deepEqual(audited.map((l) => l.cache), [
        "miss",
        "hit",
        "miss",
        "hit",
        "hit",
        "miss",
        "hit",
        "hit",
      ]);
      const plain = app.lines().find((l) => l.message === "tool call" && l.tool_name === "echo");
      assert.ok(plain && !("cache" in plain));
    });
  } finally {
    await app.close();
  }
});

Deno.test("response cache through the MCP door: X-Cache on both paths, results identical", async () => {
  const { runs, tools } = cachedTools();
  const app = await createTestApp({ tools, sql: noSql });
  const sdkCall = (args: unknown) =>
    app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      // _meta sends the request down the SDK's own path, not the fast path.
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "cached_lookup", arguments: args, _meta: { progressToken: 1 } },
      }),
    });
  try {
    const miss = await mcpToolCall(app, "cached_lookup", { a: "m" });
    const hit = await mcpToolCall(app, "cached_lookup", { a: "m" });
    assert.deepEqual([miss.headers.get("x-cache"), hit.headers.get("x-cache")], ["miss", "hit"]);
    const [missBody, hitBody] = [await miss.json(), await hit.json()];
    assert.deepEqual(hitBody, missBody);
    assert.deepEqual(missBody.result.structuredContent, {
      a: "m",
      b: 1,
      principal: "primary",
      run: 1,
    });

    const viaSdk = await sdkCall({ b: 1, a: "m" });
    assert.equal(viaSdk.headers.get("x-cache"), "hit");
    assert.deepEqual((await viaSdk.json()).result, missBody.result);
    const sdkMiss = await sdkCall({ a: "n" });
    assert.equal(sdkMiss.headers.get("x-cache"), "miss");
    await sdkMiss.body?.cancel();

    // One entry for both doors: the REST door hits what the MCP door stored.
    const rest = await call(app, "cached_lookup", { a: "m" });
    assert.deepEqual([rest.cache, rest.body.run], ["hit", 1]);
    assert.equal(runs.lookup, 2);

    // A batch answers several calls in one response: no single X-Cache fits it.
    const batch = await app.request("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify([
        {
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "cached_lookup", arguments: { a: "m" } },
        },
        {
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "echo", arguments: { text: "x" } },
        },
      ]),
    });
    assert.equal(batch.status, 200);
    assert.equal(batch.headers.get("x-cache"), null);
    await batch.body?.cancel();

    const failing = await mcpToolCall(app, "cached_failing", {});
    assert.equal(failing.headers.get("x-cache"), null);
    assert.equal((await failing.json()).result.isError, true);
    const plain = await mcpToolCall(app, "echo", { text: "x" });
    assert.equal(plain.headers.get("x-cache"), null);
    await plain.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("MCP fast path and SDK path answer a cacheable tool alike, X-Cache included", async () => {
  const log = createLogger({ level: "error", sinks: [] });
  const allowAll: RateLimitPolicy = { costOf: () => 1, enforce: () => Promise.resolve() };
  const door = (fastPath: boolean) => {
    const { tools } = cachedTools();
    const cache = createToolCache({
      store: createMemoryCache({ maxEntries: 10, maxBytes: 100_000, maxEntryBytes: 10_000 }),
      log,
    });
    const registry = createRegistry(tools);
    return mcpDoor({
      registry,
      invoke: (tool: Tool, input, ctx) =>
        invokeTool({ sql: noSql, defaultTimeoutSeconds: 5, cache }, tool, input, ctx),
      maxBodyBytes: 64 * 1024,
      serverInfo: { name: "test", version: "0" },
      admission: createAdmission({ registry, rateLimit: allowAll }),
      fastPath,
    });
  };
  const send = async (handler: ReturnType<typeof door>, params: unknown) => {
    const ctx = requestContext("http://127.0.0.1:8000/mcp");
    ctx.principal = { id: "primary" };
    ctx.log = log;
    const res = await handler(
      new Request("http://127.0.0.1:8000/mcp", {
        method: "POST",
        headers: MCP_HEADERS,
        body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params }),
      }),
      ctx,
      {},
    );
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      cache: res.headers.get("x-cache"),
      body: await res.json(),
    };
  };
  const [fast, sdk] = [door(true), door(false)];
  const sequence = [
    { name: "cached_lookup", arguments: { a: "q" } },
    { name: "cached_lookup", arguments: { b: 1, a: "q" } },
    { name: "cached_failing", arguments: {} },
    { name: "cached_lookup", arguments: { a: 1 } },
    { name: "echo", arguments: { text: "t" } },
  ];
  const caches: (string | null)[] = [];
  for (const params of sequence) {
    const [a, b] = [await send(fast, params), await send(sdk, params)];
    assert.deepEqual(a, b, JSON.stringify(params));
    caches.push(a.cache);
  }
  assert.deepEqual(caches, ["miss", "hit", null, null, null]);
});

Deno.test("response cache: rate limits still apply to hits", async () => {
  const { tools } = cachedTools();
  const app = await createTestApp({ tools, sql: noSql, env: { RATE_LIMIT_RPM: "2" } });
  try {
    assert.equal((await call(app, "cached_lookup", { a: "r" })).cache, "miss");
    assert.equal((await call(app, "cached_lookup", { a: "r" })).cache, "hit");
    const limited = await call(app, "cached_lookup", { a: "r" });
    assert.deepEqual([limited.status, limited.cache], [429, null]);
  } finally {
    await app.close();
  }
});

Deno.test("CACHE_STORAGE=off: nothing is cached, whatever the tools ask", async () => {
  const { runs, tools } = cachedTools();
  const app = await createTestApp({ tools, sql: noSql, env: { CACHE_STORAGE: "off" } });
  try {
    for (let i = 1; i <= 2; i++) {
      const res = await call(app, "cached_lookup", { a: "o" });
      assert.deepEqual([res.status, res.cache, res.body.run], [200, null, i]);
    }
    assert.equal(runs.lookup, 2);
  } finally {
    await app.close();
  }
});

Deno.test({
  name: "CACHE_STORAGE=redis: two apps (replicas) share entries in the real Redis",
  ignore: redisUnavailable !== undefined,
  async fn() {
    const prefix = `test:cache:${crypto.randomUUID()}:`;
    const env = {
      CACHE_STORAGE: "redis",
      CACHE_REDIS_URL: TEST_REDIS_URL,
      CACHE_REDIS_PREFIX: prefix,
    };
    const one = cachedTools();
    const two = cachedTools();
    const [a, b] = [
      await createTestApp({ tools: one.tools, sql: noSql, env }),
      await createTestApp({ tools: two.tools, sql: noSql, env }),
    ];
    const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 0 });
    try {
      // Wait until both clients are connected (commands before that fail: uncached).
      for (let i = 0; i < 50; i++) {
        const ready = [a, b].every((app) =>
          app.lines().some((l) => l.message === "response cache store connected")
        );
        if (ready) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const first = await call(a, "cached_lookup", { a: "shared" });
      assert.deepEqual([first.cache, one.runs.lookup], ["miss", 1]);
      const second = await call(b, "cached_lookup", { b: 1, a: "shared" });
      assert.deepEqual([second.cache, two.runs.lookup], ["hit", 0]);
      assert.deepEqual(second.body, first.body);
      const other = await call(b, "cached_lookup", { a: "shared" }, SECONDARY_KEY);
      assert.deepEqual([other.cache, two.runs.lookup], ["miss", 1]);
      const keys = await admin.keys(`${prefix}*`);
      assert.equal(keys.length, 2);
      assert.ok(keys.every((k) => !k.includes("shared")));
    } finally {
      await a.close();
      await b.close();
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    }
  },
});

Deno.test("CACHE_STORAGE=redis with Redis down: calls go through uncached, counted as errors", async () => {
  assert.equal(await listening(DEAD_REDIS_PORT), false, `port ${DEAD_REDIS_PORT} must be free`);
  const { runs, tools } = cachedTools();
  const app = await createTestApp({
    tools,
    sql: noSql,
    env: { CACHE_STORAGE: "redis", CACHE_REDIS_URL: `redis://127.0.0.1:${DEAD_REDIS_PORT}` },
  });
  try {
    const started = performance.now();
    for (let i = 1; i <= 3; i++) {
      const res = await call(app, "cached_lookup", { a: "down" });
      assert.deepEqual([res.status, res.cache, res.body.run], [200, "miss", i]);
    }
    assert.ok(performance.now() - started < 2000, "no call waits on a Redis that is down");
    assert.equal(runs.lookup, 3);
    assert.equal(
      await metric(app, /^tool_cache_requests_total\{tool_name="cached_lookup",result="error"\}/),
      3,
    );
    const warnings = app.lines().filter((l) => l.message === "response cache store unavailable");
    assert.equal(warnings.length, 1);
  } finally {
    await app.close();
  }
});
