import assert from "node:assert/strict";
import { isWellFormedHost, requestTarget } from "../../src/http/request_target.ts";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";
import { rawExchange } from "./raw_http.ts";

/** Host values that must never reach routing (each would move or break `new URL(req.url)`). */
const HOSTILE_HOSTS = [
  "x/metrics#",
  "x/metrics",
  "x#frag",
  "x?a=1",
  "user@127.0.0.1",
  "a b",
  "ü.example",
  "%41",
  "127.0.0.1%2f",
  "a\\b",
  "[::1",
  "127.0.0.1:99999",
  "127.0.0.1:port",
];

Deno.test("isWellFormedHost() takes names, addresses and ports, and nothing that ends an authority", () => {
  for (
    const good of [
      "localhost",
      "localhost:8000",
      "127.0.0.1:8000",
      "[::1]:8000",
      "[::ffff:127.0.0.1]",
      "mcp.example.com",
      "MCP.Example.COM.",
      "mcp_tool_server:8000",
    ]
  ) {
    assert.ok(isWellFormedHost(good), good);
  }
  for (const bad of [...HOSTILE_HOSTS, "", " ", "a..b", ".a", "a:", "[::1]x"]) {
    assert.ok(!isWellFormedHost(bad), bad);
  }
});

Deno.test("requestTarget() routes on the request-target, not on what Host would make of it", () => {
  const ok = requestTarget(new Request("http://127.0.0.1:8000/v1/mcp?x=1"));
  assert.ok("path" in ok);
  assert.equal(ok.path, "/v1/mcp");
  assert.equal(ok.url.searchParams.get("x"), "1");
  for (const host of HOSTILE_HOSTS) {
    const req = new Request("http://127.0.0.1:8000/v1/mcp", { headers: { host } });
    assert.deepEqual(requestTarget(req), { problem: "Malformed Host header" }, host);
  }
  const empty = new Request("http://127.0.0.1:8000/v1/mcp", { headers: { host: "" } });
  assert.deepEqual(requestTarget(empty), { problem: "Malformed Host header" });
});

/** Serves a test app on loopback; `send` writes raw requests to it. */
async function served() {
  const app = await createTestApp();
  const server = serveOnLoopback(app);
  const port = Number(new URL(server.url).port);
  return {
    app,
    port,
    send: (head: string) => rawExchange(port, `${head}\r\nConnection: close\r\n\r\n`),
    async [Symbol.asyncDispose]() {
      await server.stop();
      await app.close();
    },
  };
}

Deno.test("a hostile Host over a socket is a JSON 400 with a request id, logged and counted", async () => {
  await using s = await served();
  // "[:::::]" has the shape of an address but is none: `new URL` refuses it.
  const hosts = [...HOSTILE_HOSTS, "", "[:::::]"];
  for (const host of hosts) {
    const res = await s.send(
      `GET /v1/mcp HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${PRIMARY_KEY}`,
    );
    assert.equal(res.status, 400, host);
    assert.match(res.headers["content-type"], /^application\/json/, host);
    const body = JSON.parse(res.body);
    assert.equal(body.error, "Malformed Host header", host);
    assert.equal(body.status, "invalid_input");
    assert.ok(res.headers["x-request-id"], host);
    assert.equal(body.request_id, res.headers["x-request-id"]);
  }
  const logged = s.app.lines().filter((l) =>
    l.message === "request error" && l.status_code === 400
  );
  assert.equal(logged.length, hosts.length);
  const metrics = await s.app.metrics.registry.metrics();
  assert.match(
    metrics,
    new RegExp(
      `http_requests_total\\{[^}]*endpoint="unmatched"[^}]*\\} ${hosts.length}\\b`,
    ),
  );
});

Deno.test("Host: x/metrics# on GET /v1/mcp is not served /metrics", async () => {
  await using s = await served();
  const res = await s.send("GET /v1/mcp HTTP/1.1\r\nHost: x/metrics#");
  assert.equal(res.status, 400);
  assert.doesNotMatch(res.body, /http_requests_total/);
});

Deno.test("two Host headers are refused before the handler runs", async () => {
  await using s = await served();
  // Deno's HTTP layer answers this itself (a bare 400); what matters is that
  // neither value is routed on.
  const res = await s.send("GET /v1/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: x/metrics#");
  assert.equal(res.status, 400);
  assert.doesNotMatch(res.body, /http_requests_total/);
});

Deno.test("an absolute-form target is routed on its own path, whatever Host says", async () => {
  await using s = await served();
  const live = await s.send(
    `GET http://127.0.0.1:${s.port}/health/live HTTP/1.1\r\nHost: 127.0.0.1:${s.port}`,
  );
  assert.equal(live.status, 200);
  // The target's authority holds what a Host header may not; the path is still "/v1/mcp".
  const list = await s.send(
    `GET http://u@x/v1/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${PRIMARY_KEY}`,
  );
  assert.equal(list.status, 200);
  assert.ok(Array.isArray(JSON.parse(list.body).tools));
});

Deno.test("a path the URL parser would rewrite is refused, not routed on either reading", async () => {
  await using s = await served();
  for (const path of ["/v1/mcp/../../metrics", "/v1/%2e%2e/metrics", "/v1\\..\\metrics"]) {
    const res = await s.send(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1`);
    assert.equal(res.status, 400, path);
    assert.equal(
      JSON.parse(res.body).error,
      "Malformed request target: the path is not in normal form",
    );
  }
});

Deno.test("a request without Host is served on its target (HTTP/1.0 clients)", async () => {
  await using s = await served();
  const res = await rawExchange(s.port, "GET /health/live HTTP/1.0\r\n\r\n");
  assert.equal(res.status, 200);
});
