import assert from "node:assert/strict";
import {
  DEMO_CHECKSUM_SQL,
  DEMO_SCHEMA_SQL,
  DEMO_SEED_SQL,
} from "../../../src/sources/db/demo_data.ts";
import { DEMO_SNAPSHOT, pgliteSource, startPglite } from "../../../src/sources/db/pglite.ts";
import { EVIL_WRITE_FUNCTION_SQL, sqlSourceSuite } from "./sql_source_suite.ts";

Deno.test("embedded database (PGlite) passes the SQL source suite", async (t) => {
  const db = await startPglite({ dataDir: DEMO_SNAPSHOT });
  await db.exec(EVIL_WRITE_FUNCTION_SQL);
  const source = pgliteSource(db);
  try {
    await sqlSourceSuite(t, source);
  } finally {
    await source.close();
  }
});

Deno.test("the shipped snapshot holds exactly what demo_data.ts generates (else run `deno task snapshot`)", async () => {
  const fresh = await startPglite();
  const shipped = await startPglite({ dataDir: DEMO_SNAPSHOT });
  try {
    await fresh.exec(DEMO_SCHEMA_SQL);
    await fresh.exec(DEMO_SEED_SQL);
    const digest = async (db: typeof fresh) =>
      (await db.query<{ digest: string }>(DEMO_CHECKSUM_SQL)).rows[0].digest;
    const schema = async (db: typeof fresh) =>
      (await db.query<{ s: string }>(
        `SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position) AS s
         FROM information_schema.columns WHERE table_schema = 'public'`,
      )).rows[0].s;
    assert.equal(await schema(shipped), await schema(fresh));
    assert.equal(await digest(shipped), await digest(fresh));
  } finally {
    await fresh.close();
    await shipped.close();
  }
});
