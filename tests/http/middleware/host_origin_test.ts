import assert from "node:assert/strict";
import {
  hostOrigin,
  type HostOriginOptions,
  isLoopbackHost,
} from "../../../src/http/middleware/host_origin.ts";
import { createProxyTrust } from "../../../src/http/trusted_proxies.ts";
import { ToolError } from "../../../src/tools/errors.ts";
import { requestContext } from "../../harness.ts";

const context = (url: string) => requestContext(url);

function options(overrides: Partial<HostOriginOptions> = {}): HostOriginOptions {
  return {
    bindHost: "127.0.0.1",
    allowedHosts: [],
    allowedOrigins: [],
    proxies: createProxyTrust([]),
    ...overrides,
  };
}

type Outcome = "allowed" | "rejected";

/** Runs the middleware for a request with `headers`; says whether `next` ran. */
async function check(
  opts: HostOriginOptions,
  headers: Record<string, string>,
  url = "http://127.0.0.1:8000/v1/mcp",
): Promise<{ outcome: Outcome; error?: ToolError }> {
  const middleware = hostOrigin(opts);
  const req = new Request(url, { headers });
  let nextCalls = 0;
  const next = () => {
    nextCalls++;
    return Promise.resolve(new Response("ok"));
  };
  try {
    const response = await middleware(req, context(url), next);
    assert.equal(await response.text(), "ok");
    assert.equal(nextCalls, 1);
    return { outcome: "allowed" };
  } catch (error) {
    assert.ok(error instanceof ToolError, `expected a ToolError, got ${error}`);
    assert.equal(error.status, "forbidden");
    assert.equal(error.httpStatus, 403);
    assert.equal(nextCalls, 0);
    return { outcome: "rejected", error };
  }
}

async function assertOutcome(
  opts: HostOriginOptions,
  headers: Record<string, string>,
  expected: Outcome,
): Promise<ToolError | undefined> {
  const { outcome, error } = await check(opts, headers);
  assert.equal(outcome, expected, `${JSON.stringify(headers)} with ${JSON.stringify(opts)}`);
  return error;
}

Deno.test("hostOrigin() bound to 127.0.0.1 allows loopback Host names", async () => {
  for (
    const host of [
      "localhost:8000",
      "localhost",
      "127.0.0.1:8000",
      "127.0.0.1",
      "[::1]:8000",
      "[::1]",
      "LOCALHOST:8000",
      "127.1.2.3:8000",
      "app.localhost:8000",
    ]
  ) {
    await assertOutcome(options(), { host }, "allowed");
  }
});

Deno.test("hostOrigin() bound to 127.0.0.1 rejects other Host names", async () => {
  for (
    const host of [
      "evil.com",
      "evil.com:8000",
      "localhost.evil.com",
      "localhost.evil.com:8000",
      "127.0.0.1.evil.com",
      "10.0.0.5:8000",
      "0.0.0.0:8000",
      "[::2]:8000",
    ]
  ) {
    const error = await assertOutcome(options(), { host }, "rejected");
    assert.equal(error?.message, "Forbidden: host not allowed");
  }
});

Deno.test("hostOrigin() bound to ::1 or localhost is loopback only too", async () => {
  for (const bindHost of ["::1", "localhost"]) {
    await assertOutcome(options({ bindHost }), { host: "localhost:8000" }, "allowed");
    await assertOutcome(options({ bindHost }), { host: "evil.com:8000" }, "rejected");
  }
});

Deno.test("hostOrigin() with ALLOWED_HOSTS allows only the listed hosts", async () => {
  const opts = options({ allowedHosts: ["api.example.com", "internal:9000"] });
  await assertOutcome(opts, { host: "api.example.com" }, "allowed");
  await assertOutcome(opts, { host: "api.example.com:443" }, "allowed");
  await assertOutcome(opts, { host: "API.Example.COM" }, "allowed");
  await assertOutcome(opts, { host: "internal:9000" }, "allowed");
  await assertOutcome(opts, { host: "internal" }, "rejected");
  await assertOutcome(opts, { host: "internal:9001" }, "rejected");
  await assertOutcome(opts, { host: "evil.com" }, "rejected");
  await assertOutcome(opts, { host: "sub.api.example.com" }, "rejected");
  // Listing hosts replaces the loopback rule: localhost is no longer implied.
  await assertOutcome(opts, { host: "localhost:8000" }, "rejected");
});

