/**
 * The read-only promise against a determined caller, on a private PostgreSQL
 * cluster the test starts (never the shared one: these attacks are
 * cluster-wide): as a superuser and as docs/SECURITY.md's least-privilege role,
 * every attack of each class is refused, and checksums taken outside the
 * server (tables, large objects, sequences, catalogs, replication slots,
 * role settings, advisory locks, notifications) are unchanged. Below the
 * statement guard, the source's own layers (rollback, session reset) are
 * checked on their own, with the guard bypassed.
 *
 * @module
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  DEMO_CHECKSUM_SQL,
  DEMO_SCHEMA_SQL,
  DEMO_SEED_SQL,
} from "../../../src/sources/db/demo_data.ts";
import { openPostgres } from "../../../src/sources/db/postgres.ts";
import { sql, type SqlQuery } from "../../../src/sources/db/sql_source.ts";
import { BUILTIN_TOOLS } from "../../../src/tools/builtin/mod.ts";
import { createTestApp, postJson, type TestApp } from "../../harness.ts";
import {
  createPrivateCluster,
  type PrivateCluster,
  privateClusterUnavailable,
} from "../../sources/db/private_cluster.ts";

if (privateClusterUnavailable) {
  console.log(`Skipping private-cluster attack tests: ${privateClusterUnavailable}`);
}

const ENV = {
  ENABLE_SQL_QUERY_TOOL: "true",
  DB_QUERY_TIMEOUT_SECONDS: "3",
  TOOL_TIMEOUT_SECONDS: "5",
  DB_POOL_SIZE: "2",
  DB_POOL_MAX_OVERFLOW: "0",
};

/** docs/SECURITY.md's role, for this cluster. */
const READER_SQL = `
CREATE ROLE mcp_reader LOGIN PASSWORD 'change-me'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 20;
ALTER ROLE mcp_reader SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE postgres TO mcp_reader;
GRANT USAGE ON SCHEMA public TO mcp_reader;
GRANT SELECT ON customers, orders TO mcp_reader;
`;

/** Everything a "read-only" call must leave as it was, read by the superuser outside the server. */
const STATE_SQL = `
SELECT
  (${DEMO_CHECKSUM_SQL}) AS tables,
  (SELECT count(*) || ':' || coalesce(sum(length(lo_get(oid))), 0) FROM pg_largeobject_metadata) AS large_objects,
  (SELECT string_agg(seqrelid::regclass || '=' || coalesce(pg_sequence_last_value(seqrelid), 0), ',' ORDER BY seqrelid) FROM pg_sequence) AS sequences,
  (SELECT count(*) FROM pg_class) || '/' || (SELECT count(*) FROM pg_proc) || '/' ||
    (SELECT count(*) FROM pg_collation) || '/' || (SELECT count(*) FROM pg_namespace) AS catalogs,
  (SELECT count(*) FROM pg_replication_slots) AS slots,
  (SELECT count(*) FROM pg_db_role_setting) AS role_settings,
  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') AS advisory_locks,
  (SELECT count(*) FROM pg_prepared_xacts) AS prepared_xacts
`;

