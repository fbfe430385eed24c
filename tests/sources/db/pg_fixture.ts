/**
 * Real PostgreSQL for tests: a fresh database per test file, seeded with the
 * demo data, on the server at `TEST_DATABASE_URL` (default
 * `postgres://postgres@127.0.0.1:5432/test`). When that server cannot be
 * reached, `postgresUnavailable` holds the reason, printed once, and the
 * PostgreSQL tests are ignored (never silently).
 *
 * @module
 */
import postgres from "postgres";
import { DEMO_SCHEMA_SQL, DEMO_SEED_SQL } from "../../../src/sources/db/demo_data.ts";

export const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";

async function probe(): Promise<string | undefined> {
  const sql = postgres(TEST_DATABASE_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${TEST_DATABASE_URL} is unreachable (${(error as Error).message})`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Why PostgreSQL tests are skipped, or undefined when they run. */
export const postgresUnavailable: string | undefined = await probe();
if (postgresUnavailable) {
  console.log(`Skipping PostgreSQL tests: ${postgresUnavailable}`);
}

/** A throw-away database holding the demo data, plus an admin connection to it. */
export interface TestDatabase {
  readonly url: string;
  /** Superuser connection to the test database, for fixtures and for faults. */
  readonly admin: postgres.Sql;
  drop(): Promise<void>;
}

/** Creates `mcp_test_<random>` on the test server and seeds it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mcp_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const server = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated database name, not input
  await server.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const admin = postgres(url.toString(), { max: 2, onnotice: () => {} });
  await admin.unsafe(DEMO_SCHEMA_SQL);
  await admin.unsafe(DEMO_SEED_SQL);
  return {
    url: url.toString(),
    admin,
    async drop() {
      await admin.end({ timeout: 1 });
      // deno-lint-ignore sql-safety/no-sql-interpolation -- a generated database name, not input
      await server.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await server.end({ timeout: 1 });
    },
  };
}
