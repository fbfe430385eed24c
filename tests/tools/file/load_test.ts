import assert from "node:assert/strict";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";
import { createStatementGuard } from "../../../src/sources/db/statement_guard.ts";
import { type FileProblem, loadToolsFile } from "../../../src/tools/file/load.ts";

const guard = createStatementGuard(await createPgParser());

function problems(text: string, env: Record<string, string> = {}): FileProblem[] {
  const result = loadToolsFile(text, { env, guard });
  assert.equal(result.ok, false, "expected the file to be refused");
  return result.ok ? [] : [...result.problems];
}

function assertProblem(text: string, line: number, pattern: RegExp, env?: Record<string, string>) {
  const found = problems(text, env);
  assert.ok(
    found.some((p) => p.line === line && pattern.test(p.message)),
    `expected line ${line} ~ ${pattern}, got ${JSON.stringify(found)}`,
  );
}

const SQL_TOOL = (statement: string, params = "") =>
  `tools:
  t:
    kind: sql
    description: d
    statement: ${statement}
${params}`;

Deno.test("tools file: the shipped example loads", async () => {
  const text = await Deno.readTextFile(new URL("../../../examples/tools.yaml", import.meta.url));
  const result = loadToolsFile(text, { env: {}, guard });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  assert.deepEqual(Object.keys(result.file.spec.tools), [
    "find_customers",
    "order_totals",
    "customer_profile",
    "customer_orders",
  ]);
});

Deno.test("tools file: JSON is accepted", () => {
  const result = loadToolsFile(
    JSON.stringify({
      tools: { one: { kind: "sql", description: "d", statement: "SELECT 1 AS one" } },
    }),
    { env: {}, guard },
  );
  assert.ok(result.ok);
});

Deno.test("tools file: bad YAML is reported at its line", () => {
  assertProblem("tools:\n  t:\n    kind: sql\n   bad: [\n", 4, /./);
});

Deno.test("tools file: a duplicate tool name is reported at the second one", () => {
  const text = `tools:
  t:
    kind: sql
    description: d
    statement: SELECT 1
  t:
    kind: sql
    description: d
    statement: SELECT 2
`;
  assertProblem(text, 6, /unique/i);
});

Deno.test("tools file: an unknown kind is reported at its line", () => {
  assertProblem(
    "tools:\n  t:\n    kind: shell\n    description: d\n",
    3,
    /kind|discriminator|Invalid input/i,
  );
});

Deno.test("tools file: an unknown field is reported at the field", () => {
  assertProblem(SQL_TOOL("SELECT 1") + "    run_as: root\n", 6, /unknown field "run_as"/);
});

Deno.test("tools file: an unknown source is reported at the tool's source line", () => {
  assertProblem(
    "tools:\n  t:\n    kind: sql\n    source: nowhere\n    description: d\n    statement: SELECT 1\n",
    4,
    /unknown source "nowhere"/,
  );
});

Deno.test("tools file: a missing environment variable is named, at its line", () => {
  const text = `sources:
  crm:
    kind: http
    base_url: \${CRM_URL}
tools: {}
`;
  assertProblem(text, 4, /environment variable CRM_URL is not set/);
  const ok = loadToolsFile(text, { env: { CRM_URL: "http://127.0.0.1:9" }, guard });
  assert.ok(ok.ok);
  assert.equal(
    ok.file.spec.sources.crm.kind === "http" && ok.file.spec.sources.crm.base_url,
    "http://127.0.0.1:9",
  );
});

Deno.test("tools file: ${NAME:-default} falls back when the variable is unset", () => {
  const text = "sources:\n  crm:\n    kind: http\n    base_url: ${CRM_URL:-http://127.0.0.1:7}\n";
  const result = loadToolsFile(text, { env: {}, guard });
  assert.ok(result.ok);
  const crm = result.file.spec.sources.crm;
  assert.equal(crm.kind === "http" && crm.base_url, "http://127.0.0.1:7");
});

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

Deno.test("tools file: parameter specs are checked", () => {
  const cases: [string, RegExp][] = [
    ["{ type: string, description: x, min: 1 }", /min\/max apply/],
    ["{ type: integer, description: x, max_length: 3 }", /min_length\/max_length\/pattern apply/],
    ["{ type: integer, description: x, min: 5, max: 1 }", /min is greater than max/],
    ["{ type: string, description: x, pattern: '(' }", /not a valid regular expression/],
    ["{ type: integer, description: x, default: 'a' }", /not a valid integer/],
    ["{ type: integer, description: x, enum: [1, 2.5] }", /not a valid integer/],
    ["{ type: integer, description: x, required: true, default: 1 }", /cannot be required/],
    ["{ type: date, description: x }", /type/],
    ["{ type: string }", /description/],
  ];
  for (const [spec, pattern] of cases) {
    const text = SQL_TOOL("SELECT :a AS a", `    parameters:\n      a: ${spec}\n`);
    const found = problems(text);
    assert.ok(
      found.some((p) => p.line === 7 && pattern.test(p.message)),
      `${spec}: ${JSON.stringify(found)}`,
    );
  }
});