Deno.test("hostOrigin() bound to 0.0.0.0 without ALLOWED_HOSTS allows any host", async () => {
  const opts = options({ bindHost: "0.0.0.0" });
  for (const host of ["evil.com", "evil.com:8000", "10.1.2.3:8000", "localhost:8000"]) {
    await assertOutcome(opts, { host }, "allowed");
  }
});

Deno.test("hostOrigin() bound to 0.0.0.0 with ALLOWED_HOSTS allows only those", async () => {
  const opts = options({ bindHost: "0.0.0.0", allowedHosts: ["api.example.com"] });
  await assertOutcome(opts, { host: "api.example.com:8000" }, "allowed");
  await assertOutcome(opts, { host: "evil.com" }, "rejected");
});

Deno.test("hostOrigin() falls back to the request URL's host without a Host header", async () => {
  const allowed = await check(options(), {}, "http://localhost:8000/v1/mcp");
  assert.equal(allowed.outcome, "allowed");
  const rejected = await check(options(), {}, "http://evil.com:8000/v1/mcp");
  assert.equal(rejected.outcome, "rejected");
});

Deno.test("hostOrigin() allows a request without Origin", async () => {
  await assertOutcome(options(), { host: "localhost:8000" }, "allowed");
});

Deno.test("hostOrigin() allows an Origin listed in ALLOWED_ORIGINS", async () => {
  const opts = options({ allowedOrigins: ["https://app.example.com"] });
  await assertOutcome(
    opts,
    { host: "localhost:8000", origin: "https://app.example.com" },
    "allowed",
  );
  await assertOutcome(
    opts,
    { host: "localhost:8000", origin: "https://app.example.com:8443" },
    "rejected",
  );
  await assertOutcome(
    opts,
    { host: "localhost:8000", origin: "http://app.example.com" },
    "rejected",
  );
});

Deno.test("hostOrigin() allows an Origin that is the server's own", async () => {
  await assertOutcome(
    options(),
    { host: "localhost:8000", origin: "http://localhost:8000" },
    "allowed",
  );
  await assertOutcome(
    options(),
    { host: "127.0.0.1:8000", origin: "http://127.0.0.1:8000" },
    "allowed",
  );
  await assertOutcome(
    options({ bindHost: "0.0.0.0" }),
    { host: "api.example.com", origin: "https://api.example.com" },
    "allowed",
  );
});

Deno.test("hostOrigin() rejects Origin null", async () => {
  const error = await assertOutcome(
    options(),
    { host: "localhost:8000", origin: "null" },
    "rejected",
  );
  assert.equal(error?.message, "Forbidden: origin not allowed");
});

Deno.test("hostOrigin() rejects a cross origin", async () => {
  for (
    const origin of [
      "https://evil.com",
      "http://localhost:8001",
      "http://127.0.0.1:8000",
      "http://localhost",
      "http://localhost:8000.evil.com",
    ]
  ) {
    const error = await assertOutcome(
      options(),
      { host: "localhost:8000", origin },
      "rejected",
    );
    assert.equal(error?.message, "Forbidden: origin not allowed", origin);
  }
});

Deno.test("hostOrigin() rejects a malformed Origin", async () => {
  for (const origin of ["not a url", "localhost:8000", "", "http://", "//localhost:8000"]) {
    await assertOutcome(options(), { host: "localhost:8000", origin }, "rejected");
  }
});

// The test context's peer is 127.0.0.1.
const LOOPBACK_PROXY = createProxyTrust(["127.0.0.1/32"]);

Deno.test("hostOrigin() from a trusted proxy uses the first X-Forwarded-Host", async () => {
  const opts = options({ allowedHosts: ["api.example.com"], proxies: LOOPBACK_PROXY });
  await assertOutcome(
    opts,
    { host: "10.0.0.7:8000", "x-forwarded-host": "api.example.com" },
    "allowed",
  );
  await assertOutcome(
    opts,
    { host: "10.0.0.7:8000", "x-forwarded-host": "api.example.com, evil.com" },
    "allowed",
  );
  await assertOutcome(
    opts,
    { host: "api.example.com", "x-forwarded-host": "evil.com, api.example.com" },
    "rejected",
  );
  // The Origin is compared with the forwarded host.
  await assertOutcome(
    opts,
    {
      host: "10.0.0.7:8000",
      "x-forwarded-host": "api.example.com",
      origin: "https://api.example.com",
    },
    "allowed",
  );
});

