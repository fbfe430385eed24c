import assert from "node:assert/strict";
import { freePort, runDeno } from "../../process.ts";
import { createTestDatabase, postgresUnavailable } from "../../sources/db/pg_fixture.ts";

const MAIN = new URL("../../../main.ts", import.meta.url).pathname;

const GOOD = `
tools:
  customer_name:
    kind: sql
    description: A customer's name.
    statement: SELECT name FROM customers WHERE id = :id
    parameters:
      id: { type: integer, description: id, min: 1, max: 1000 }
`;

const BAD = `
tools:
  unknown_table:
    kind: sql
    description: A typo in the table.
    statement: SELECT id FROM customerz
  unknown_column:
    kind: sql
    description: A typo in a column.
    statement: SELECT nmae FROM customers
  wrong_type:
    kind: sql
    description: A string where the database wants a number.
    statement: SELECT name FROM customers WHERE id = :id
    parameters:
      id: { type: string, description: id }
  side_effect:
    kind: sql
    description: Would notice a call; never executed by check.
    statement: SELECT count(*) AS n FROM customers
`;

Deno.test({
  name: "main check --connect prepares each SQL statement on its database, naming the tool",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    const dir = await Deno.makeTempDir();
    const check = async (text: string, dbUrl: string) => {
      const file = `${dir}/tools.yaml`;
      await Deno.writeTextFile(file, text);
      return await runDeno(
        [
          "run",
          "--allow-net",
          "--allow-env",
          `--allow-read=${dir}`,
          MAIN,
          "check",
          file,
          "--connect",
        ],
        { DB_URL: dbUrl },
      );
    };
    try {
      await t.step("statements that prepare: exit 0", async () => {
        const out = await check(GOOD, db.url);
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stdout, /1 SQL statements prepared/);
      });
      await t.step(
        "unknown table, unknown column, type mismatch: exit 2, each tool named",
        async () => {
          const out = await check(BAD, db.url);
          assert.equal(out.code, 2, out.stderr);
          assert.match(out.stderr, /tool unknown_table .*relation "customerz" does not exist/);
          assert.match(out.stderr, /tool unknown_column .*column "nmae" does not exist/);
          assert.match(
            out.stderr,
            /tool wrong_type .*parameter id is declared string but the database expects int/,
          );
          assert.doesNotMatch(out.stderr, /side_effect/);
        },
      );
      await t.step("without --connect the same file passes (nothing connects)", async () => {
        const file = `${dir}/tools.yaml`;
        await Deno.writeTextFile(file, BAD);
        const out = await runDeno([
          "run",
          "--allow-env",
          `--allow-read=${dir}`,
          MAIN,
          "check",
          file,
        ]);
        assert.equal(out.code, 0, out.stderr);
      });
      await t.step("a database that cannot be reached: exit 1", async () => {
        const out = await check(GOOD, `postgres://postgres@127.0.0.1:${freePort()}/none`);
        assert.equal(out.code, 1);
        assert.match(out.stderr, /source DB_URL: cannot connect/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await db.drop();
    }
  },
});
