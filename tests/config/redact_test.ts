import assert from "node:assert/strict";
import { type Config, parseConfig } from "../../src/config/env.ts";
import { redactConfig, REDACTED, redactUrl } from "../../src/config/redact.ts";

const PRIMARY = "PRIMARY-key-0123456789-abcdef";
const SECONDARY = "SECONDARY-key-9876543210-fedcba";
const DB_PASSWORD = "db-Pa55word-xyz";
const QUERY_SECRET = "query-secret-token";

function fullConfig(): Config {
  return parseConfig({
    ENVIRONMENT: "production",
    API_KEY_PRIMARY: PRIMARY,
    API_KEY_SECONDARY: SECONDARY,
    DB_URL:
      `postgres://app:${DB_PASSWORD}@db.internal:5432/appdb?sslmode=require&password=${QUERY_SECRET}`,
    PORT: "9000",
  });
}

Deno.test("redactConfig() shows API keys only by id", () => {
  const redacted = redactConfig(fullConfig());
  assert.deepEqual(redacted.apiKeys, [
    { id: "primary", key: REDACTED },
    { id: "secondary", key: REDACTED },
  ]);
});

Deno.test("redactConfig() removes the DB_URL password and query but keeps host and database", () => {
  const db = redactConfig(fullConfig()).db as Record<string, unknown>;
  const url = db.url as string;
  assert.ok(!url.includes(DB_PASSWORD), url);
  assert.ok(!url.includes(QUERY_SECRET), url);
  assert.ok(!url.includes("?"), url);
  const parsed = new URL(url);
  assert.equal(parsed.hostname, "db.internal");
  assert.equal(parsed.port, "5432");
  assert.equal(parsed.pathname, "/appdb");
  assert.equal(parsed.username, "app");
  assert.equal(decodeURIComponent(parsed.password), REDACTED);
  assert.equal(db.poolSize, 10);
});

Deno.test("redactConfig() removes the RAG_DB_URL password", () => {
  const config = parseConfig({ RAG_DB_URL: `postgres://rag:${DB_PASSWORD}@db.internal/rag` });
  const rag = redactConfig(config).rag as Record<string, unknown>;
  assert.ok(!String(rag.dbUrl).includes(DB_PASSWORD), String(rag.dbUrl));
  assert.equal(new URL(String(rag.dbUrl)).hostname, "db.internal");
  assert.equal(rag.modelDir, "models/embedding");
});

Deno.test("redactConfig() removes the password of the cache's Redis URL", () => {
  const config = parseConfig({
    CACHE_STORAGE: "redis",
    CACHE_REDIS_URL: `redis://:${DB_PASSWORD}@cache.internal:6379/1`,
  });
  const cache = redactConfig(config).cache as Record<string, unknown>;
  assert.ok(!String(cache.redisUrl).includes(DB_PASSWORD), String(cache.redisUrl));
  assert.equal(new URL(String(cache.redisUrl)).hostname, "cache.internal");
  assert.equal(cache.maxEntries, 10_000);
});

Deno.test("redactConfig() keeps the non-secret fields as they are", () => {
  const config = fullConfig();
  const redacted = redactConfig(config);
  assert.equal(redacted.port, 9000);
  assert.equal(redacted.environment, "production");
  assert.equal(redacted.host, "127.0.0.1");
  assert.deepEqual(redacted.upstream, config.upstream);
});

Deno.test("redactConfig() leaves an unset DB_URL unset", () => {
  const redacted = redactConfig(parseConfig({}));
  assert.equal((redacted.db as Record<string, unknown>).url, undefined);
  assert.deepEqual(redacted.apiKeys, []);
});

Deno.test("redactConfig() does not change the config it is given", () => {
  const config = fullConfig();
  redactConfig(config);
  assert.equal(config.apiKeys[0].key, PRIMARY);
  assert.ok(config.db.url?.includes(DB_PASSWORD));
});

Deno.test("JSON.stringify(redactConfig()) contains neither key nor password", () => {
  const text = JSON.stringify(redactConfig(fullConfig()));
  for (const secret of [PRIMARY, SECONDARY, DB_PASSWORD, QUERY_SECRET]) {
    assert.ok(!text.includes(secret), `leaks ${secret}: ${text}`);
  }
  assert.ok(text.includes('"primary"'));
  assert.ok(text.includes("db.internal"));
});

Deno.test("redactConfig() turns an unparsable database URL into the redacted mark", () => {
  const base = parseConfig({});
  const config = { ...base, db: { ...base.db, url: "::not a url:: with-secret" } } as Config;
  assert.equal((redactConfig(config).db as Record<string, unknown>).url, REDACTED);
});

Deno.test("redactUrl() replaces the password", () => {
  const out = redactUrl("postgresql://user:hunter2@localhost/db");
  assert.ok(!out.includes("hunter2"));
  assert.equal(out, "postgresql://user:%5Bredacted%5D@localhost/db");
});

Deno.test("redactUrl() removes the query string", () => {
  assert.equal(
    redactUrl("postgres://localhost:5432/db?sslmode=require&password=abc"),
    "postgres://localhost:5432/db",
  );
});

Deno.test("redactUrl() leaves a URL without secrets unchanged", () => {
  assert.equal(redactUrl("postgres://user@localhost:5432/db"), "postgres://user@localhost:5432/db");
  assert.equal(redactUrl("https://api.example.com/v2"), "https://api.example.com/v2");
});

Deno.test("redactUrl() turns an unparsable URL into the redacted mark", () => {
  assert.equal(redactUrl("not a url at all"), REDACTED);
  assert.equal(redactUrl(""), REDACTED);
  assert.equal(redactUrl("postgres://user:pw@[bad-host/db"), REDACTED);
});

// Regression test (found by review, fixed in src).
Deno.test({
  name: "redactConfig() strips credentials from the upstream API_BASE_URL too",
  fn() {
    const config = parseConfig({
      API_BASE_URL: "https://svc:upstream-PASSWORD@api.example.com/v2?api_key=upstream-TOKEN",
    });
    const text = JSON.stringify(redactConfig(config));
    assert.ok(!text.includes("upstream-PASSWORD"), text);
    assert.ok(!text.includes("upstream-TOKEN"), text);
  },
});

Deno.test("redactConfig() hides SQL_HASH_KEY and keeps the policies", () => {
  const key = "hash-key-0123456789-0123456789-0123456789";
  const redacted = JSON.stringify(redactConfig(parseConfig({
    API_KEY_PRIMARY: PRIMARY,
    SQL_COLUMN_POLICIES: "customers.email=mask",
    SQL_HASH_KEY: key,
  })));
  assert.ok(!redacted.includes(key));
  assert.ok(redacted.includes(`"hashKey":"${REDACTED}"`));
  assert.ok(redacted.includes(`"column":"email"`));
});
