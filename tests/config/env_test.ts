import assert from "node:assert/strict";
import { type Config, ConfigError, parseConfig, SECRET_VARIABLES } from "../../src/config/env.ts";

const KEY_A = "aaaaaaaaaaaaaaaa-primary-key";
const KEY_B = "bbbbbbbbbbbbbbbb-secondary-key";

/** Runs `parseConfig(env)`, asserts it throws a ConfigError, and returns it. */
function configError(env: Record<string, string | undefined>): ConfigError {
  let caught: unknown;
  try {
    parseConfig(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}`);
  return caught;
}

/** Asserts `env` is refused with a problem line starting with `variable`. */
function assertRefused(env: Record<string, string | undefined>, variable: string): ConfigError {
  const error = configError(env);
  assert.ok(
    error.problems.some((p) => p.startsWith(`${variable}:`)),
    `expected a problem line for ${variable}, got ${JSON.stringify(error.problems)}`,
  );
  return error;
}

Deno.test("parseConfig() gives the documented defaults for an empty environment", () => {
  const config = parseConfig({});
  const expected: Config = {
    host: "127.0.0.1",
    port: 8000,
    workers: 1,
    isolate: 0,
    environment: "development",
    deploymentName: "default",
    logLevel: "info",
    logFormat: "json",
    logFile: undefined,
    apiKeys: [],
    apiKeysFile: undefined,
    authMode: "keys",
    oauth: undefined,
    db: {
      url: undefined,
      embedded: false,
      pgliteDataDir: undefined,
      poolSize: 10,
      poolMaxOverflow: 5,
      poolRecycleSeconds: 1800,
      queryTimeoutSeconds: 10,
      connectTimeoutSeconds: 5,
      idleTimeoutSeconds: 60,
      pipelineDepth: 8,
      maxRows: 1000,
      maxResultBytes: 10 * 1024 * 1024,
      identitySettings: undefined,
      columnPolicies: { columns: [], liftedBy: undefined, hashKey: undefined },
    },
    sqlQuery: { enabled: false, allowedTables: [], allowedFunctions: [] },
    dbSchema: { enabled: false },
    cursors: { secret: undefined, ttlSeconds: 900 },
    upstream: {
      baseUrl: undefined,
      timeoutSeconds: 10,
      maxRetries: 3,
      backoffFactor: 2,
      backoffInitialSeconds: 0.5,
      backoffMaxSeconds: 10,
      maxConnections: 50,
      maxResponseBytes: 10 * 1024 * 1024,
      circuitFailures: 5,
      circuitMinCallers: 2,
      circuitCooldownSeconds: 30,
      auth: undefined,
    },
    rateLimitRpm: 100,
    rateLimit: {
      windowSeconds: 60,
      storage: "memory",
      redisUrl: undefined,
      failMode: "open",
      toolCosts: {},
      keyRpm: {},
      userRpm: undefined,
      authFailuresPerWindow: 20,
      maxConcurrentCallsPerKey: undefined,
    },
    cache: {
      storage: "memory",
      redisUrl: undefined,
      redisPrefix: "mcp:cache:",
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      maxEntryBytes: 1024 * 1024,
    },
    demoTools: "auto",
    toolsFile: undefined,
    toolset: undefined,
    enableRag: false,
    rag: {
      modelDir: "models/embedding",
      model: "Xenova/all-MiniLM-L6-v2",
      allowDownload: false,
      dbUrl: undefined,
      pgliteDir: "data/rag",
      chunkSize: 1000,
      chunkOverlap: 200,
      batchSize: 32,
    },
    toolTimeoutSeconds: 30,
    maxBodyBytes: 1024 * 1024,
    http: { bodyTimeoutSeconds: 30 },
    allowedOrigins: [],
    corsOrigins: [],
    tls: undefined,
    allowedHosts: [],
    trustedProxies: [],
    metricsToken: undefined,
    conformanceFixtures: false,
  };
  assert.deepEqual(config, expected);
});

Deno.test("parseConfig() treats empty and blank values as unset", () => {
  const config = parseConfig({
    HOST: "",
    PORT: "  ",
    ENVIRONMENT: "",
    LOG_LEVEL: "",
    LOG_FILE: "   ",
    API_KEY_PRIMARY: "",
    DB_URL: "",
    ENABLE_RAG: "",
    ALLOWED_ORIGINS: "",
    ALLOWED_HOSTS: " , ",
  });
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8000);
  assert.equal(config.environment, "development");
  assert.equal(config.logLevel, "info");
  assert.equal(config.logFile, undefined);
  assert.deepEqual(config.apiKeys, []);
  assert.equal(config.db.url, undefined);
  assert.equal(config.enableRag, false);
  assert.deepEqual(config.allowedOrigins, []);
  assert.deepEqual(config.allowedHosts, []);
});

Deno.test("parseConfig() parses every variable", () => {
  const config = parseConfig({
    HOST: "0.0.0.0",
    PORT: "9090",
    ENVIRONMENT: "production",
    LOG_LEVEL: "debug",
    LOG_FORMAT: "text",
    LOG_FILE: "/var/log/mcp.log",
    API_KEY_PRIMARY: KEY_A,
    API_KEY_SECONDARY: KEY_B,
    DB_URL: "postgres://app:pw@db.internal:5432/app",
    DB_POOL_SIZE: "20",
    DB_POOL_MAX_OVERFLOW: "7",
    DB_POOL_RECYCLE_SECONDS: "600",
    DB_QUERY_TIMEOUT_SECONDS: "2.5",
    DB_CONNECT_TIMEOUT_SECONDS: "7",
    DB_IDLE_TIMEOUT_SECONDS: "30",
    DB_PIPELINE_DEPTH: "2",
    MAX_ROWS: "250",
    MAX_RESULT_BYTES: "65536",
    ENABLE_SQL_QUERY_TOOL: "true",
    SQL_QUERY_ALLOWED_TABLES: "Orders, public.customers",
    SQL_QUERY_ALLOWED_FUNCTIONS: "hstore, similarity",
    API_BASE_URL: "https://api.example.com/v2",
    API_TIMEOUT_SECONDS: "15",
    API_MAX_RETRIES: "0",
    API_BACKOFF_FACTOR: "1.5",
    API_BACKOFF_INITIAL_SECONDS: "0.2",
    API_BACKOFF_MAX_SECONDS: "4",
    API_MAX_CONNECTIONS: "8",
    API_MAX_RESPONSE_BYTES: "4096",
    API_CIRCUIT_FAILURES: "3",
    API_CIRCUIT_MIN_CALLERS: "3",
    API_CIRCUIT_COOLDOWN_SECONDS: "12.5",
    API_AUTH_HEADER: "X-Api-Key",
    API_AUTH_TOKEN: "Token abc-123",
    RATE_LIMIT_RPM: "250",
    ENABLE_RAG: "true",
    RAG_MODEL_DIR: "/srv/models/minilm",
    RAG_MODEL: "sentence-transformers/all-MiniLM-L6-v2",
    RAG_ALLOW_DOWNLOAD: "true",
    RAG_DB_URL: "postgres://rag:pw@db.internal:5432/rag",
    RAG_PGLITE_DIR: "/var/lib/mcp/rag",
    RAG_CHUNK_SIZE: "800",
    RAG_CHUNK_OVERLAP: "400",
    RAG_BATCH_SIZE: "64",
    TOOL_TIMEOUT_SECONDS: "0.25",
    MAX_BODY_BYTES: "2048",
    ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000",
    ALLOWED_HOSTS: "API.Example.com,internal:8080",
    TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8,FD00::/8,::ffff:192.0.2.0/120,10.0.0.0/8",
  });
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 9090);
  assert.equal(config.environment, "production");
  assert.equal(config.logLevel, "debug");
  assert.equal(config.logFormat, "text");
  assert.equal(config.logFile, "/var/log/mcp.log");
  assert.deepEqual(config.apiKeys, [
    { id: "primary", key: KEY_A },
    { id: "secondary", key: KEY_B },
  ]);
  assert.deepEqual(config.db, {
    url: "postgres://app:pw@db.internal:5432/app",
    embedded: false,
    pgliteDataDir: undefined,
    poolSize: 20,
    poolMaxOverflow: 7,
    poolRecycleSeconds: 600,
    queryTimeoutSeconds: 2.5,
    connectTimeoutSeconds: 7,
    idleTimeoutSeconds: 30,
    pipelineDepth: 2,
    maxRows: 250,
    maxResultBytes: 65536,
    identitySettings: undefined,
    columnPolicies: { columns: [], liftedBy: undefined, hashKey: undefined },
  });
  assert.deepEqual(config.sqlQuery, {
    enabled: true,
    allowedTables: ["orders", "public.customers"],
    allowedFunctions: ["hstore", "similarity"],
  });
  assert.deepEqual(config.upstream, {
    baseUrl: "https://api.example.com/v2",
    timeoutSeconds: 15,
    maxRetries: 0,
    backoffFactor: 1.5,
    backoffInitialSeconds: 0.2,
    backoffMaxSeconds: 4,
    maxConnections: 8,
    maxResponseBytes: 4096,
    circuitFailures: 3,
    circuitMinCallers: 3,
    circuitCooldownSeconds: 12.5,
    auth: { header: "X-Api-Key", value: "Token abc-123" },
  });
  assert.equal(config.rateLimitRpm, 250);
  assert.equal(config.enableRag, true);
  assert.deepEqual(config.rag, {
    modelDir: "/srv/models/minilm",
    model: "sentence-transformers/all-MiniLM-L6-v2",
    allowDownload: true,
    dbUrl: "postgres://rag:pw@db.internal:5432/rag",
    pgliteDir: "/var/lib/mcp/rag",
    chunkSize: 800,
    chunkOverlap: 400,
    batchSize: 64,
  });
  assert.equal(config.toolTimeoutSeconds, 0.25);
  assert.equal(config.maxBodyBytes, 2048);
  assert.deepEqual(config.allowedOrigins, ["https://app.example.com", "http://localhost:3000"]);
  assert.deepEqual(config.allowedHosts, ["api.example.com", "internal:8080"]);
  assert.deepEqual(config.trustedProxies, [
    "127.0.0.1/32",
    "10.0.0.0/8",
    "fd00::/8",
    "192.0.2.0/24",
  ]);
});

Deno.test("parseConfig() trims numbers and normalises enum and boolean case", () => {
  const config = parseConfig({
    PORT: " 8123 ",
    ENVIRONMENT: "Development",
    LOG_LEVEL: "WARNING",
    LOG_FORMAT: " JSON ",
    ENABLE_RAG: "TRUE",
    TRUST_PROXY: "False",
  });
  // TRUST_PROXY is still read, so that "true" is refused rather than ignored; "false" is harmless.
  assert.equal(config.port, 8123);
  assert.equal(config.environment, "development");
  assert.equal(config.logLevel, "warning");
  assert.equal(config.logFormat, "json");
  assert.equal(config.enableRag, true);
});

Deno.test("parseConfig() accepts the integer range bounds", () => {
  assert.equal(parseConfig({ PORT: "0" }).port, 0);
  assert.equal(parseConfig({ PORT: "65535" }).port, 65535);
  assert.equal(parseConfig({ MAX_BODY_BYTES: "1024" }).maxBodyBytes, 1024);
  assert.equal(parseConfig({ MAX_BODY_BYTES: String(64 * 1024 * 1024) }).maxBodyBytes, 67108864);
  assert.equal(parseConfig({ API_MAX_RETRIES: "10" }).upstream.maxRetries, 10);
  assert.equal(parseConfig({ DB_QUERY_TIMEOUT_SECONDS: "3600" }).db.queryTimeoutSeconds, 3600);
  assert.equal(parseConfig({ TOOL_TIMEOUT_SECONDS: "0.001" }).toolTimeoutSeconds, 0.001);
  assert.equal(parseConfig({ ENABLE_RAG: "0" }).enableRag, false);
  assert.equal(parseConfig({ DB_URL: "postgresql://h/db" }).db.url, "postgresql://h/db");
  assert.equal(
    parseConfig({ API_BASE_URL: "http://localhost:9000" }).upstream.baseUrl,
    "http://localhost:9000",
  );
});

const BAD_VALUES: readonly [string, string][] = [
  ["PORT", "abc"],
  ["PORT", "1.5"],
  ["PORT", "65536"],
  ["PORT", "-1"],
  ["PORT", "0x1F"],
  ["PORT", "1e3"],
  ["PORT", "99999999999999999999"],
  ["ENVIRONMENT", "prod"],
  ["LOG_LEVEL", "verbose"],
  ["LOG_LEVEL", "warn"],
  ["LOG_FORMAT", "xml"],
  ["DB_URL", "mysql://db.internal/app"],
  ["DB_URL", "not a url"],
  ["DB_POOL_SIZE", "0"],
  ["DB_POOL_SIZE", "1001"],
  ["DB_POOL_SIZE", "ten"],
  ["DB_POOL_MAX_OVERFLOW", "-1"],
  ["DB_POOL_MAX_OVERFLOW", "2.5"],
  ["DB_POOL_RECYCLE_SECONDS", "86401"],
  ["DB_POOL_RECYCLE_SECONDS", "1.5"],
  ["DB_PIPELINE_DEPTH", "0"],
  ["DB_PIPELINE_DEPTH", "17"],
  ["DB_PIPELINE_DEPTH", "two"],
  ["DB_QUERY_TIMEOUT_SECONDS", "0"],
  ["DB_QUERY_TIMEOUT_SECONDS", "-5"],
  ["DB_QUERY_TIMEOUT_SECONDS", "3601"],
  ["DB_QUERY_TIMEOUT_SECONDS", "ten"],
  ["DB_QUERY_TIMEOUT_SECONDS", ".5"],
  ["API_BASE_URL", "ftp://files.example.com"],
  ["API_BASE_URL", "api.example.com"],
  ["API_TIMEOUT_SECONDS", "0"],
  ["API_TIMEOUT_SECONDS", "NaN"],
  ["API_MAX_RETRIES", "11"],
  ["API_MAX_RETRIES", "1.5"],
  ["API_BACKOFF_FACTOR", "0.5"],
  ["API_BACKOFF_FACTOR", "11"],
  ["API_BACKOFF_FACTOR", "-2"],
  ["API_BACKOFF_INITIAL_SECONDS", "61"],
  ["API_BACKOFF_MAX_SECONDS", "forever"],
  ["API_MAX_CONNECTIONS", "0"],
  ["API_MAX_RESPONSE_BYTES", "1023"],
  ["API_CIRCUIT_FAILURES", "0"],
  ["API_CIRCUIT_MIN_CALLERS", "0"],
  ["API_CIRCUIT_COOLDOWN_SECONDS", "0"],
  ["API_AUTH_HEADER", "X Api Key"],
  ["API_AUTH_HEADER", "Host"],
  ["API_AUTH_HEADER", "X-Request-ID"],
  ["API_AUTH_HEADER", "X-Key\r\nX-Evil: 1"],
  ["API_AUTH_TOKEN", "Bearer abc\r\nX-Evil: 1"],
  ["API_AUTH_TOKEN", " leading-space"],
  ["API_AUTH_TOKEN", "tok\u00e9n"],
  ["RATE_LIMIT_RPM", "0"],
  ["RATE_LIMIT_RPM", "1000001"],
  ["RATE_LIMIT_RPM", "fast"],
  ["ENABLE_RAG", "yes"],
  ["ENABLE_RAG", "2"],
  ["RAG_MODEL", "../../etc/passwd"],
  ["RAG_MODEL", "https://huggingface.co/x/y"],
  ["RAG_ALLOW_DOWNLOAD", "yes"],
  ["RAG_DB_URL", "mysql://db/rag"],
  ["RAG_CHUNK_SIZE", "99"],
  ["RAG_CHUNK_SIZE", "big"],
  ["RAG_CHUNK_OVERLAP", "-1"],
  ["RAG_CHUNK_OVERLAP", "501"],
  ["RAG_BATCH_SIZE", "0"],
  ["RAG_BATCH_SIZE", "1025"],
  ["TOOL_TIMEOUT_SECONDS", "0"],
  ["TOOL_TIMEOUT_SECONDS", "Infinity"],
  ["TOOL_TIMEOUT_SECONDS", "3600.5"],
  ["MAX_BODY_BYTES", "1023"],
  ["MAX_BODY_BYTES", String(64 * 1024 * 1024 + 1)],
  ["MAX_BODY_BYTES", "1.5"],
  ["ALLOWED_ORIGINS", "app.example.com"],
  ["ALLOWED_ORIGINS", "https://app.example.com/"],
  ["ALLOWED_ORIGINS", "https://app.example.com/path"],
  ["ALLOWED_ORIGINS", "https://ok.example.com,ftp://files.example.com"],
  ["ALLOWED_ORIGINS", "*"],
  ["ALLOWED_ORIGINS", "null"],
  ["CORS_ORIGINS", "*"],
  ["CORS_ORIGINS", "https://app.example.com/"],
  ["TRUST_PROXY", "on"],
  ["TRUST_PROXY", "true"],
  ["TRUSTED_PROXIES", "*"],
  ["TRUSTED_PROXIES", "10.0.0.0/33"],
  ["TRUSTED_PROXIES", "10.1"],
  ["TRUSTED_PROXIES", "127.0.0.1:8000"],
  ["TRUSTED_PROXIES", "fe80::1%eth0"],
  ["TRUSTED_PROXIES", "10.0.0.1,proxy.internal"],
  ["API_KEY_PRIMARY", "short-key-123"],
  ["API_KEY_SECONDARY", "x".repeat(513)],
  ["CACHE_STORAGE", "disk"],
  ["CACHE_REDIS_URL", "http://127.0.0.1:6379"],
  ["CACHE_REDIS_PREFIX", "has space"],
  ["CACHE_REDIS_PREFIX", "x".repeat(65)],
  ["CACHE_MAX_ENTRIES", "0"],
  ["CACHE_MAX_ENTRIES", "10000001"],
  ["CACHE_MAX_BYTES", "1023"],
  ["CACHE_MAX_ENTRY_BYTES", "0"],
  ["CACHE_MAX_ENTRY_BYTES", "1.5"],
];

for (const [variable, value] of BAD_VALUES) {
  Deno.test(`parseConfig() refuses ${variable}=${JSON.stringify(value.slice(0, 40))}`, () => {
    const env: Record<string, string> = { [variable]: value };
    // A secondary key is only checked for its own shape when the schema runs.
    if (variable === "API_KEY_SECONDARY") env.API_KEY_PRIMARY = KEY_A;
    const error = assertRefused(env, variable);
    assert.equal(error.problems.length, 1);
  });
}

Deno.test("parseConfig() refuses a chunk overlap over half the chunk size, with the defaults too", () => {
  assert.deepEqual(configError({ RAG_CHUNK_SIZE: "300" }).problems, [
    "RAG_CHUNK_OVERLAP: must be at most half of RAG_CHUNK_SIZE",
  ]);
  assert.deepEqual(configError({ RAG_CHUNK_SIZE: "1000", RAG_CHUNK_OVERLAP: "501" }).problems, [
    "RAG_CHUNK_OVERLAP: must be at most half of RAG_CHUNK_SIZE",
  ]);
  assert.equal(parseConfig({ RAG_CHUNK_SIZE: "400" }).rag.chunkOverlap, 200);
  assert.equal(parseConfig({ RAG_CHUNK_OVERLAP: "0" }).rag.chunkOverlap, 0);
});

Deno.test("parseConfig() reads the response cache variables", () => {
  const config = parseConfig({
    CACHE_STORAGE: "Redis",
    CACHE_REDIS_URL: "rediss://:pw@cache.internal:6380/2",
    REDIS_URL: "redis://limits.internal:6379",
    CACHE_REDIS_PREFIX: "app-1:cache:",
    CACHE_MAX_ENTRIES: "500",
    CACHE_MAX_BYTES: "1048576",
    CACHE_MAX_ENTRY_BYTES: "4096",
  });
  assert.deepEqual(config.cache, {
    storage: "redis",
    redisUrl: "rediss://:pw@cache.internal:6380/2",
    redisPrefix: "app-1:cache:",
    maxEntries: 500,
    maxBytes: 1048576,
    maxEntryBytes: 4096,
  });
  assert.equal(parseConfig({ CACHE_STORAGE: "off" }).cache.storage, "off");
});

Deno.test("parseConfig() takes REDIS_URL for the cache when CACHE_REDIS_URL is unset", () => {
  const config = parseConfig({ CACHE_STORAGE: "redis", REDIS_URL: "redis://127.0.0.1:6379" });
  assert.equal(config.cache.redisUrl, "redis://127.0.0.1:6379");
  assert.equal(config.rateLimit.storage, "memory");
});

Deno.test("parseConfig() refuses CACHE_STORAGE=redis without a Redis URL", () => {
  assert.deepEqual(configError({ CACHE_STORAGE: "redis" }).problems, [
    'CACHE_REDIS_URL: is required (or REDIS_URL) when CACHE_STORAGE is "redis"',
  ]);
});

Deno.test("parseConfig() says what it expects for a bad integer", () => {
  const error = assertRefused({ PORT: "1.5" }, "PORT");
  assert.deepEqual(error.problems, ["PORT: expected an integer from 0 to 65535"]);
});

Deno.test("parseConfig() says what it expects for a bad enum and boolean", () => {
  assert.deepEqual(configError({ LOG_FORMAT: "xml" }).problems, [
    "LOG_FORMAT: expected one of json, text",
  ]);
  assert.deepEqual(configError({ TRUST_PROXY: "yes" }).problems, [
    "TRUST_PROXY: expected true or false",
  ]);
});

Deno.test("parseConfig() refuses TRUST_PROXY=true and names TRUSTED_PROXIES", () => {
  const [problem] = configError({ TRUST_PROXY: "true", TRUSTED_PROXIES: "127.0.0.1" }).problems;
  assert.match(
    problem,
    /^TRUST_PROXY: no longer supported: it trusted X-Forwarded-For from any peer/,
  );
  assert.match(problem, /TRUSTED_PROXIES/);
});

Deno.test("parseConfig() lists several bad variables at once", () => {
  const error = configError({
    PORT: "abc",
    LOG_LEVEL: "loud",
    ENABLE_RAG: "maybe",
    DB_URL: "mysql://db/app",
    ALLOWED_ORIGINS: "nope",
  });
  assert.equal(error.problems.length, 5);
  for (const variable of ["PORT", "LOG_LEVEL", "ENABLE_RAG", "DB_URL", "ALLOWED_ORIGINS"]) {
    assert.ok(
      error.problems.some((p) => p.startsWith(`${variable}:`)),
      `missing ${variable} in ${JSON.stringify(error.problems)}`,
    );
  }
  // The message lists every problem, one per line.
  for (const problem of error.problems) assert.ok(error.message.includes(`  ${problem}`));
  assert.ok(error.message.startsWith("Invalid configuration:\n"));
  assert.equal(error.name, "ConfigError");
});

// Regression test (found by review, fixed in src).
Deno.test({
  name: "parseConfig() lists a missing production key together with other bad variables",
  fn() {
    const error = configError({ ENVIRONMENT: "production", PORT: "abc" });
    assert.ok(error.problems.some((p) => p.startsWith("PORT:")));
    assert.ok(error.problems.some((p) => p.startsWith("API_KEY_PRIMARY:")));
  },
});

for (const environment of ["staging", "production"]) {
  Deno.test(`parseConfig() refuses ${environment} without API_KEY_PRIMARY`, () => {
    const error = assertRefused(
      { ENVIRONMENT: environment, DB_URL: "postgres://db.internal/app" },
      "API_KEY_PRIMARY",
    );
    assert.deepEqual(error.problems, [
      `API_KEY_PRIMARY: is required in "${environment}" (or API_KEYS_FILE)`,
    ]);
  });

  Deno.test(`parseConfig() accepts ${environment} with API_KEY_PRIMARY`, () => {
    const config = parseConfig({
      ENVIRONMENT: environment,
      API_KEY_PRIMARY: KEY_A,
      DB_URL: "postgres://db.internal/app",
    });
    assert.equal(config.environment, environment);
    assert.deepEqual(config.apiKeys, [{ id: "primary", key: KEY_A }]);
  });
}

Deno.test("parseConfig() accepts MCP_CONFORMANCE_FIXTURES on loopback in development", () => {
  for (const host of [undefined, "127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]) {
    const config = parseConfig({ MCP_CONFORMANCE_FIXTURES: "true", HOST: host });
    assert.equal(config.conformanceFixtures, true, String(host));
  }
  assert.equal(
    parseConfig({ MCP_CONFORMANCE_FIXTURES: "1", ENVIRONMENT: "development" }).conformanceFixtures,
    true,
  );
  assert.equal(parseConfig({ MCP_CONFORMANCE_FIXTURES: "false" }).conformanceFixtures, false);
});

Deno.test("parseConfig() refuses MCP_CONFORMANCE_FIXTURES off loopback or outside development", () => {
  for (const host of ["0.0.0.0", "::", "10.0.0.5", "localhost.example.com", "128.0.0.1"]) {
    const error = assertRefused(
      { MCP_CONFORMANCE_FIXTURES: "true", HOST: host },
      "MCP_CONFORMANCE_FIXTURES",
    );
    assert.deepEqual(error.problems, [
      "MCP_CONFORMANCE_FIXTURES: allowed only with a loopback HOST (test only)",
    ], host);
  }
  for (const environment of ["staging", "production"]) {
    const error = assertRefused(
      {
        MCP_CONFORMANCE_FIXTURES: "TRUE",
        ENVIRONMENT: environment,
        API_KEY_PRIMARY: KEY_A,
        DB_EMBEDDED: "true",
      },
      "MCP_CONFORMANCE_FIXTURES",
    );
    assert.deepEqual(error.problems, [
      'MCP_CONFORMANCE_FIXTURES: allowed only in "development" (test only)',
    ]);
  }
  assertRefused({ MCP_CONFORMANCE_FIXTURES: "yes" }, "MCP_CONFORMANCE_FIXTURES");
});

Deno.test("parseConfig() reads PGLITE_DATA_DIR for the embedded database, trimmed; blank is memory", () => {
  assert.equal(
    parseConfig({ PGLITE_DATA_DIR: " /var/lib/mcp/db " }).db.pgliteDataDir,
    "/var/lib/mcp/db",
  );
  assert.equal(parseConfig({ PGLITE_DATA_DIR: "  " }).db.pgliteDataDir, undefined);
});

Deno.test("parseConfig() refuses PGLITE_DATA_DIR together with DB_URL", () => {
  const error = configError({
    PGLITE_DATA_DIR: "/var/lib/mcp/db",
    DB_URL: "postgres://app@db.internal:5432/app",
  });
  assert.deepEqual(error.problems, [
    "PGLITE_DATA_DIR: applies to the embedded database only; unset it or DB_URL",
  ]);
});

Deno.test("parseConfig() accepts development without any key", () => {
  assert.deepEqual(parseConfig({ ENVIRONMENT: "development" }).apiKeys, []);
});

Deno.test("parseConfig() refuses API_KEY_SECONDARY without API_KEY_PRIMARY", () => {
  const error = configError({ API_KEY_SECONDARY: KEY_B });
  assert.deepEqual(error.problems, ["API_KEY_SECONDARY: set only together with API_KEY_PRIMARY"]);
});

Deno.test("parseConfig() refuses a secondary key equal to the primary", () => {
  const error = configError({ API_KEY_PRIMARY: KEY_A, API_KEY_SECONDARY: KEY_A });
  assert.deepEqual(error.problems, ["API_KEY_SECONDARY: must differ from API_KEY_PRIMARY"]);
  assert.ok(!error.message.includes(KEY_A));
});

Deno.test("parseConfig() refuses a key shorter than 16 characters and accepts 16", () => {
  const error = assertRefused({ API_KEY_PRIMARY: "a".repeat(15) }, "API_KEY_PRIMARY");
  assert.equal(error.problems.length, 1);
  assert.deepEqual(parseConfig({ API_KEY_PRIMARY: "a".repeat(16) }).apiKeys, [
    { id: "primary", key: "a".repeat(16) },
  ]);
});

Deno.test("parseConfig() refuses a key with a space or a non-ASCII character", () => {
  assertRefused({ API_KEY_PRIMARY: "abcdefgh ijklmnopq" }, "API_KEY_PRIMARY");
  assertRefused({ API_KEY_PRIMARY: "abcdefghijklmnopqé" }, "API_KEY_PRIMARY");
  assertRefused({ API_KEY_PRIMARY: "abcdefgh\nijklmnopq" }, "API_KEY_PRIMARY");
});

Deno.test("parseConfig() never echoes a secret value in an error message", () => {
  const badKey = "TOPSECRET-KEY-with space-0123456789";
  const badSecondary = "SHORT-SECRET";
  const dbPassword = "hunter2-DB-PASSWORD";
  const badDbUrl = `mysql://admin:${dbPassword}@db.internal:3306/app`;
  const error = configError({
    API_KEY_PRIMARY: badKey,
    API_KEY_SECONDARY: badSecondary,
    DB_URL: badDbUrl,
    PORT: "nope",
  });
  assert.equal(error.problems.length, 4);
  const everything = [
    error.message,
    String(error),
    error.stack ?? "",
    JSON.stringify(error.problems),
    JSON.stringify(error),
  ].join("\n");
  for (const secret of [badKey, "TOPSECRET", badSecondary, badDbUrl, dbPassword, "hunter2"]) {
    assert.ok(!everything.includes(secret), `error text leaks ${JSON.stringify(secret)}`);
  }
  assert.ok(error.problems.some((p) => p.startsWith("API_KEY_PRIMARY:")));
  assert.ok(error.problems.some((p) => p.startsWith("API_KEY_SECONDARY:")));
  assert.ok(error.problems.some((p) => p.startsWith("DB_URL:")));
});

