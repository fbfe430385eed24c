import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/env.ts";
import { postgresOptions } from "../../../src/sources/db/postgres_options.ts";

Deno.test("postgresOptions() maps every DB_* setting once, for the server's pool and a tools-file source's", () => {
  const config = parseConfig({
    DB_URL: "postgres://u@127.0.0.1:5432/app",
    DB_POOL_SIZE: "7",
    DB_POOL_MAX_OVERFLOW: "3",
    DB_POOL_RECYCLE_SECONDS: "600",
    DB_IDLE_TIMEOUT_SECONDS: "30",
    DB_CONNECT_TIMEOUT_SECONDS: "4",
    DB_QUERY_TIMEOUT_SECONDS: "2.5",
    DB_PIPELINE_DEPTH: "2",
    MAX_ROWS: "250",
    MAX_RESULT_BYTES: "65536",
  });
  assert.deepEqual(postgresOptions(config.db, { url: config.db.url! }), {
    url: "postgres://u@127.0.0.1:5432/app",
    poolSize: 7,
    poolMaxOverflow: 3,
    recycleSeconds: 600,
    idleTimeoutSeconds: 30,
    connectTimeoutSeconds: 4,
    queryTimeoutMs: 2500,
    pipelineDepth: 2,
    limits: { maxRows: 250, maxBytes: 65536 },
  });
  const own = postgresOptions(config.db, {
    url: "postgres://other/db",
    poolSize: 2,
    queryTimeoutSeconds: 1,
  });
  assert.equal(own.url, "postgres://other/db");
  assert.equal(own.poolSize, 2);
  assert.equal(own.queryTimeoutMs, 1000);
  assert.equal(own.poolMaxOverflow, 3);
});
