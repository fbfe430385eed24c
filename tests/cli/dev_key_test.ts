import assert from "node:assert/strict";
import { devKeyBanner, generateApiKey, withDevKey } from "../../src/cli/dev_key.ts";
import { parseConfig } from "../../src/config/env.ts";

const KEY = "given-primary-key-0123456789";

Deno.test("generateApiKey() gives 43 base64url characters", () => {
  for (let i = 0; i < 50; i++) {
    assert.match(generateApiKey(), /^[A-Za-z0-9_-]{43}$/);
  }
});

Deno.test("generateApiKey() is random", () => {
  const keys = new Set(Array.from({ length: 200 }, () => generateApiKey()));
  assert.equal(keys.size, 200);
});

Deno.test("generateApiKey() output is accepted by parseConfig() as a key", () => {
  const key = generateApiKey();
  assert.deepEqual(parseConfig({ API_KEY_PRIMARY: key }).apiKeys, [{ id: "primary", key }]);
});

Deno.test("withDevKey() generates a primary key in development with no keys", () => {
  const config = parseConfig({});
  const { config: withKey, generated } = withDevKey(config);
  assert.ok(generated);
  assert.match(generated, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(withKey.apiKeys, [{ id: "primary", key: generated }]);
  assert.ok(Object.isFrozen(withKey));
  assert.ok(Object.isFrozen(withKey.apiKeys));
  // Everything else is unchanged; the input config is not modified.
  assert.deepEqual({ ...withKey, apiKeys: [] }, { ...config });
  assert.deepEqual(config.apiKeys, []);
});

Deno.test("withDevKey() generates a new key each time", () => {
  const config = parseConfig({});
  assert.notEqual(withDevKey(config).generated, withDevKey(config).generated);
});

Deno.test("withDevKey() keeps the configured keys", () => {
  const config = parseConfig({ API_KEY_PRIMARY: KEY });
  const result = withDevKey(config);
  assert.equal(result.generated, undefined);
  assert.equal(result.config, config);
  assert.deepEqual(result.config.apiKeys, [{ id: "primary", key: KEY }]);
});

for (const environment of ["staging", "production"]) {
  Deno.test(`withDevKey() never generates a key in ${environment}`, () => {
    const config = parseConfig({
      ENVIRONMENT: environment,
      API_KEY_PRIMARY: KEY,
      DB_EMBEDDED: "true",
    });
    const result = withDevKey(config);
    assert.equal(result.generated, undefined);
    assert.equal(result.config, config);

    // Even a keyless config (which parseConfig would refuse) gets no key.
    const keyless = { ...config, apiKeys: [] };
    const forced = withDevKey(keyless);
    assert.equal(forced.generated, undefined);
    assert.deepEqual(forced.config.apiKeys, []);
  });
}

// Minor inconsistency (src/cli/dev_key.ts:25): parseConfig() returns a deeply
// frozen config, but withDevKey() freezes only the config and the key array,
// so the generated key object itself stays writable.
Deno.test({
  name: "withDevKey() returns a deeply frozen config like parseConfig()",
  fn() {
    const { config } = withDevKey(parseConfig({}));
    assert.ok(Object.isFrozen(config.apiKeys[0]));
  },
});

Deno.test("devKeyBanner() shows the key and a curl line with the base URL", () => {
  const key = generateApiKey();
  const banner = devKeyBanner(key, "http://127.0.0.1:8123");
  const lines = banner.split("\n");
  assert.ok(lines.includes(`  ${key}`), banner);
  const curl = lines.find((line) => line.trim().startsWith("curl "));
  assert.ok(curl, banner);
  assert.ok(curl.includes("http://127.0.0.1:8123/v1/mcp/"), curl);
  assert.ok(curl.includes(`Authorization: Bearer ${key}`), curl);
  assert.ok(curl.includes("Content-Type: application/json"), curl);
  assert.ok(banner.includes("API_KEY_PRIMARY"), banner);
});

Deno.test("devKeyBanner() uses the base URL it is given", () => {
  const banner = devKeyBanner("k".repeat(43), "http://[::1]:9000");
  assert.ok(banner.includes("curl -s -X POST http://[::1]:9000/v1/mcp/"), banner);
  assert.ok(!banner.includes("127.0.0.1"), banner);
});

Deno.test("devKeyBanner() lists the served tools when the demo's example tool is not among them", () => {
  const banner = devKeyBanner("k".repeat(43), "http://127.0.0.1:8123", ["open_tickets"]);
  assert.ok(!banner.includes("get_top_customers"), banner);
  assert.match(
    banner,
    /curl -s http:\/\/127\.0\.0\.1:8123\/v1\/mcp -H 'Authorization: Bearer k{43}'/,
  );
});