Deno.test("parseConfig() wants TLS_CERT_FILE and TLS_KEY_FILE together", () => {
  assertRefused({ TLS_CERT_FILE: "/c.pem" }, "TLS_KEY_FILE");
  assertRefused({ TLS_KEY_FILE: "/k.pem" }, "TLS_KEY_FILE");
  assert.deepEqual(parseConfig({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem" }).tls, {
    certFile: "/c.pem",
    keyFile: "/k.pem",
  });
});

Deno.test("parseConfig() never echoes a bad API_AUTH_TOKEN", () => {
  const token = "Bearer SECRET-UPSTREAM-TOKEN\nX-Evil: 1";
  const error = assertRefused({ API_AUTH_TOKEN: token }, "API_AUTH_TOKEN");
  assert.ok(!error.message.includes("SECRET-UPSTREAM-TOKEN"));
});

Deno.test("parseConfig() defaults API_AUTH_HEADER to Authorization when a token is set", () => {
  const config = parseConfig({ API_AUTH_TOKEN: "Bearer abc" });
  assert.deepEqual(config.upstream.auth, { header: "Authorization", value: "Bearer abc" });
});

Deno.test("parseConfig() never echoes an unparsable postgres URL with a password", () => {
  const dbUrl = "postgres://admin:s3cr3t-PASS@[not-a-host/app";
  const error = assertRefused({ DB_URL: dbUrl }, "DB_URL");
  assert.ok(!error.message.includes("s3cr3t-PASS"));
  assert.ok(!error.message.includes(dbUrl));
});

Deno.test("SECRET_VARIABLES names the key and the URL variables (URLs may carry credentials)", () => {
  assert.deepEqual([...SECRET_VARIABLES].sort(), [
    "API_AUTH_TOKEN",
    "API_BASE_URL",
    "API_KEY_PRIMARY",
    "API_KEY_SECONDARY",
    "CACHE_REDIS_URL",
    "DB_URL",
    "METRICS_TOKEN",
    "RAG_DB_URL",
    "REDIS_URL",
  ]);
});

Deno.test("parseConfig() returns a deeply frozen config", () => {
  const config = parseConfig({
    API_KEY_PRIMARY: KEY_A,
    ALLOWED_ORIGINS: "https://app.example.com",
    ALLOWED_HOSTS: "app.example.com",
  });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.db));
  assert.ok(Object.isFrozen(config.upstream));
  assert.ok(Object.isFrozen(config.apiKeys));
  assert.ok(Object.isFrozen(config.apiKeys[0]));
  assert.ok(Object.isFrozen(config.allowedOrigins));
  assert.ok(Object.isFrozen(config.allowedHosts));

  // Modules run in strict mode, so writing to a frozen object throws.
  const mutable = config as unknown as {
    port: number;
    db: { poolSize: number };
    apiKeys: { key: string }[];
    allowedHosts: string[];
  };
  assert.throws(() => {
    mutable.port = 1;
  }, TypeError);
  assert.throws(() => {
    mutable.db.poolSize = 99;
  }, TypeError);
  assert.throws(() => {
    mutable.apiKeys[0].key = "stolen";
  }, TypeError);
  assert.throws(() => {
    mutable.apiKeys.push({ key: "extra" });
  }, TypeError);
  assert.throws(() => {
    mutable.allowedHosts.push("evil.com");
  }, TypeError);
  assert.equal(config.port, 8000);
  assert.equal(config.db.poolSize, 10);
  assert.equal(config.apiKeys[0].key, KEY_A);
  assert.deepEqual(config.allowedHosts, ["app.example.com"]);
});

