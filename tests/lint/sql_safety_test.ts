import assert from "node:assert/strict";
import plugin from "../../lint/sql_safety.ts";

const RULE_ID = "sql-safety/no-sql-interpolation";

function lint(source: string): Deno.lint.Diagnostic[] {
  return Deno.lint.runPlugin(plugin, "sample.ts", source);
}

/** A bad sample and the text its single diagnostic starts at (first occurrence). */
interface BadSample {
  readonly name: string;
  readonly source: string;
  readonly reportedAt: string;
}

const PRELUDE = "declare const db: any, ctx: any, tx: any, id: string, name: string;\n" +
  "declare function query(text: unknown, params?: unknown): unknown;\n";

const bad: readonly BadSample[] = [
  {
    name: "untagged template with a value passed to query()",
    source: "query(`SELECT * FROM customers WHERE id = ${id}`);",
    reportedAt: "`SELECT",
  },
  {
    name: "untagged template passed to a nested member call ctx.sql.query()",
    source: "await ctx.sql.query(`SELECT * FROM orders WHERE customer = '${name}'`);",
    reportedAt: "`SELECT",
  },
  {
    name: "string literal + value passed to db.unsafe()",
    source: 'db.unsafe("SELECT * FROM customers WHERE id = " + id);',
    reportedAt: '"SELECT',
  },
  {
    name: "value + string literal passed to tx.exec()",
    source: "tx.exec(name + ' LIMIT 10');",
    reportedAt: "name +",
  },
  {
    name: "string sandwich (left-nested + chain) passed to execute()",
    source: 'db.pool.execute("SELECT * FROM t WHERE a = \'" + id + "\' AND b = 1");',
    reportedAt: '"SELECT',
  },
  {
    name: "template literal + value passed to raw()",
    source: "db.raw(`SELECT * FROM t WHERE name = ` + name);",
    reportedAt: "`SELECT",
  },
  {
    name: "String.prototype.concat on a string literal passed to query()",
    source: 'db.query("SELECT * FROM t WHERE id = ".concat(id));',
    reportedAt: '"SELECT',
  },
  {
    name: "tagged template with an unsafe member tag",
    source: "db.unsafe`SELECT * FROM t WHERE id = ${id}`;",
    reportedAt: "db.unsafe`",
  },
  {
    name: "optional chained call with a TS `as` wrapper around the template",
    source: "ctx?.db?.query(`DELETE FROM t WHERE id = ${id}` as string);",
    reportedAt: "`DELETE",
  },
  {
    name: "optional call db.query?.() with a template",
    source: "db.query?.(`SELECT * FROM t WHERE id = ${id}`);",
    reportedAt: "`SELECT",
  },
  {
    name: "tagged template with a bare unsafe tag",
    source: "unsafe`SELECT * FROM t ORDER BY ${name}`;",
    reportedAt: "unsafe`",
  },
  {
    name: "call with named parameters whose text is still built from a value",
    source: "query(`SELECT * FROM t WHERE id = :id AND kind = ${name}`, { id });",
    reportedAt: "`SELECT",
  },
  {
    name: "computed member callee db['query']",
    source: 'db["query"]("SELECT * FROM t WHERE id = " + id);',
    reportedAt: '"SELECT * FROM t',
  },
];

for (const sample of bad) {
  Deno.test(`no-sql-interpolation reports: ${sample.name}`, () => {
    const source = PRELUDE + sample.source;
    const diagnostics = lint(source);
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    const [diagnostic] = diagnostics;
    assert.equal(diagnostic.id, RULE_ID);
    assert.equal(diagnostic.range[0], source.indexOf(sample.reportedAt, PRELUDE.length));
    assert.match(diagnostic.message, /^SQL built from values: bind them with sql`/);
  });
}

const good: ReadonlyArray<readonly [name: string, source: string]> = [
  ["sql tagged template with values", "ctx.sql.query(sql`SELECT * FROM t WHERE id = ${id}`);"],
  [
    "sql tagged template with values and a query name",
    "await db.query(sql`SELECT * FROM t WHERE id = ${id} AND name = ${name}`, 'by_id');",
  ],
  ["plain string literal", 'db.query("SELECT count(*) FROM customers");'],
  ["template literal without expressions", "query(`SELECT * FROM t WHERE id = 1`);"],
  ["named placeholders with bound values", 'query("SELECT * FROM t WHERE id = :id", { id });'],
  ["unrelated log.query-style call with a plain literal", 'log.query("cache miss");'],
  ["+ of two numbers", "tx.exec(1 + 2);"],
  ["identifier argument (built elsewhere: not followed)", "const q = 'x' + id; db.query(q);"],
  ["number argument", "db.execute(42);"],
  ["+ of two constant string literals", 'db.query("SELECT 1 " + "FROM t");'],
  ["template with a value passed to a non-query function", "console.log(`id = ${id}`);"],
  ["regexp exec with a template", "/a/.exec(`x`);"],
  ["array concat, not a string receiver", "db.query([a].concat(b));"],
  ["tag not ending in unsafe", "db.safe`SELECT ${id}`;"],
  ["unsafe tag without expressions", "db.unsafe`SELECT 1`;"],
  ["no arguments", "db.query();"],
  [
    "value in the second argument only",
    "query('SELECT * FROM t WHERE id = :id', { id: `${id}` });",
  ],
];

for (const [name, snippet] of good) {
  Deno.test(`no-sql-interpolation accepts: ${name}`, () => {
    const diagnostics = lint(PRELUDE + snippet);
    assert.deepEqual(diagnostics, []);
  });
}
