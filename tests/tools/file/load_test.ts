/**
 * `loadToolsFile()`: the file's shape, names, `${ENV}` in sources, each
 * tool's source, and every problem at its line, all at once. What each tool
 * kind checks is tested beside it, in `kinds/`; parameter specs in
 * `parameters_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadToolsFile } from "../../../src/tools/file/load.ts";
import { assertProblem, guard, problems, SQL_TOOL } from "./load_fixture.ts";

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

Deno.test("tools file: a tool name must be a valid tool name", () => {
  assertProblem(
    "tools:\n  Bad-Name:\n    kind: sql\n    description: d\n    statement: SELECT 1\n",
    2,
    /not a valid name/,
  );
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

Deno.test("loadToolsFile() refuses a source of a kind the tool cannot use, at the source line", () => {
  const text = `sources:
  db:
    kind: embedded
  api:
    kind: http
    base_url: http://127.0.0.1:9
tools:
  s:
    kind: sql
    source: api
    description: d
    statement: SELECT 1
  h:
    kind: http
    source: db
    description: d
    path: /x
`;
  assertProblem(text, 10, /^a sql tool cannot use source "api" of kind http$/);
  assertProblem(text, 15, /^a http tool cannot use source "db" of kind embedded$/);
});

Deno.test("loadToolsFile() takes only the file's own sources: an inherited name is unknown", () => {
  const text = "tools:\n  t:\n    kind: sql\n    source: constructor\n" +
    "    description: d\n    statement: SELECT 1\n";
  assertProblem(text, 4, /unknown source "constructor"/);
});