Deno.test("parseConfig() reads per-key scopes and API_KEYS_FILE", () => {
  const config = parseConfig({
    API_KEY_PRIMARY: "p".repeat(20),
    API_KEY_PRIMARY_SCOPES: " tools:read, sql:query ,tools:read",
    API_KEY_SECONDARY: "s".repeat(20),
    API_KEYS_FILE: "/run/secrets/api-keys.yaml",
  });
  assert.deepEqual(config.apiKeys, [
    { id: "primary", key: "p".repeat(20), scopes: ["tools:read", "sql:query"] },
    { id: "secondary", key: "s".repeat(20) },
  ]);
  assert.equal(config.apiKeysFile, "/run/secrets/api-keys.yaml");
});

Deno.test("parseConfig() refuses bad scope lists and scopes without their key", () => {
  for (const bad of [",", "tools read", 'a"b', "a:b:c"]) {
    assertRefused(
      { API_KEY_PRIMARY: "p".repeat(20), API_KEY_PRIMARY_SCOPES: bad },
      "API_KEY_PRIMARY_SCOPES",
    );
  }
  const error = assertRefused(
    { API_KEY_SECONDARY_SCOPES: "tools:read" },
    "API_KEY_SECONDARY_SCOPES",
  );
  assert.deepEqual(error.problems, [
    "API_KEY_SECONDARY_SCOPES: set only together with API_KEY_SECONDARY",
  ]);
});

