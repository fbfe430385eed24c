import assert from "node:assert/strict";
import { createPgParser, SqlSyntaxError } from "../../../src/sources/db/pg_parser.ts";

const parser = await createPgParser();

Deno.test("pg parser: parses statements into libpg_query's JSON tree", () => {
  const { stmts } = parser.parse("SELECT id FROM orders WHERE amount > 10;");
  assert.equal(stmts.length, 1);
  const select = stmts[0].stmt.SelectStmt as Record<string, unknown>;
  assert.deepEqual(select.fromClause, [
    { RangeVar: { relname: "orders", inh: true, relpersistence: "p", location: 15 } },
  ]);
});

Deno.test("pg parser: splits statements and folds unquoted names", () => {
  const { stmts } = parser.parse('COMMIT; DELETE FROM Orders; SELECT * FROM "Orders"');
  assert.deepEqual(stmts.map((s) => Object.keys(s.stmt)[0]), [
    "TransactionStmt",
    "DeleteStmt",
    "SelectStmt",
  ]);
  assert.equal(stmts[1].stmt_location, 8);
  const del = stmts[1].stmt.DeleteStmt as { relation: { relname: string } };
  assert.equal(del.relation.relname, "orders");
  const sel = stmts[2].stmt.SelectStmt as { fromClause: { RangeVar: { relname: string } }[] };
  assert.equal(sel.fromClause[0].RangeVar.relname, "Orders");
});

Deno.test("pg parser: empty text and comments give no statements", () => {
  for (const sql of ["", "   ", "-- c", "/* a /* nested */ b */", ";"]) {
    assert.deepEqual(parser.parse(sql).stmts, [], JSON.stringify(sql));
  }
});

Deno.test("pg parser: syntax errors carry Postgres's message and 1-based position", () => {
  assert.throws(() => parser.parse("SELECT 1 FROM WHERE"), (error: unknown) => {
    assert.ok(error instanceof SqlSyntaxError);
    assert.equal(error.message, 'syntax error at or near "WHERE"');
    assert.equal(error.position, 15);
    return true;
  });
  assert.throws(() => parser.parse("SELECT 'é' FRM x"), (error: unknown) => {
    assert.ok(error instanceof SqlSyntaxError);
    // Characters, not UTF-8 bytes.
    assert.equal(error.position, 16);
    return true;
  });
});

Deno.test("pg parser: memory is released (many parses keep working)", () => {
  const sql = `SELECT ${"x, ".repeat(2000)}1 FROM t`;
  for (let i = 0; i < 100; i++) assert.equal(parser.parse(sql).stmts.length, 1);
  for (let i = 0; i < 300; i++) assert.throws(() => parser.parse("SELEC"), SqlSyntaxError);
  assert.equal(parser.parse("SELECT 1").stmts.length, 1);
});

Deno.test("pg parser: independent instances (no module-level singleton)", async () => {
  const other = await createPgParser();
  assert.notEqual(other, parser);
  assert.equal(other.parse("SHOW work_mem").stmts.length, 1);
});

Deno.test("pg parser: loads with only --allow-net --allow-env (no file reads)", async () => {
  // The server runs with exactly these permissions: spawn a child that has
  // them and nothing else. It lives inside the project so deno.json (import
  // map, raw-imports) applies.
  const root = new URL("../../../", import.meta.url);
  const script = await Deno.makeTempFile({
    dir: root.pathname,
    prefix: ".pg_parser_probe_",
    suffix: ".ts",
  });
  try {
    const module = new URL("src/sources/db/pg_parser.ts", root).href;
    await Deno.writeTextFile(
      script,
      `import { createPgParser } from ${JSON.stringify(module)};\n` +
        `const p = await createPgParser();\n` +
        `console.log(Object.keys(p.parse("SELECT 1").stmts[0].stmt)[0]);\n`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--no-prompt", script],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.equal(new TextDecoder().decode(output.stdout).trim(), "SelectStmt");
  } finally {
    await Deno.remove(script);
  }
});
