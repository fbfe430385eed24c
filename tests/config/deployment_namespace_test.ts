import assert from "node:assert/strict";
import { deploymentNamespace } from "../../src/config/deployment_namespace.ts";
import { parseConfig } from "../../src/config/env.ts";

const DB = "postgres://app:s3cret-pw@db-a.internal:5432/sales?sslmode=require";
const ns = (env: Record<string, string>, toolsFile?: Parameters<typeof deploymentNamespace>[1]) =>
  deploymentNamespace(parseConfig({ DB_URL: DB, ...env }), toolsFile);

const FILE = {
  sources: { reports: { kind: "postgres", url: "postgres://r:pw1@db-r/reports" } },
  tools: { count: { kind: "sql", statement: "SELECT 1" } },
};

Deno.test("deploymentNamespace() is DEPLOYMENT_NAME and a digest; replicas (same config) agree", () => {
  const a = ns({});
  assert.match(a, /^default:[0-9a-f]{16}$/);
  assert.equal(ns({}), a);
  assert.equal(ns({ DB_URL: DB.replace("s3cret-pw", "rotated") }), a, "a password is not the data");
  assert.equal(
    ns({ DB_URL: `${DB}&password=other` }),
    a,
    "nor is a password in the query string",
  );
  assert.match(ns({ DEPLOYMENT_NAME: "sales-eu" }), /^sales-eu:[0-9a-f]{16}$/);
  assert.equal(ns({}, FILE), ns({}, structuredClone(FILE)));
  const rotated = structuredClone(FILE);
  rotated.sources.reports.url = "postgres://r:pw2@db-r/reports";
  assert.equal(ns({}, rotated), ns({}, FILE), "a tools-file source's password is not the data");
});

Deno.test("deploymentNamespace() differs whenever what defines the data differs", () => {
  const base = ns({});
  const others = {
    "another database host": ns({ DB_URL: DB.replace("db-a", "db-b") }),
    "another database": ns({ DB_URL: DB.replace("/sales", "/sales_eu") }),
    "another role": ns({ DB_URL: DB.replace("app:", "reader:") }),
    "another search_path": ns({ DB_URL: `${DB}&options=-c%20search_path%3Dtenant_b` }),
    "the embedded database": deploymentNamespace(parseConfig({})),
    "an upstream": ns({ API_BASE_URL: "https://api.example.com" }),
    "an upstream credential": ns({
      API_BASE_URL: "https://api.example.com",
      API_AUTH_TOKEN: "Bearer tenant-b-token",
    }),
    "a toolset": ns({ TOOLSET: "reporting" }),
    "a tools file": ns({}, FILE),
    "another DEPLOYMENT_NAME": ns({ DEPLOYMENT_NAME: "other" }).replace("other:", "default:"),
  };
  for (const [what, other] of Object.entries(others)) {
    if (what === "another DEPLOYMENT_NAME") {
      assert.equal(other, base, "the name is the prefix; the digest is the data");
      continue;
    }
    assert.notEqual(other, base, what);
  }
  const changedTool = structuredClone(FILE);
  changedTool.tools.count.statement = "SELECT 2";
  assert.notEqual(ns({}, changedTool), ns({}, FILE), "another tool definition");
  const otherSource = structuredClone(FILE);
  otherSource.sources.reports.url = "postgres://r:pw1@db-other/reports";
  assert.notEqual(ns({}, otherSource), ns({}, FILE), "another tools-file database");
  assert.notEqual(
    deploymentNamespace(parseConfig({ ENABLE_RAG: "true", RAG_DB_URL: "postgres://x@h/a" })),
    deploymentNamespace(parseConfig({ ENABLE_RAG: "true", RAG_DB_URL: "postgres://x@h/b" })),
    "another RAG store",
  );
});