Deno.test("parseConfig() accepts production with only API_KEYS_FILE", () => {
  const config = parseConfig({
    ENVIRONMENT: "production",
    API_KEYS_FILE: "/k.yaml",
    DB_EMBEDDED: "true",
  });
  assert.deepEqual(config.apiKeys, []);
  assert.equal(config.apiKeysFile, "/k.yaml");
});

Deno.test("WORKERS: 1 to 64 isolates; above 1 only on PostgreSQL, a fixed port, and a shared RAG store", () => {
  const db = { DB_URL: "postgres://u@127.0.0.1/db" };
  assert.equal(parseConfig({ ...db, WORKERS: "4" }).workers, 4);
  assert.equal(
    parseConfig({ WORKERS: "1" }).workers,
    1,
    "one isolate runs on the embedded default",
  );
  for (const bad of ["0", "65", "2.5", "two", "-1"]) {
    assertRefused({ ...db, WORKERS: bad }, "WORKERS");
  }
  assert.match(configError({ WORKERS: "2" }).message, /WORKERS: above 1 needs DB_URL/);
  assert.match(
    configError({ ...db, WORKERS: "2", PORT: "0" }).message,
    /WORKERS: above 1 needs a fixed PORT/,
  );
  assert.match(
    configError({ ...db, WORKERS: "2", ENABLE_RAG: "true" }).message,
    /WORKERS: above 1 with ENABLE_RAG needs RAG_DB_URL/,
  );
  assert.equal(
    parseConfig({ ...db, WORKERS: "2", ENABLE_RAG: "true", RAG_DB_URL: "postgres://u@h/rag" })
      .workers,
    2,
  );
});

