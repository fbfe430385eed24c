/**
 * Loads the demo data set (the embedded default's customers and orders) into
 * a PostgreSQL database, to try `DB_URL` with the same data or to benchmark.
 *
 *   deno task seed postgres://postgres@127.0.0.1:5432/mcp_demo
 *
 * Refuses a database that already has a `customers` or `orders` table.
 *
 * @module
 */
import postgres from "postgres";
import { DEMO_SCHEMA_SQL, DEMO_SEED_SQL } from "../src/sources/db/demo_data.ts";

const url = Deno.args[0];
if (!url) {
  console.error("Usage: deno task seed <postgres URL>");
  Deno.exit(2);
}
const sql = postgres(url, { max: 1, onnotice: () => {} });
try {
  const [{ n }] = await sql`
    SELECT count(*)::int AS n FROM pg_tables
    WHERE schemaname = current_schema() AND tablename IN ('customers', 'orders')`;
  if (n > 0) {
    console.error("Refusing: the database already has a customers or orders table");
    Deno.exit(1);
  }
  await sql.unsafe(DEMO_SCHEMA_SQL);
  await sql.unsafe(DEMO_SEED_SQL);
  console.log("Seeded the demo customers and orders");
} finally {
  await sql.end();
}
