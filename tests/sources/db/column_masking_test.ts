import assert from "node:assert/strict";
import {
  type CatalogRelation,
  createColumnMasker,
  maskingCatalog,
  type MaskPlan,
} from "../../../src/sources/db/column_masking.ts";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";

const parser = await createPgParser();
const relations: CatalogRelation[] = [
  {
    schema: "public",
    name: "customers",
    visible: true,
    columns: [{ name: "id" }, { name: "email", kind: "mask" }, { name: "ssn", kind: "deny" }],
  },
  { schema: "public", name: "orders", visible: true },
  { schema: "public", name: "contacts", visible: true, derivedFrom: "public.customers" },
  { schema: "sales", name: "customers", visible: false },
  {
    schema: "public",
    name: "people",
    visible: true,
    columns: [{ name: "id" }, { name: "name", kind: "hash" }],
  },
  { schema: "public", name: "Ωmega", visible: true, columns: [{ name: "x", kind: "mask" }] },
];
const plan = createColumnMasker(parser, maskingCatalog(relations));
const MASKED = `(SELECT "id", CASE WHEN "email" IS NULL`;

function rewritten(p: MaskPlan): string {
  assert.equal(p.kind, "rewritten", JSON.stringify(p));
  return (p as { text: string }).text;
}

Deno.test("createColumnMasker() leaves a statement without a policed table as it is", () => {
  assert.deepEqual(plan("SELECT * FROM orders WHERE id = $1", 1), {
    kind: "unchanged",
    unknown: false,
  });
  assert.deepEqual(plan("SELECT * FROM sales.customers", 0), { kind: "unchanged", unknown: false });
  assert.deepEqual(plan("SELECT * FROM nowhere", 0), { kind: "unchanged", unknown: true });
});

Deno.test("createColumnMasker() puts the table behind a subquery under its own name or alias", () => {
  const bare = rewritten(plan("SELECT * FROM customers WHERE id = $1", 1));
  assert.ok(bare.startsWith(`SELECT * FROM ${MASKED}`), bare);
  assert.ok(bare.endsWith(`FROM "public"."customers") AS "customers" WHERE id = $1`), bare);
  assert.doesNotMatch(bare, /ssn/, "a denied column is left out");
  const aliased = rewritten(plan("SELECT c.email FROM public.customers c", 0));
  assert.ok(aliased.endsWith(`FROM "public"."customers") c`), aliased);
});

Deno.test("createColumnMasker() finds the name's end past spaces, comments and quotes", () => {
  for (
    const sql of [
      'SELECT * FROM public /* a */ . -- b\n "customers" AS c',
      'SELECT * FROM "public"."customers" c',
      "SELECT * FROM PUBLIC.CUSTOMERS c",
      "SELECT * FROM public./* /* nested */ */customers c",
    ]
  ) {
    const text = rewritten(plan(sql, 0));
    assert.ok(
      text.endsWith(`FROM "public"."customers") AS c`) || text.endsWith(`"customers") c`),
      text,
    );
  }
});

Deno.test("createColumnMasker() counts bytes, not characters, before a name", () => {
  const text = rewritten(plan("SELECT 'ünï☃' AS a, * FROM \"Ωmega\"", 0));
  assert.ok(text.startsWith("SELECT 'ünï☃' AS a, * FROM (SELECT CASE"), text);
  assert.ok(text.endsWith(`FROM "public"."Ωmega") AS "Ωmega"`), text);
});

Deno.test("createColumnMasker() rewrites every reference: joins, subqueries, CTE bodies, unions", () => {
  const text = rewritten(plan(
    "WITH x AS (SELECT email FROM customers) SELECT (SELECT email FROM customers LIMIT 1), " +
      "c.* FROM customers c JOIN orders o ON o.id = c.id UNION ALL SELECT NULL, NULL, NULL FROM customers",
    0,
  ));
  assert.equal(text.split(`FROM "public"."customers")`).length - 1, 4, text);
});

Deno.test("createColumnMasker() binds the hash key after the values and blanks it for EXPLAIN", () => {
  const p = plan("SELECT name FROM people WHERE id = $1 AND name <> $2", 2);
  assert.equal(p.kind, "rewritten");
  const text = (p as { text: string }).text;
  assert.match(text, /decode\(\$3::pg_catalog\.text, 'hex'\)/);
  assert.match(text, /decode\(\$4::pg_catalog\.text, 'hex'\)/);
  assert.equal((p as { hashKeys: boolean }).hashKeys, true);
  assert.equal((p as { explain: boolean }).explain, false);
  const explain = plan("EXPLAIN SELECT name FROM people", 0);
  assert.equal((explain as { explain: boolean }).explain, true);
});

Deno.test("createColumnMasker() refuses a $n the values do not fill when a hash key follows", () => {
  assert.deepEqual(plan("SELECT $3::text FROM people WHERE id = $1", 2), {
    kind: "refused",
    reason: "$3 has no value",
  });
});

Deno.test("createColumnMasker() refuses the ways around a subquery", () => {
  const refusals: [string, RegExp][] = [
    ["SELECT * FROM contacts", /"public\.contacts" reads public\.customers/],
    ["SELECT * FROM ONLY customers", /ONLY/],
    ["WITH customers AS (SELECT 1) SELECT * FROM customers", /CTE/],
    ["TABLE customers", /not supported/],
    ["SELECT * FROM customers TABLESAMPLE BERNOULLI (50)", /not supported/],
    ['SELECT * FROM U&"customers"', /not supported/],
    ["SELECT * FROM customers *", /not supported/],
    ["SELECT 1 FROM (SELECT * FROM contacts) x", /contacts/],
  ];
  for (const [sql, reason] of refusals) {
    const p = plan(sql, 0);
    assert.equal(p.kind, "refused", `${sql}: ${JSON.stringify(p)}`);
    assert.match((p as { reason: string }).reason, reason, sql);
  }
});

Deno.test("createColumnMasker() refuses text it cannot parse rather than guess", () => {
  const p = plan("SELECT * FROM customers WHERE", 0);
  assert.equal(p.kind, "refused");
});