Deno.test("parseConfig() reads DEPLOYMENT_NAME and MAX_CONCURRENT_CALLS_PER_KEY, and refuses bad ones", () => {
  const config = parseConfig({ DEPLOYMENT_NAME: "sales-eu.2", MAX_CONCURRENT_CALLS_PER_KEY: "4" });
  assert.equal(config.deploymentName, "sales-eu.2");
  assert.equal(config.rateLimit.maxConcurrentCallsPerKey, 4);
  for (
    const [name, value] of [
      ["DEPLOYMENT_NAME", "Sales"],
      ["DEPLOYMENT_NAME", "a:b"],
      ["DEPLOYMENT_NAME", "x".repeat(65)],
      ["MAX_CONCURRENT_CALLS_PER_KEY", "0"],
      ["MAX_CONCURRENT_CALLS_PER_KEY", "1.5"],
      ["MAX_CONCURRENT_CALLS_PER_KEY", "many"],
    ]
  ) {
    assert.throws(
      () => parseConfig({ [name]: value }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith(`${name}:`)),
      `${name}=${value}`,
    );
  }
});

for (const environment of ["staging", "production"]) {
  Deno.test(`parseConfig() refuses ${environment} without DB_URL unless the embedded database is asked for`, () => {
    const base = { ENVIRONMENT: environment, API_KEY_PRIMARY: KEY_A };
    // A mistyped DB_URL is no DB_URL: the demo database must not serve in its place.
    const error = assertRefused({ ...base, DB_ULR: "postgres://db.internal/app" }, "DB_URL");
    assert.deepEqual(error.problems, [
      `DB_URL: is required in "${environment}" (or a TOOLS_FILE with its own database); ` +
      "DB_EMBEDDED=true serves the embedded demo database on purpose",
    ]);
    assert.equal(parseConfig({ ...base, DB_EMBEDDED: "true" }).db.embedded, true);
    assert.equal(parseConfig({ ...base, PGLITE_DATA_DIR: "/var/lib/mcp" }).db.url, undefined);
    // A tools file may bring its own database: decided when it loads (demo_plan.ts).
    assert.equal(parseConfig({ ...base, TOOLS_FILE: "/etc/t.yaml" }).toolsFile, "/etc/t.yaml");
    // ...but sql_query reads the server's own database.
    assert.deepEqual(
      assertRefused(
        { ...base, TOOLS_FILE: "/etc/t.yaml", ENABLE_SQL_QUERY_TOOL: "true" },
        "ENABLE_SQL_QUERY_TOOL",
      ).problems.length,
      1,
    );
  });
}

