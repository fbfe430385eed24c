import assert from "node:assert/strict";
import { API_TOOLS } from "../../../src/tools/builtin/mod.ts";
import {
  createTestApp,
  errorOf,
  mcpToolCall,
  postJson,
  SECONDARY_KEY,
  type TestApp,
} from "../../harness.ts";
import { scriptedUpstream, sleep } from "../../sources/http/upstream_fixture.ts";

/** The upstream's behaviour by customer id. */
function misbehaving() {
  return scriptedUpstream(async (req) => {
    const id = Number(new URL(req.url).pathname.split("/")[2]);
    switch (id) {
      case 1:
        return Response.json({ id: 1, name: "Ada Lovelace", email: "ada@example.com", vip: true });
      case 2:
        return Response.json({ error: "no such customer" }, { status: 404 });
      case 3:
        return new Response("internal", { status: 500 });
      case 4:
        await sleep(2000, req.signal);
        return Response.json({});
      case 5:
        return Response.json({ error: "bad request" }, { status: 400 });
      case 6:
        return Response.json({ id: "one", name: 5 });
      case 7:
        return new Response("{not json", { headers: { "content-type": "application/json" } });
      case 8:
        return new Response("slow down", { status: 429, headers: { "retry-after": "3600" } });
      default:
        return Response.json({ error: "unexpected" }, { status: 418 });
    }
  });
}

const FAST_CLIENT = {
  API_TIMEOUT_SECONDS: "0.2",
  API_MAX_RETRIES: "1",
  API_BACKOFF_INITIAL_SECONDS: "0.01",
  API_CIRCUIT_FAILURES: "1000",
};

function mcpCall(app: TestApp, args: unknown) {
  return mcpToolCall(app, "get_customer", args);
}

