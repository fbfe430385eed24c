import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/env.ts";
import { upstreamOptions } from "../../../src/sources/http/upstream_options.ts";

const config = parseConfig({
  API_KEY_PRIMARY: "primary-test-key-0123456789",
  API_BASE_URL: "https://api.example/v1",
  API_TIMEOUT_SECONDS: "2.5",
  API_MAX_RETRIES: "4",
  API_BACKOFF_FACTOR: "3",
  API_BACKOFF_INITIAL_SECONDS: "0.25",
  API_BACKOFF_MAX_SECONDS: "8",
  API_MAX_CONNECTIONS: "70",
  API_MAX_RESPONSE_BYTES: "65536",
  API_CIRCUIT_FAILURES: "6",
  API_CIRCUIT_MIN_CALLERS: "3",
  API_CIRCUIT_COOLDOWN_SECONDS: "12",
  API_AUTH_HEADER: "X-Api-Key",
  API_AUTH_TOKEN: "s3cret",
});

Deno.test("upstreamOptions() maps every API_* setting once, for API_BASE_URL's client", () => {
  const u = config.upstream;
  assert.deepEqual(upstreamOptions(u, { name: "api", baseUrl: u.baseUrl!, auth: u.auth }), {
    name: "api",
    baseUrl: "https://api.example/v1",
    attemptTimeoutMs: 2500,
    maxRetries: 4,
    backoff: { initialMs: 250, factor: 3, maxMs: 8000 },
    maxConnections: 70,
    circuitFailures: 6,
    circuitMinCallers: 3,
    circuitCooldownMs: 12_000,
    maxResponseBytes: 65536,
    auth: { header: "X-Api-Key", value: "s3cret" },
  });
});

Deno.test("upstreamOptions() gives a tools-file source its own settings on the server's, never API_AUTH_TOKEN", () => {
  const own = upstreamOptions(config.upstream, {
    name: "crm",
    baseUrl: "https://crm.example",
    timeoutSeconds: 1,
    maxRetries: 0,
    maxConnections: 5,
    headers: { "x-tenant": "acme" },
  });
  assert.equal(own.name, "crm");
  assert.equal(own.attemptTimeoutMs, 1000);
  assert.equal(own.maxRetries, 0);
  assert.equal(own.maxConnections, 5);
  assert.deepEqual(own.headers, { "x-tenant": "acme" });
  assert.deepEqual(own.backoff, { initialMs: 250, factor: 3, maxMs: 8000 });
  assert.equal(own.circuitCooldownMs, 12_000);
  assert.equal("auth" in own, false, "the API_BASE_URL credential is not sent to another host");
});
