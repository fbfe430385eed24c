import assert from "node:assert/strict";
import { TEST_TOOLS } from "../../fixtures/tools.ts";
import {
  createTestApp,
  errorOf,
  MCP_HEADERS,
  postJson,
  PRIMARY_KEY,
  SECONDARY_KEY,
} from "../../harness.ts";
import { compilePermissionFlags, spawnServer } from "../../process.ts";
import { PrivateRedis, redisServerUnavailable } from "../../ratelimit/redis_fixture.ts";

const echo = { text: "hi" };
const mcpCall = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "echo", arguments: echo },
  });

Deno.test("rate limit on the REST door: exactly RATE_LIMIT_RPM pass, the next is 429 with Retry-After", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    const before = Math.floor(Date.now() / 1000);
    for (let i = 1; i <= 100; i++) {
      const res = await postJson(app, "/v1/mcp/echo", echo);
      assert.equal(res.status, 200, `call ${i}`);
      assert.equal(res.headers.get("x-ratelimit-limit"), "100");
      assert.equal(res.headers.get("x-ratelimit-remaining"), String(100 - i));
      const reset = Number(res.headers.get("x-ratelimit-reset"));
      // The window opens at the first call: on a loaded machine, a while after `before`.
      const now = Math.floor(Date.now() / 1000);
      assert.ok(
        reset >= before + 59 && reset <= now + 61,
        `${reset} (before ${before}, now ${now})`,
      );
      await res.body?.cancel();
    }
    const res = await postJson(app, "/v1/mcp/echo", echo);
    assert.equal(res.status, 429);
    const retryAfter = Number(res.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60);
    assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
    const body = await errorOf(res);
    assert.deepEqual(
      { ...body, request_id: "x" },
      {
        error: "Rate limit exceeded",
        status: "rate_limited",
        retry_after_seconds: retryAfter,
        request_id: "x",
      },
    );
    // The other key has its own budget.
    const other = await postJson(app, "/v1/mcp/echo", echo, { key: SECONDARY_KEY });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get("x-ratelimit-remaining"), "99");
    await other.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("rate limit on the MCP door: 100 pass, the 101st is 429 with a JSON-RPC error body", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  const post = (id: number) =>
    app.request("/mcp", { method: "POST", headers: MCP_HEADERS, body: mcpCall(id) });
  try {
    for (let i = 1; i <= 100; i++) {
      const res = await post(i);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-remaining"), String(100 - i));
      assert.equal((await res.json()).result.structuredContent.text, "hi");
    }
    const res = await post(101);
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    const body = await res.json();
    assert.equal(body.jsonrpc, "2.0");
    assert.equal(body.id, 101);
    assert.equal(body.error.message, "Rate limit exceeded");
    assert.equal(body.error.data.status, "rate_limited");
    assert.equal(typeof body.error.data.retry_after_seconds, "number");
    assert.equal(body.error.data.request_id, res.headers.get("x-request-id"));
    // Doors share one budget per key.
    const rest = await postJson(app, "/v1/mcp/echo", echo);
    assert.equal(rest.status, 429);
    await rest.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("rate limit weighs tools by cost, honours per-key limits, and resets with the window", async () => {
  const app = await createTestApp({
    tools: TEST_TOOLS,
    env: {
      RATE_LIMIT_RPM: "30",
      RATE_LIMIT_TOOL_COSTS: "echo:10",
      RATE_LIMIT_KEY_RPM: "secondary:2",
      RATE_LIMIT_WINDOW_SECONDS: "1",
    },
  });
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await postJson(app, "/v1/mcp/echo", echo);
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const second = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.request("/v1/mcp", { key: SECONDARY_KEY });
      second.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(second, [200, 200, 429]);
    await new Promise((r) => setTimeout(r, 1100));
    const after = await postJson(app, "/v1/mcp/echo", echo);
    assert.equal(after.status, 200);
    await after.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("failed authentication is limited per client address, even for the right key afterwards", async () => {
  const app = await createTestApp({
    tools: TEST_TOOLS,
    env: { AUTH_FAILURE_LIMIT: "3", TRUSTED_PROXIES: "10.0.0.0/8" },
  });
  // Through a trusted proxy (10.0.0.2) that appended the address it saw.
  const from = (address: string, key: string) =>
    postJson(app, "/v1/mcp/echo", echo, {
      key,
      peer: "10.0.0.2",
      headers: { "x-forwarded-for": `203.0.113.9, ${address}` },
    });
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await from("198.51.100.7", "wrong-key-wrong-key-wrong");
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const blocked = await from("198.51.100.7", PRIMARY_KEY);
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get("retry-after")) >= 1);
    await blocked.body?.cancel();
    // Another address (the last X-Forwarded-For hop, not the spoofable first) is unaffected.
    const other = await from("198.51.100.8", PRIMARY_KEY);
    assert.equal(other.status, 200);
    await other.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test({
  name:
    "two server processes sharing one Redis enforce one combined limit; fail-closed answers 503",
  ignore: redisServerUnavailable !== undefined,
  async fn() {
    const redis = new PrivateRedis();
    await redis.start();
    const env = {
      API_KEY_PRIMARY: PRIMARY_KEY,
      API_KEY_SECONDARY: SECONDARY_KEY,
      RATE_LIMIT_STORAGE: "redis",
      REDIS_URL: redis.url,
      RATE_LIMIT_RPM: "30",
      RATE_LIMIT_FAIL_MODE: "closed",
    };
    const flags = await compilePermissionFlags();
    const main = new URL("../../../main.ts", import.meta.url).pathname;
    const servers = await Promise.all([1, 2].map(() => spawnServer(["run", ...flags, main], env)));
    try {
      // "server started" can come before the Redis connection is up (the
      // limiter sends nothing to a connection not yet open, and fail-closed
      // answers 503 then). Wait for each server with the other key, whose
      // budget is its own, so the count below starts from a connected limiter.
      for (const server of servers) {
        for (let tries = 0;; tries++) {
          const probe = await fetch(`${server.url}/v1/mcp`, {
            headers: { authorization: `Bearer ${SECONDARY_KEY}` },
          });
          await probe.body?.cancel();
          if (probe.status === 200) break;
          assert.ok(tries < 100, `server never reached Redis (${probe.status})`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      let allowed = 0;
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${servers[i % 2].url}/v1/mcp/lookup_customer`, {
          method: "POST",
          headers: { authorization: `Bearer ${PRIMARY_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ id: 1 }),
        });
        const text = await res.text();
        if (res.status === 200) allowed++;
        else assert.equal(res.status, 429, text);
      }
      assert.ok(Math.abs(allowed - 30) <= 1, `allowed ${allowed}`);

      await redis.stop();
      const res = await fetch(`${servers[0].url}/v1/mcp`, {
        headers: { authorization: `Bearer ${PRIMARY_KEY}` },
      });
      assert.equal(res.status, 503);
      assert.equal((await res.json()).status, "retry");
    } finally {
      for (const s of servers) await s.stop();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "auth-failure limit with Redis down: fail closed refuses every key (503), fail open lets auth decide",
  ignore: redisServerUnavailable !== undefined,
  async fn() {
    const redis = new PrivateRedis();
    await redis.start();
    const apps = await Promise.all((["closed", "open"] as const).map((mode) =>
      createTestApp({
        tools: TEST_TOOLS,
        env: {
          RATE_LIMIT_STORAGE: "redis",
          REDIS_URL: redis.url,
          RATE_LIMIT_FAIL_MODE: mode,
          AUTH_FAILURE_LIMIT: "1000",
        },
      })
    ));
    const [closed, open] = apps;
    try {
      // Until the limiter's client is connected, fail-closed answers 503.
      for (const app of apps) {
        for (let tries = 0;; tries++) {
          const probe = await app.request("/v1/mcp", { key: SECONDARY_KEY });
          await probe.body?.cancel();
          if (probe.status === 200) break;
          assert.ok(tries < 100, `app never reached Redis (${probe.status})`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await redis.stop();
      for (let i = 0; i < 5; i++) {
        // Wrong keys: without the limiter a guesser would get a 401 per guess, unbounded.
        const guess = await postJson(closed, "/v1/mcp/echo", echo, {
          key: `wrong-key-${i}-xxxxxxxxxx`,
        });
        assert.equal(guess.status, 503, `guess ${i}`);
        const body = await guess.json();
        assert.equal(body.status, "retry");
        assert.equal(guess.headers.get("retry-after"), "1");
      }
      const right = await postJson(closed, "/v1/mcp/echo", echo);
      assert.equal(right.status, 503);
      await right.body?.cancel();
      assert.ok(
        closed.lines().some((l) =>
          l.message === "rate-limit store unavailable" &&
          String(l.limiter).startsWith("mcp:authfail:")
        ),
        "the auth-failure limiter's store failure is logged",
      );
      assert.ok(
        closed.lines().some((l) => l.message === "request error" && l.status_code === 503),
        "each refusal is logged as a request error",
      );
      // Fail open: the limiter is off while Redis is down, the key check still runs.
      const wrong = await postJson(open, "/v1/mcp/echo", echo, {
        key: "wrong-key-open-xxxxxxxxxx",
      });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
    } finally {
      for (const app of apps) await app.close();
      await redis.stop();
    }
  },
});
