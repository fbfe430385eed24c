import assert from "node:assert/strict";
import { createProxyTrust } from "../../src/http/trusted_proxies.ts";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { rawExchange } from "./raw_http.ts";

const trust = createProxyTrust(["10.0.0.0/8", "fd00::/8"]);

Deno.test("createProxyTrust() ignores X-Forwarded-For from a peer that is no trusted proxy", () => {
  assert.equal(trust.clientAddress("203.0.113.5", "198.51.100.1"), "203.0.113.5");
  assert.equal(trust.clientAddress("203.0.113.5", "10.0.0.1, 198.51.100.1"), "203.0.113.5");
  assert.equal(trust.clientAddress(undefined, "198.51.100.1"), undefined);
  assert.equal(createProxyTrust([]).clientAddress("10.0.0.2", "198.51.100.1"), "10.0.0.2");
  assert.ok(!trust.trusts("203.0.113.5"));
  assert.ok(!trust.trusts(undefined));
});

Deno.test("createProxyTrust() takes the right-most X-Forwarded-For entry that is not a trusted proxy", () => {
  // The client wrote the first two; the trusted hops appended the rest.
  assert.equal(
    trust.clientAddress("10.0.0.2", "1.2.3.4, 5.6.7.8, 198.51.100.1, 10.9.9.9"),
    "198.51.100.1",
  );
  // Several X-Forwarded-For headers arrive joined by ", ": one list.
  assert.equal(trust.clientAddress("10.0.0.2", "1.2.3.4, 198.51.100.1"), "198.51.100.1");
  // Only trusted hops: the left-most is closest to the client.
  assert.equal(trust.clientAddress("10.0.0.2", "10.0.0.7, 10.0.0.8"), "10.0.0.7");
  // Empty entries are skipped.
  assert.equal(trust.clientAddress("10.0.0.2", " ,198.51.100.1,, "), "198.51.100.1");
});

Deno.test("createProxyTrust() stops at a garbage entry, at the trusted hop that passed it on", () => {
  for (
    const garbage of [
      "unknown",
      "evil.example",
      "198.51.100.1:443",
      "[2001:db8::1]",
      "10.1",
      "<script>",
    ]
  ) {
    // Garbage right of the trusted hop: the peer itself is the last address vouched for.
    assert.equal(trust.clientAddress("10.0.0.2", `198.51.100.1, ${garbage}`), "10.0.0.2", garbage);
    assert.equal(
      trust.clientAddress("10.0.0.2", `198.51.100.1, ${garbage}, 10.0.0.9`),
      "10.0.0.9",
      garbage,
    );
    // Garbage further left than the client is never reached.
    assert.equal(trust.clientAddress("10.0.0.2", `${garbage}, 198.51.100.1`), "198.51.100.1");
  }
});

Deno.test("createProxyTrust() handles IPv6 and IPv4-mapped IPv6 peers and entries", () => {
  assert.ok(trust.trusts("fd00::1"));
  assert.ok(trust.trusts("::ffff:10.0.0.2"), "what a dual-stack socket reports for 10.0.0.2");
  assert.ok(!trust.trusts("::ffff:203.0.113.5"));
  assert.equal(trust.clientAddress("fd12::1", "2001:db8::7"), "2001:db8::7");
  // Mapped and plain spellings of one client are one address (one rate-limit bucket).
  assert.equal(trust.clientAddress("::ffff:10.0.0.2", "::ffff:198.51.100.1"), "198.51.100.1");
  assert.equal(trust.clientAddress("::ffff:203.0.113.5", "198.51.100.1"), "203.0.113.5");
  // A trusted IPv4 hop written as mapped IPv6 is still skipped.
  assert.equal(trust.clientAddress("10.0.0.2", "198.51.100.1, ::ffff:10.0.0.9"), "198.51.100.1");
});

/** Wrong-key POSTs over a socket, each with `forwardedFor` header lines; the statuses. */
async function failures(port: number, forwardedFor: (i: number) => string[], count: number) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify({ text: "x" });
    const res = await rawExchange(
      port,
      `POST /v1/mcp/echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        forwardedFor(i).map((v) => `X-Forwarded-For: ${v}\r\n`).join("") +
        `Authorization: Bearer wrong-key-wrong-key-wrong\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    statuses.push(res.status);
  }
  return statuses;
}

Deno.test("a spoofed X-Forwarded-For from an untrusted peer does not escape the auth-failure limit", async () => {
  // Proxies are trusted, but the test's loopback peer is not one of them.
  const app = await createTestApp({
    tools: TEST_TOOLS,
    env: { AUTH_FAILURE_LIMIT: "3", TRUSTED_PROXIES: "10.0.0.0/8" },
  });
  const server = serveOnLoopback(app);
  try {
    const port = Number(new URL(server.url).port);
    // A new forged address on every attempt: still one client, 127.0.0.1.
    const statuses = await failures(port, (i) => [`198.51.100.${i}`], 5);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  } finally {
    await server.stop();
    await app.close();
  }
});

Deno.test("from a trusted proxy, several X-Forwarded-For headers are one list, read from the right", async () => {
  const app = await createTestApp({
    tools: TEST_TOOLS,
    env: { AUTH_FAILURE_LIMIT: "2", TRUSTED_PROXIES: "127.0.0.1,::1" },
  });
  const server = serveOnLoopback(app);
  try {
    const port = Number(new URL(server.url).port);
    // The client forges the first header; the proxy appends a second with what it saw.
    const blocked = await failures(port, (i) => [`203.0.113.${i}`, "198.51.100.7"], 3);
    assert.deepEqual(blocked, [401, 401, 429]);
    // Another client behind the same proxy is not affected.
    const body = JSON.stringify({ text: "x" });
    const other = await rawExchange(
      port,
      `POST /v1/mcp/echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-For: 198.51.100.8\r\n` +
        `Authorization: Bearer ${PRIMARY_KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(other.status, 200);
  } finally {
    await server.stop();
    await app.close();
  }
});