/** Each class of the review, with variants of our own. Every one must be refused. */
const ATTACKS: readonly string[] = [
  // 1. One call takes the cluster's lock table.
  "SELECT count(pg_advisory_lock(g)) FROM generate_series(1, 20000) g",
  "SELECT count(pg_advisory_lock_shared(g, g)) FROM generate_series(1, 20000) g",
  "SELECT bool_and(pg_try_advisory_lock(g)) FROM generate_series(1, 20000) g",
  "SELECT count(*) FROM generate_series(1, 20000) g WHERE pg_catalog.pg_try_advisory_lock(g)",
  'SELECT count("pg_advisory_xact_lock"(g)) FROM generate_series(1, 20000) g',
  // 2. Writes a READ ONLY transaction does not stop.
  "SELECT lo_from_bytea(0, convert_to('x', 'UTF8'))",
  "SELECT lo_create(0)",
  "SELECT lo_unlink(oid) FROM pg_largeobject_metadata",
  "SELECT lo_put(oid, 0, '\\x00') FROM pg_largeobject_metadata",
  "SELECT pg_notify('mcp_probe', 'x')",
  "SELECT nextval('orders_id_seq')",
  "SELECT setval('orders_id_seq', 1)",
  "SELECT pg_create_physical_replication_slot('mcp_evil')",
  "SELECT pg_import_system_collations('public')",
  "SELECT pg_switch_wal()",
  "SELECT pg_backup_start('x')",
  // 3. SQL run past the guard, settings that outlive the call, catalog functions.
  "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery FROM pg_authid')",
  "SELECT set_config('search_path', 'nowhere', false)",
  "SELECT * FROM pg_stat_get_activity(NULL)",
  "SELECT * FROM pg_hba_file_rules()",
  "SELECT * FROM pg_show_all_file_settings()",
  "SELECT query_to_xml('SELECT * FROM pg_authid', true, true, '')",
  "SELECT rolname, rolpassword FROM pg_authid",
  "SELECT * FROM pg_catalog.pg_hba_file_rules",
  "SELECT * FROM pg_file_settings",
  "SELECT most_common_vals::text FROM pg_stats",
  // 4. One call that would fill the server's memory.
  "SELECT repeat('x', 1000000) FROM generate_series(1, 1001)",
  "-- a comment ended by a bare CR\rSELECT repeat('x', 1000000) FROM generate_series(1, 1001)",
  "SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200000) g",
  // 15. Caller mistakes: never an outage.
  "SELECT 1\0",
  "SELECT 'a\0b'",
];

/** The app's answers to an attack that count as refused (never a 5xx, never a 200). */
function assertRefused(status: number, body: { status?: string; error?: string }, sql: string) {
  assert.ok(
    status === 400 || status === 403,
    `${JSON.stringify(sql)} answered ${status}: ${JSON.stringify(body)}`,
  );
}

interface Cluster {
  readonly cluster: PrivateCluster;
  readonly superUrl: string;
  readonly readerUrl: string;
  readonly admin: postgres.Sql;
}

async function startCluster(): Promise<Cluster> {
  // A small lock table, so a few thousand leaked locks would fill it.
  const cluster = await createPrivateCluster({
    max_locks_per_transaction: 10,
    max_connections: 20,
  });
  await cluster.start();
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(DEMO_SCHEMA_SQL);
  await admin.unsafe(DEMO_SEED_SQL);
  await admin.unsafe(READER_SQL);
  // Existing data an attacker would change or delete.
  await admin.unsafe("SELECT lo_from_bytea(0, convert_to('kept', 'UTF8'))");
  await admin.unsafe(
    "CREATE SEQUENCE IF NOT EXISTS orders_id_seq; SELECT nextval('orders_id_seq')",
  );
  const reader = new URL(cluster.url);
  reader.username = "mcp_reader";
  reader.password = "change-me";
  return { cluster, superUrl: cluster.url, readerUrl: reader.toString(), admin };
}

async function state(admin: postgres.Sql): Promise<Record<string, unknown>> {
  const [row] = await admin.unsafe(STATE_SQL);
  return { ...row };
}

/** A new connection to the cluster opens: the lock table has room. */
async function clusterAcceptsConnections(url: string): Promise<void> {
  const fresh = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [{ one }] = await fresh`SELECT 1 AS one`;
    assert.equal(one, 1);
  } finally {
    await fresh.end({ timeout: 1 });
  }
}