Deno.test("parseConfig() refuses DB_EMBEDDED together with DB_URL, and a DB_EMBEDDED that is not a boolean", () => {
  assertRefused({ DB_EMBEDDED: "true", DB_URL: "postgres://db/app" }, "DB_EMBEDDED");
  assertRefused({ DB_EMBEDDED: "yes" }, "DB_EMBEDDED");
  assert.equal(
    parseConfig({ DB_EMBEDDED: "false", DB_URL: "postgres://db/app" }).db.embedded,
    false,
  );
});

Deno.test("parseConfig() reads DEMO_TOOLS as auto, true or false", () => {
  assert.equal(parseConfig({}).demoTools, "auto");
  assert.equal(parseConfig({ DEMO_TOOLS: "TRUE" }).demoTools, "true");
  assert.equal(parseConfig({ DEMO_TOOLS: "false" }).demoTools, "false");
  assertRefused({ DEMO_TOOLS: "maybe" }, "DEMO_TOOLS");
});

Deno.test("parseConfig() reads the token and row-level-security variables", () => {
  const config = parseConfig({
    AUTH_MODE: "both",
    API_KEY_PRIMARY: "primary-test-key-0123456789",
    OAUTH_ISSUER: "https://id.example.com",
    OAUTH_RESOURCE: "https://mcp.example.com/mcp",
    OAUTH_JWKS_URL: "https://id.example.com/jwks",
    OAUTH_SCOPE_MAP: "mcp.read=tools:read,mcp.sql=sql:query tools:read",
    OAUTH_USER_CLAIM: "email",
    RATE_LIMIT_USER_RPM: "10",
    DB_URL: "postgres://app@db/app",
    DB_IDENTITY_SETTINGS: "app.user_id=sub, app.tenant=tenant_id",
  });
  assert.equal(config.authMode, "both");
  assert.equal(config.oauth?.resource, "https://mcp.example.com/mcp");
  assert.deepEqual(config.oauth?.authorizationServers, ["https://id.example.com"]);
  assert.deepEqual(config.oauth?.algorithms, ["RS256", "PS256", "ES256", "EdDSA"]);
  assert.deepEqual(config.oauth?.scopeMap, {
    "mcp.read": ["tools:read"],
    "mcp.sql": ["sql:query", "tools:read"],
  });
  assert.equal(config.oauth?.userClaim, "email");
  assert.equal(config.rateLimit.userRpm, 10);
  assert.deepEqual(config.db.identitySettings, { "app.user_id": "sub", "app.tenant": "tenant_id" });
});