Deno.test("tools file: http templates are checked", () => {
  const tool = (lines: string) => `tools:\n  h:\n    kind: http\n    description: d\n${lines}`;
  assertProblem(tool("    path: /customers/{id}\n"), 5, /\{id\} is not a declared parameter/);
  assertProblem(tool("    path: /x?admin=1\n"), 5, /query parameters under query/);
  assertProblem(tool("    path: /a/../admin\n"), 5, /\.\. segments/);
  assertProblem(tool("    path: /x/${HOME}\n"), 5, /braces/);
  assertProblem(
    tool("    path: /x\n    parameters:\n      q: { type: string, description: d }\n"),
    7,
    /not used/,
  );
  assertProblem(tool("    path: /x\n    body: { a: 1 }\n"), 6, /only POST/);
  assertProblem(tool('    path: /x\n    query: { a: "pre{q}" }\n'), 6, /literal or exactly/);
});

Deno.test("tools file: an optional path parameter is refused at load (its absence would change the route)", () => {
  const tool = (spec: string) =>
    `tools:\n  h:\n    kind: http\n    description: d\n    path: /c/{id}/orders\n` +
    `    parameters:\n      id: ${spec}\n`;
  assertProblem(
    tool("{ type: string, description: d, required: false }"),
    7,
    /parameter id: a path parameter cannot be optional/,
  );
  for (
    const spec of [
      "{ type: string, description: d }",
      "{ type: integer, description: d, default: 1 }",
    ]
  ) {
    assert.equal(loadToolsFile(tool(spec), { env: {}, guard }).ok, true, spec);
  }
  // Optional stays fine where absence has a meaning: a query value is left out.
  const query = `tools:\n  h:\n    kind: http\n    description: d\n    path: /c\n` +
    `    query: { q: "{q}" }\n    parameters:\n      q: { type: string, description: d, required: false }\n`;
  assert.equal(loadToolsFile(query, { env: {}, guard }).ok, true);
});

Deno.test("tools file: a tool name must be a valid tool name", () => {
  assertProblem(
    "tools:\n  Bad-Name:\n    kind: sql\n    description: d\n    statement: SELECT 1\n",
    2,
    /not a valid name/,
  );
});

Deno.test("tools file: vector_search loads with its fixed input, and its mistakes are reported", () => {
  const ok = loadToolsFile(
    "tools:\n  v:\n    kind: vector_search\n    description: d\n    documents: handbook\n    top_k: 3\n",
    { env: {}, guard },
  );
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.problems));
  const v = ok.file.spec.tools.v;
  assert.ok(v.kind === "vector_search" && v.top_k === 3 && v.max_top_k === 20);
  const tool = (lines: string) =>
    `tools:\n  v:\n    kind: vector_search\n    description: d\n${lines}`;
  assertProblem(
    tool("    parameters:\n      q: { type: string, description: x }\n"),
    6,
    /takes no parameters/,
  );
  assertProblem(tool("    top_k: 30\n    max_top_k: 10\n"), 5, /over max_top_k/);
  assertProblem(tool("    source: demo\n"), 5, /unknown field "source"/);
  assertProblem(tool("    top_k: 51\n"), 5, /top_k/);
});

Deno.test("tools file: every problem is reported at once, in line order", () => {
  const text = `tools:
  a:
    kind: sql
    source: nope
    description: d
    statement: DELETE FROM customers
  b:
    kind: sql
    description: d
    statement: SELECT :x AS x
`;
  const found = problems(text);
  assert.deepEqual(found.map((p) => p.line), [4, 6, 10]);
});

Deno.test("tools file: an impossible sunset date is reported, not rolled over", () => {
  for (const sunset of ["2027-02-30", "2026-02-29", "2027-13-01", "2027-00-10", "2027-01-01x"]) {
    const text = SQL_TOOL("SELECT 1", `    deprecated: { sunset: "${sunset}" }\n`);
    const found = problems(text);
    assert.ok(
      found.some((p) => /deprecated\.sunset: expected a real YYYY-MM-DD date/.test(p.message)),
      `${sunset}: ${JSON.stringify(found)}`,
    );
  }
  const leap = loadToolsFile(SQL_TOOL("SELECT 1", `    deprecated: { sunset: "2028-02-29" }\n`), {
    env: {},
    guard,
  });
  assert.ok(leap.ok, "a real leap day loads");
});

Deno.test("loadToolsFile() reads a pattern as JSON Schema clients do (the u flag): a trailing - in a class is a literal", () => {
  const text = `
tools:
  stock:
    kind: sql
    description: Stock of one item.
    statement: SELECT :sku::text AS sku
    parameters:
      sku: { type: string, description: sku, pattern: "^[A-Z0-9-]{1,32}$" }
`;
  const result = loadToolsFile(text, { env: {}, guard });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
});