Deno.test({
  name:
    "sql_query on a private cluster: every attack class is refused, as superuser and least-privilege role, and nothing changes",
  ignore: privateClusterUnavailable !== undefined,
  async fn(t) {
    const { cluster, superUrl, readerUrl, admin } = await startCluster();
    const notified: string[] = [];
    const listener = postgres(superUrl, { max: 1, onnotice: () => {} });
    await listener.listen("mcp_probe", (payload) => notified.push(payload));
    const apps: TestApp[] = [];
    try {
      const before = await state(admin);
      for (const [who, url] of [["superuser", superUrl], ["mcp_reader", readerUrl]]) {
        const app = await createTestApp({ tools: BUILTIN_TOOLS, env: { DB_URL: url, ...ENV } });
        apps.push(app);
        await t.step(`as ${who}`, async () => {
          for (const query of ATTACKS) {
            const res = await postJson(app, "/v1/mcp/sql_query", { query });
            assertRefused(res.status, await res.json(), query);
          }
          // The pool still serves, and a new connection to the cluster opens.
          const ok = await postJson(app, "/v1/mcp/sql_query", {
            query: "SELECT count(*)::int AS n FROM orders",
          });
          assert.equal(ok.status, 200, await ok.clone().text());
          await clusterAcceptsConnections(superUrl);
        });
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await state(admin), before);
      assert.deepEqual(notified, []);
    } finally {
      for (const app of apps) await app.close();
      await listener.end({ timeout: 1 });
      await admin.end({ timeout: 1 });
      await cluster.destroy();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL source, below the guard: caller-written SQL is rolled back and its session reset before the connection is lent again",
  ignore: privateClusterUnavailable !== undefined,
  async fn(t) {
    const { cluster, superUrl, admin } = await startCluster();
    const notified: string[] = [];
    const listener = postgres(superUrl, { max: 1, onnotice: () => {} });
    await listener.listen("mcp_probe", (payload) => notified.push(payload));
    // One connection, so the next call gets the same session.
    const source = openPostgres({
      url: superUrl,
      poolSize: 1,
      poolMaxOverflow: 0,
      recycleSeconds: 0,
      idleTimeoutSeconds: 60,
      connectTimeoutSeconds: 5,
      queryTimeoutMs: 5000,
      limits: { maxRows: 100, maxBytes: 1_000_000 },
    });
    const raw = (text: string): SqlQuery => sql([text] as unknown as TemplateStringsArray);
    try {
      const before = await state(admin);
      await t.step("side effects of functions are rolled back", async () => {
        await source.query(
          raw(
            "SELECT lo_from_bytea(0, convert_to('x', 'UTF8')), pg_notify('mcp_probe', 'x'), " +
              "lo_unlink((SELECT min(oid) FROM pg_largeobject_metadata))",
          ),
          { callerWritten: true, prepare: false },
        );
        await new Promise((r) => setTimeout(r, 100));
        const after = await state(admin);
        assert.deepEqual(after, before);
        assert.deepEqual(notified, []);
      });

      await t.step(
        "advisory locks, settings and listen channels do not outlive the call",
        async () => {
          await source.query(
            raw(
              "SELECT pg_advisory_lock(7), set_config('search_path', 'nowhere', false), " +
                "set_config('statement_timeout', '1', false), set_config('standard_conforming_strings', 'off', false)",
            ),
            { callerWritten: true, prepare: false },
          );
          const [{ n }] =
            await admin`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`;
          assert.equal(n, 0);
          const { rows } = await source.query<Record<string, string>>(
            sql`SELECT current_setting('search_path') AS sp, current_setting('statement_timeout') AS st,
                current_setting('standard_conforming_strings') AS scs,
                current_setting('default_transaction_read_only') AS ro`,
          );
          assert.deepEqual(rows[0], { sp: '"$user", public', st: "5s", scs: "on", ro: "on" });
        },
      );

      await t.step(
        "a statement that fills the lock table leaves it empty again: the cluster keeps accepting connections",
        async () => {
          await assert.rejects(
            source.query(
              raw("SELECT count(pg_advisory_lock(g)) FROM generate_series(1, 20000) g"),
              {
                callerWritten: true,
                prepare: false,
              },
            ),
          );
          const [{ n }] =
            await admin`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`;
          assert.equal(n, 0);
          await clusterAcceptsConnections(superUrl);
          const { rows } = await source.query<{ one: number }>(sql`SELECT 1 AS one`);
          assert.equal(rows[0].one, 1);
        },
      );
    } finally {
      await source.close();
      await listener.end({ timeout: 1 });
      await admin.end({ timeout: 1 });
      await cluster.destroy();
    }
  },
});
