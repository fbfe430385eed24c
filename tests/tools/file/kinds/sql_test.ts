/**
 * `kind: sql` (src/tools/file/kinds/sql.ts): its statement is bound to its
 * parameters and judged read-only at load, and its build step refuses what
 * would clash with result cursors. Calls through the server are in
 * `../tools_file_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Config } from "../../../../src/config/env.ts";
import type { SqlSource } from "../../../../src/sources/db/sql_source.ts";
import { sqlKind } from "../../../../src/tools/file/kinds/sql.ts";
import { createCursorCodec } from "../../../../src/tools/result_cursor.ts";
import { assertProblem, guard, problems, SQL_TOOL } from "../load_fixture.ts";

for (
  const [label, statement] of [
    ["${…} interpolation", "SELECT * FROM customers WHERE id = ${id}"],
    ["{…} format placeholder", "SELECT * FROM customers WHERE id = {id}"],
    ["a positional $1", "SELECT * FROM customers WHERE id = $1"],
  ]
) {
  Deno.test(`tools file: ${label} in a statement is refused at load`, () => {
    assertProblem(SQL_TOOL(JSON.stringify(statement)), 5, /statement/);
  });
}

Deno.test("tools file: ${ENV} in a statement is not resolved (only sources are)", () => {
  const found = problems(SQL_TOOL('"SELECT * FROM t WHERE x = ${HOME}"'), { HOME: "/root" });
  assert.ok(found.some((p) => p.line === 5 && /statement/.test(p.message)), JSON.stringify(found));
});

for (
  const statement of [
    "DELETE FROM customers",
    "UPDATE customers SET name = 'x'",
    "INSERT INTO customers (id) VALUES (1)",
    "DROP TABLE customers",
    "SELECT 1; COMMIT; DELETE FROM customers",
    "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
    "SELECT * FROM customers FOR UPDATE",
    "COPY customers TO PROGRAM 'id'",
    "SELECT pg_terminate_backend(1)",
    "SELECT * INTO stolen FROM customers",
  ]
) {
  Deno.test(`tools file: a writing statement is refused at load: ${statement}`, () => {
    assertProblem(SQL_TOOL(JSON.stringify(statement)), 5, /statement/);
  });
}

Deno.test("tools file: placeholders and parameters must match one to one", () => {
  assertProblem(SQL_TOOL("SELECT :a AS a"), 5, /statement/);
  const unused = SQL_TOOL(
    "SELECT 1",
    "    parameters:\n      a: { type: integer, description: x }\n",
  );
  assertProblem(unused, 5, /statement/);
});

Deno.test("sqlKind.build() refuses a parameter named cursor on a SELECT that pages, naming the tool", async () => {
  const spec = sqlKind.schema.parse({
    kind: "sql",
    description: "d",
    statement: "SELECT :cursor::text AS c",
    parameters: { cursor: { type: "string", description: "x" } },
  });
  const checked = sqlKind.check(spec, { guard, problem: (_f, m) => assert.fail(m) })!;
  const server = {
    config: { db: { maxRows: 10 } } as Config,
    sql: {} as SqlSource,
    upstream: undefined,
    source: undefined,
  };
  const cursors = await createCursorCodec({ secret: "s".repeat(32), ttlSeconds: 60 });
  assert.throws(
    () => sqlKind.build("pages", spec, checked, { ...server, cursors }),
    /^Error: Tool "pages": a sql tool's parameter may not be named "cursor"/,
  );
  // Without cursors the result does not continue, and the name is free.
  assert.equal(sqlKind.build("pages", spec, checked, server).name, "pages");
});
