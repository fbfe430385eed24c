import assert from "node:assert/strict";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";
import { DatabaseError } from "../../../src/sources/db/sql_source.ts";
import { createStatementGuard } from "../../../src/sources/db/statement_guard.ts";
import { ToolError } from "../../../src/tools/errors.ts";
import {
  CallerParams,
  callerQueryFailure,
  guardCallerSql,
} from "../../../src/tools/builtin/caller_sql.ts";

const guard = createStatementGuard(await createPgParser());

Deno.test("guardCallerSql() binds :name values and refuses bad text, missing values and what the guard refuses", () => {
  const { bound, verdict } = guardCallerSql(guard, "SELECT :a::int + :a::int AS n", { a: 2 });
  assert.equal(bound.text, "SELECT $1::int + $1::int AS n");
  assert.deepEqual(bound.values, [2]);
  assert.equal(verdict.statement, "select");
  for (
    const [query, params] of [
      ["SELECT :missing", {}],
      ["SELECT ${x}", {}],
      ["SELECT 1; DELETE FROM orders", {}],
      ["DELETE FROM orders", {}],
    ] as const
  ) {
    assert.throws(
      () => guardCallerSql(guard, query, params),
      (e) =>
        e instanceof ToolError && e.status === "invalid_input" &&
        /^Query refused: /.test(e.message),
      query,
    );
  }
});

Deno.test("callerQueryFailure() shows the caller its query's error and passes every other failure on", () => {
  const mapped = callerQueryFailure(
    new DatabaseError("query", 'column "x" does not exist', "42703"),
  );
  assert.ok(mapped instanceof ToolError && /Query failed: column "x"/.test(mapped.message));
  const outage = new DatabaseError("unavailable", "ECONNREFUSED");
  assert.equal(callerQueryFailure(outage), outage);
  const bug = new TypeError("bug");
  assert.equal(callerQueryFailure(bug), bug);
});

Deno.test("CallerParams takes scalars under names an SQL identifier may have, and nothing else", () => {
  assert.ok(CallerParams.safeParse({ id: 1, name: "x", ok: true, none: null }).success);
  assert.ok(CallerParams.safeParse(undefined).success);
  for (const bad of [{ "1x": 1 }, { "a-b": 1 }, { a: {} }, { a: [1] }, { a: "x".repeat(10_001) }]) {
    assert.ok(!CallerParams.safeParse(bad).success, JSON.stringify(bad).slice(0, 40));
  }
});
