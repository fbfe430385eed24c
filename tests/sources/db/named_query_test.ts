import assert from "node:assert/strict";
import { namedQuery, QueryTextError } from "../../../src/sources/db/named_query.ts";
import { isSqlQuery } from "../../../src/sources/db/sql_source.ts";

function converts(
  text: string,
  params: Record<string, unknown>,
  expected: string,
  values: unknown[],
) {
  const q = namedQuery(text, params);
  assert.equal(q.text, expected, text);
  assert.deepEqual(q.values, values, text);
}

function refuses(text: string, params: Record<string, unknown>, message: string | RegExp) {
  assert.throws(() => namedQuery(text, params), (error: unknown) => {
    assert.ok(error instanceof QueryTextError, `${text}: ${error}`);
    if (typeof message === "string") assert.equal(error.message, message, text);
    else assert.match(error.message, message, text);
    return true;
  });
}

Deno.test("named query: builds a branded, frozen SqlQuery", () => {
  const q = namedQuery("SELECT * FROM orders WHERE id = :id", { id: 1 });
  assert.ok(isSqlQuery(q));
  assert.ok(Object.isFrozen(q));
  assert.ok(Object.isFrozen(q.values));
});

Deno.test("named query: converts placeholders", () => {
  converts("SELECT 1", {}, "SELECT 1", []);
  converts(
    "SELECT * FROM orders WHERE customer_id = :customer AND amount > :min",
    { min: 10, customer: 7 },
    "SELECT * FROM orders WHERE customer_id = $1 AND amount > $2",
    [7, 10],
  );
  // The same name twice is the same parameter.
  converts(
    "SELECT :a, :b, :a, :a_b, :b",
    { a: 1, b: 2, a_b: 3 },
    "SELECT $1, $2, $1, $3, $2",
    [1, 2, 3],
  );
  // Adjacent, in parentheses, at the very end.
  converts("SELECT f(:a,:b)", { a: 1, b: 2 }, "SELECT f($1,$2)", [1, 2]);
  converts("SELECT x IN (:a,:b)", { a: 1, b: 2 }, "SELECT x IN ($1,$2)", [1, 2]);
  converts("SELECT * FROM t LIMIT :limit", { limit: 5 }, "SELECT * FROM t LIMIT $1", [5]);
  converts("SELECT :_x1", { _x1: null }, "SELECT $1", [null]);
  // A trailing semicolon, whitespace and comments after it are fine.
  converts("SELECT :a; -- done\n /* really */ ", { a: 1 }, "SELECT $1; -- done\n /* really */ ", [
    1,
  ]);
});

Deno.test("named query: casts are not placeholders", () => {
  converts("SELECT a::int, :v::text", { v: "1" }, "SELECT a::int, $1::text", ["1"]);
  converts("SELECT :v::numeric(10,2)", { v: 1 }, "SELECT $1::numeric(10,2)", [1]);
  converts(
    "SELECT now()::timestamp(0)::text",
    {},
    "SELECT now()::timestamp(0)::text",
    [],
  );
  converts('SELECT x::"Type"', {}, 'SELECT x::"Type"', []);
});

Deno.test("named query: names inside strings, identifiers, comments and dollar quotes are text", () => {
  const untouched = [
    "SELECT ':a'",
    "SELECT 'it''s :a'",
    "SELECT E'\\' :a'",
    "SELECT e'\\\\', ''",
    'SELECT ":a" FROM t',
    'SELECT "say ""hi"" :a"',
    "SELECT 1 -- :a and ${x} and $1 and ; DROP",
    "SELECT 1 /* :a /* nested :b */ still :c */",
    "SELECT $$ :a {x} $1; $$",
    "SELECT $fn$ :a $$ :b $fn$",
    "SELECT $a$:a$a$",
    "SELECT U&'\\0041 :a'",
    "SELECT B'101', X'ff', N':a'",
    "SELECT a$b, c$$",
  ];
  for (const text of untouched) converts(text, {}, text, []);

  // Placeholders right after the literal still count.
  converts("SELECT ':a', :a", { a: 1 }, "SELECT ':a', $1", [1]);
  converts("SELECT E'\\'', :a", { a: 1 }, "SELECT E'\\'', $1", [1]);
  converts("SELECT $t$ x $t$||:a", { a: 1 }, "SELECT $t$ x $t$||$1", [1]);
  converts("SELECT 1 /* c */:a", { a: 1 }, "SELECT 1 /* c */$1", [1]);
  converts("SELECT -- c\n:a", { a: 1 }, "SELECT -- c\n$1", [1]);
  // A word ending in e before a quote is not an escape string.
  converts("SELECT name'x', :a", { a: 1 }, "SELECT name'x', $1", [1]);
});

Deno.test("named query: injection-looking values are simply bound", () => {
  const evil = "'; DROP TABLE x; --";
  converts(
    "SELECT * FROM t WHERE name = :name",
    { name: evil },
    "SELECT * FROM t WHERE name = $1",
    [
      evil,
    ],
  );
  converts("SELECT :v", { v: ":other $1 {x}" }, "SELECT $1", [":other $1 {x}"]);
});

Deno.test("named query: missing and unused parameters", () => {
  refuses("SELECT * FROM t LIMIT :limit", {}, "Missing value for :limit");
  refuses("SELECT :a", { a: undefined }, "Missing value for :a");
  refuses("SELECT :a", { b: 1, a: 1 }, "Unused parameter: b");
  refuses("SELECT 1", { extra: 1 }, "Unused parameter: extra");
  // Only own properties: no Object.prototype members.
  refuses("SELECT :constructor", {}, "Missing value for :constructor");
  refuses("SELECT :toString", {}, "Missing value for :toString");
  // A name only inside a string is not a placeholder, so its value is unused.
  refuses("SELECT ':a'", { a: 1 }, "Unused parameter: a");
});

Deno.test("named query: string interpolation leftovers", () => {
  refuses(
    "SELECT * FROM t WHERE id = ${id}",
    { id: 1 },
    "Looks like string interpolation: ${id} (use :name placeholders)",
  );
  refuses(
    "SELECT * FROM t WHERE id = {id}",
    {},
    "Looks like string interpolation: {id} (use :name placeholders)",
  );
  refuses("SELECT {{ user.id }}", {}, /^Looks like string interpolation: \{ user\.id \}/);
  refuses("SELECT ${a + b}", {}, /^Looks like string interpolation: \$\{a \+ b\}/);
});

Deno.test("named query: positional placeholders", () => {
  refuses("SELECT * FROM t WHERE id = $1", {}, "Use :name placeholders, not $1");
  refuses("SELECT :a, $12", { a: 1 }, "Use :name placeholders, not $12");
});

Deno.test("named query: one statement only", () => {
  refuses("SELECT 1; DROP TABLE t", {}, "Only one statement is allowed");
  refuses("SELECT :a; SELECT :a", { a: 1 }, "Only one statement is allowed");
  refuses("SELECT 1;;", {}, "Only one statement is allowed");
  refuses("SELECT 1; -- c\nDELETE FROM t", {}, "Only one statement is allowed");
  refuses("SELECT 1; /* c */ x", {}, "Only one statement is allowed");
});

Deno.test("named query: unterminated literals", () => {
  refuses("SELECT 'abc", {}, "Unterminated quoted string");
  refuses("SELECT E'abc\\'", {}, "Unterminated quoted string");
  refuses('SELECT "abc', {}, "Unterminated quoted identifier");
  refuses("SELECT /* a /* b */ :x", {}, "Unterminated /* comment");
  refuses("SELECT $q$ abc $$", {}, "Unterminated dollar-quoted string $q$");
});