Deno.test("parseConfig() refuses unsafe or incomplete token settings", () => {
  const problems = (env: Record<string, string>) => {
    try {
      parseConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };
  const base = {
    AUTH_MODE: "tokens",
    OAUTH_ISSUER: "https://id.example.com",
    OAUTH_RESOURCE: "https://mcp.example.com/mcp",
    OAUTH_JWKS_URL: "https://id.example.com/jwks",
  };
  assert.deepEqual(problems(base), []);
  for (const algs of ["none", "HS256", "RS256,HS512"]) {
    assert.match(problems({ ...base, OAUTH_ALGORITHMS: algs }).join(), /OAUTH_ALGORITHMS/);
  }
  assert.match(problems({ ...base, OAUTH_RESOURCE: "" }).join(), /OAUTH_RESOURCE: is required/);
  assert.match(problems({ ...base, OAUTH_JWKS_FILE: "jwks.json" }).join(), /exactly one/);
  assert.match(
    problems({
      ...base,
      ENVIRONMENT: "production",
      DB_URL: "postgres://db/app",
      OAUTH_JWKS_URL: "http://id/jwks",
    }).join(),
    /OAUTH_JWKS_URL: must be an https/,
  );
  assert.match(
    problems({ ...base, API_KEY_PRIMARY: "primary-test-key-0123456789" }).join(),
    /refuses API keys/,
  );
  assert.match(
    problems({ OAUTH_ISSUER: "https://id.example.com" }).join(),
    /applies only when AUTH_MODE/,
  );
  assert.match(problems({ DB_IDENTITY_SETTINGS: "app.user_id=sub" }).join(), /set DB_URL/);
  assert.match(
    problems({ DB_URL: "postgres://db/app", DB_IDENTITY_SETTINGS: "role=sub" }).join(),
    /DB_IDENTITY_SETTINGS/,
  );
});

Deno.test("parseConfig() reads column policies and refuses bad ones, naming the variable", () => {
  const config = parseConfig({
    SQL_COLUMN_POLICIES: "customers.email=mask, sales.leads.note=deny",
    SQL_COLUMN_POLICIES_LIFTED_BY: "pii:read",
    SQL_HASH_KEY: "k".repeat(32),
  });
  assert.deepEqual(config.db.columnPolicies, {
    columns: [
      { table: "customers", column: "email", kind: "mask" },
      { schema: "sales", table: "leads", column: "note", kind: "deny" },
    ],
    liftedBy: "pii:read",
    hashKey: "k".repeat(32),
  });
  assert.deepEqual(parseConfig({}).db.columnPolicies.columns, []);
  for (
    const [env, reason] of [
      [{ SQL_COLUMN_POLICIES: "customers.email=show" }, /SQL_COLUMN_POLICIES.*deny, mask/],
      [{ SQL_COLUMN_POLICIES: "email=mask" }, /SQL_COLUMN_POLICIES.*table\.column/],
      [{ SQL_COLUMN_POLICIES_LIFTED_BY: "pii read" }, /SQL_COLUMN_POLICIES_LIFTED_BY/],
      [{ SQL_HASH_KEY: "short" }, /SQL_HASH_KEY.*32/],
    ] as const
  ) assert.throws(() => parseConfig(env), reason);
});