Deno.test("hostOrigin() from a trusted proxy falls back to Host without X-Forwarded-Host", async () => {
  const opts = options({ allowedHosts: ["api.example.com"], proxies: LOOPBACK_PROXY });
  await assertOutcome(opts, { host: "api.example.com" }, "allowed");
  await assertOutcome(opts, { host: "evil.com" }, "rejected");
});

Deno.test("hostOrigin() ignores X-Forwarded-Host from a peer that is not a trusted proxy", async () => {
  // Proxies are trusted, but not this peer (127.0.0.1).
  const elsewhere = options({
    allowedHosts: ["api.example.com"],
    proxies: createProxyTrust(["10.0.0.0/8", "::1/128"]),
  });
  await assertOutcome(
    elsewhere,
    { host: "evil.com", "x-forwarded-host": "api.example.com" },
    "rejected",
  );
  await assertOutcome(
    elsewhere,
    { host: "api.example.com", "x-forwarded-host": "evil.com" },
    "allowed",
  );
});

Deno.test("hostOrigin() without TRUSTED_PROXIES ignores X-Forwarded-Host", async () => {
  const opts = options({ allowedHosts: ["api.example.com"] });
  await assertOutcome(
    opts,
    { host: "evil.com", "x-forwarded-host": "api.example.com" },
    "rejected",
  );
  await assertOutcome(
    opts,
    { host: "api.example.com", "x-forwarded-host": "evil.com" },
    "allowed",
  );
  await assertOutcome(
    options(),
    { host: "localhost:8000", "x-forwarded-host": "evil.com" },
    "allowed",
  );
});

Deno.test("isLoopbackHost() recognises loopback names and addresses", () => {
  for (
    const host of [
      "localhost",
      "LocalHost",
      "a.localhost",
      "::1",
      "[::1]",
      "127.0.0.1",
      "127.255.0.9",
    ]
  ) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (
    const host of [
      "0.0.0.0",
      "",
      "evil.com",
      "localhost.evil.com",
      "notlocalhost",
      "127.0.0.1.evil.com",
      "128.0.0.1",
      "::2",
      "::",
      "10.0.0.1",
      "1127.0.0.1",
    ]
  ) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

// Regression test (found by review, fixed in src).
Deno.test({
  name: "hostOrigin() matches a bracketed IPv6 entry of ALLOWED_HOSTS",
  async fn() {
    const opts = options({ bindHost: "::", allowedHosts: ["[::1]:8000", "[::1]"] });
    await assertOutcome(opts, { host: "[::1]:8000" }, "allowed");
    await assertOutcome(opts, { host: "[::1]" }, "allowed");
  },
});

Deno.test("Host verdicts are remembered per value, and 1,000 junk hosts change none of them", async () => {
  // One middleware for every request, as the app has it: the verdicts it keeps must stay right.
  for (const opts of [options(), options({ allowedHosts: ["api.example.com"] })]) {
    const middleware = hostOrigin(opts);
    const verdict = async (host: string): Promise<Outcome> => {
      const url = "http://127.0.0.1:8000/v1/mcp";
      try {
        await middleware(
          new Request(url, { headers: { host } }),
          context(url),
          () => Promise.resolve(new Response("ok")),
        );
        return "allowed";
      } catch (error) {
        assert.ok(error instanceof ToolError && error.httpStatus === 403);
        return "rejected";
      }
    };
    const good = opts.allowedHosts.length > 0 ? "api.example.com" : "127.0.0.1:8000";
    const bad = "evil.example";
    for (let round = 0; round < 3; round++) {
      assert.equal(await verdict(good), "allowed");
      assert.equal(await verdict(bad), "rejected");
      // More distinct values than are kept: the kept verdicts start over.
      for (let i = 0; i < 1000; i++) {
        assert.equal(await verdict(`junk-${round}-${i}.example`), "rejected");
      }
      assert.equal(await verdict(good.toUpperCase()), "allowed", "case-insensitive");
      assert.equal(await verdict(bad), "rejected");
    }
  }
});