Deno.test("get_customer", async (t) => {
  const upstream = misbehaving();
  const app = await createTestApp({
    tools: API_TOOLS,
    env: { API_BASE_URL: upstream.url, ...FAST_CLIENT },
  });
  const call = (body: unknown) => postJson(app, "/v1/mcp/get_customer", body);
  try {
    await t.step(
      "REST door: returns id, name and email, dropping other upstream fields",
      async () => {
        const res = await call({ customer_id: 1 });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), {
          id: 1,
          name: "Ada Lovelace",
          email: "ada@example.com",
        });
        const hit = upstream.hits.at(-1)!;
        assert.equal(hit.path, "/customers/1");
        assert.equal(hit.headers.get("x-request-id"), res.headers.get("x-request-id"));
      },
    );

    await t.step("MCP door: the same result as structured content", async () => {
      const res = await mcpCall(app, { customer_id: 1 });
      assert.equal(res.status, 200);
      const { result } = await res.json();
      assert.equal(result.isError, undefined);
      assert.deepEqual(result.structuredContent, {
        id: 1,
        name: "Ada Lovelace",
        email: "ada@example.com",
      });
    });

    await t.step("passes the caller's traceparent on", async () => {
      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 1 }, {
        headers: { traceparent },
      });
      await res.body?.cancel();
      assert.equal(upstream.hits.at(-1)!.headers.get("traceparent"), traceparent);
    });

    const cases: [number, number, string, string][] = [
      [2, 404, "not_found", "Customer not found"],
      [3, 502, "retry", "Upstream API unavailable: try again shortly"],
      [4, 504, "retry", "Upstream API timed out: try again shortly"],
      [5, 502, "error", "Upstream API rejected the request"],
      [6, 500, "error", "Internal server error"],
      [7, 502, "error", "Upstream API sent an invalid response"],
      [8, 503, "retry", "Upstream API is rate limiting us: try again later"],
    ];
    for (const [id, httpStatus, status, message] of cases) {
      await t.step(`upstream case ${id} → ${httpStatus} ${status}`, async () => {
        const before = upstream.hits.length;
        const res = await call({ customer_id: id });
        assert.equal(res.status, httpStatus);
        const body = await errorOf(res);
        assert.equal(body.status, status);
        assert.equal(body.error, message);
        assert.equal(body.request_id, res.headers.get("x-request-id"));
        // Nothing of the upstream's own text reaches the caller.
        assert.ok(!JSON.stringify(body).includes("internal"));
        assert.ok(!JSON.stringify(body).includes(upstream.url));
        const attempts = upstream.hits.length - before;
        assert.equal(attempts, [3, 4].includes(id) ? 2 : 1, `attempts for case ${id}`);
      });
    }

    await t.step("a 429 beyond the deadline passes Retry-After on", async () => {
      const res = await call({ customer_id: 8 });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "3600");
      await res.body?.cancel();
    });

    await t.step(
      "MCP door: an upstream failure is an isError result with the same body",
      async () => {
        const res = await mcpCall(app, { customer_id: 2 });
        const { result } = await res.json();
        assert.equal(result.isError, true);
        const body = JSON.parse(result.content[0].text);
        assert.equal(body.status, "not_found");
        assert.equal(body.error, "Customer not found");
      },
    );

    for (
      const input of [
        {},
        { customer_id: 0 },
        { customer_id: -3 },
        { customer_id: 1.5 },
        { customer_id: "1" },
        { customer_id: "../admin" },
        { customer_id: 2 ** 31 },
        { customer_id: null },
        { customer_id: 1, extra: true },
      ]
    ) {
      await t.step(`refuses ${JSON.stringify(input)} with 400, sending nothing`, async () => {
        const before = upstream.hits.length;
        const res = await call(input);
        assert.equal(res.status, 400);
        assert.equal((await errorOf(res)).status, "invalid_input");
        assert.equal(upstream.hits.length, before);
      });
    }

    await t.step("the audit line and metrics record upstream failures", async () => {
      const metrics = await app.metrics.registry.metrics();
      assert.match(metrics, /api_errors_total\{source="api",status_code="500"\} 2/);
      assert.match(metrics, /api_errors_total\{source="api",status_code="timeout"\} 2/);
      assert.match(metrics, /upstream_circuit_state\{upstream="api",state="closed"\} 1/);
      assert.match(metrics, /upstream_request_duration_seconds_count\{upstream="api"\} \d+/);
      const failed = app.lines().find((l) =>
        l.message === "tool call failed" && l.tool_name === "get_customer" && l.http_status === 504
      );
      assert.ok(failed, "a 504 is logged with its cause");
    });
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("get_customer: an outage seen by two keys opens the circuit: 503 retry with Retry-After, sending nothing", async () => {
  const upstream = scriptedUpstream(() => new Response("down", { status: 503 }));
  const app = await createTestApp({
    tools: API_TOOLS,
    env: {
      API_BASE_URL: upstream.url,
      ...FAST_CLIENT,
      API_MAX_RETRIES: "0",
      API_CIRCUIT_FAILURES: "2",
      API_CIRCUIT_COOLDOWN_SECONDS: "30",
    },
  });
  try {
    // API_CIRCUIT_MIN_CALLERS is 2 by default: two keys' failures, in a row.
    for (const key of [undefined, SECONDARY_KEY]) {
      const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 1 }, { key });
      assert.equal(res.status, 502);
      await res.body?.cancel();
    }
    const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 1 });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "30");
    const body = await errorOf(res);
    assert.equal(body.status, "retry");
    assert.equal(upstream.hits.length, 2);
    const metrics = await app.metrics.registry.metrics();
    assert.match(metrics, /upstream_circuit_state\{upstream="api",state="open"\} 1/);
    assert.ok(app.lines().some((l) => l.message === "upstream circuit opened: failing fast"));
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("get_customer: one key's failing inputs do not switch the upstream off for another key", async () => {
  const upstream = misbehaving();
  const app = await createTestApp({
    tools: API_TOOLS,
    env: {
      API_BASE_URL: upstream.url,
      ...FAST_CLIENT,
      API_MAX_RETRIES: "0",
      API_CIRCUIT_FAILURES: "2",
      API_CIRCUIT_COOLDOWN_SECONDS: "30",
    },
  });
  try {
    // The primary key sends an id the upstream answers 500 to, again and again.
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 3 });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [502, 502, 503, 503, 503, 503], "its own circuit opens");
    const ok = await postJson(app, "/v1/mcp/get_customer", { customer_id: 1 }, {
      key: SECONDARY_KEY,
    });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).name, "Ada Lovelace");
    const metrics = await app.metrics.registry.metrics();
    assert.match(metrics, /upstream_circuit_state\{upstream="api",state="closed"\} 1/);
    assert.equal(upstream.hits.length, 3);
  } finally {
    await app.close();
    await upstream.close();
  }
});

Deno.test("get_customer: the upstream auth header is sent and never logged", async () => {
  const token = "Bearer upstream-secret-token-42";
  const upstream = scriptedUpstream(() => new Response("down", { status: 503 }));
  const app = await createTestApp({
    tools: API_TOOLS,
    env: { API_BASE_URL: upstream.url, ...FAST_CLIENT, API_AUTH_TOKEN: token },
  });
  try {
    const res = await postJson(app, "/v1/mcp/get_customer", { customer_id: 1 });
    assert.equal(res.status, 502);
    const text = await res.text();
    assert.equal(upstream.hits[0].headers.get("authorization"), token);
    assert.ok(!text.includes("upstream-secret"));
    assert.ok(!JSON.stringify(app.lines()).includes("upstream-secret"));
  } finally {
    await app.close();
    await upstream.close();
  }
});
