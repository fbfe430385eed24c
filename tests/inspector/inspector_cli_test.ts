/**
 * The MCP Inspector's CLI (`npm:@modelcontextprotocol/inspector --cli`,
 * pinned in deno.json; it needs Node ≥ 22.19, so it runs under Deno here)
 * lists our tools and calls one against the real server process, with the
 * bearer header.
 *
 * @module
 */
import assert from "node:assert/strict";
import { compilePermissionFlags, DEV_CONFIG, spawnServer, toolchainEnv } from "../process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KEY = "inspector-test-key-0123456789";
const INSPECTOR: string = JSON.parse(await Deno.readTextFile(DEV_CONFIG))
  .imports["@modelcontextprotocol/inspector"];

/** Where Deno keeps its cache: the child gets a throwaway HOME but the same cache. */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** Runs the Inspector CLI with `args`; parses its JSON output when it has one. */
async function inspector(
  home: string,
  args: string[],
): Promise<{ code: number; json: unknown; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DEV_CONFIG, "-A", INSPECTOR, "--cli", ...args],
    cwd: ROOT,
    // The Inspector keeps state under ~/.mcp-inspector: a throwaway HOME keeps it out of the machine's.
    env: { ...toolchainEnv(), HOME: home, DENO_DIR: await denoDir(), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: out.code, json, output: stdout + new TextDecoder().decode(out.stderr) };
}

/** Runs `fn` with a throwaway HOME, removed afterwards. */
async function withHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const home = await Deno.makeTempDir({ prefix: "inspector-home-" });
  try {
    return await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const probe = await withHome((home) => inspector(home, ["--version"]))
  .catch((e) => ({ code: -1, output: String(e) }));
const unavailable = probe.code === 0
  ? undefined
  : `the MCP Inspector (${INSPECTOR}) could not be fetched or run: ${
    probe.output.trim().slice(0, 200)
  }`;
if (unavailable) console.log(`Skipping the MCP Inspector test: ${unavailable}`);

Deno.test({
  name: "the MCP Inspector CLI lists the tools and calls lookup_customer with the bearer key",
  ignore: unavailable !== undefined,
  fn: () =>
    withHome(async (home) => {
      const server = await spawnServer(
        ["run", ...(await compilePermissionFlags()), "main.ts"],
        { API_KEY_PRIMARY: KEY },
        { cwd: ROOT },
      );
      const target = [`${server.url}/mcp`, "--transport", "http"];
      const bearer = ["--header", `Authorization: Bearer ${KEY}`];
      try {
        const list = await inspector(home, [...target, ...bearer, "--method", "tools/list"]);
        assert.equal(list.code, 0, list.output);
        const names = (list.json as { tools: { name: string }[] }).tools.map((t) => t.name);
        for (const name of ["get_top_customers", "lookup_customer", "get_customer"]) {
          assert.ok(names.includes(name), `${name} missing from ${names.join(", ")}`);
        }

        const call = await inspector(home, [
          ...target,
          ...bearer,
          "--method",
          "tools/call",
          "--tool-name",
          "lookup_customer",
          "--tool-arg",
          "id=42",
        ]);
        assert.equal(call.code, 0, call.output);
        const result = call.json as {
          isError?: boolean;
          content: { type: string; text: string }[];
          structuredContent: { id: number; name: string };
        };
        assert.notEqual(result.isError, true, call.output);
        assert.deepEqual(
          { id: result.structuredContent.id, name: result.structuredContent.name },
          { id: 42, name: "Alan Carter" },
        );
        assert.equal(JSON.parse(result.content[0].text).name, "Alan Carter");

        // Without the header the server answers 401 with a Bearer challenge, which the
        // Inspector takes as "OAuth needed": the key above is what let it in.
        const keyless = await inspector(home, [...target, "--method", "tools/list"]);
        assert.notEqual(keyless.code, 0, keyless.output);
        assert.match(keyless.output, /auth_required|401|Unauthorized/i);
      } finally {
        await server.stop();
      }
    }),
});

Deno.test({
  name:
    "the MCP Inspector CLI walks an unknown schema (list_tables → describe_table → sql_query) and sees masked columns",
  ignore: unavailable !== undefined,
  fn: () =>
    withHome(async (home) => {
      const server = await spawnServer(
        ["run", ...(await compilePermissionFlags()), "main.ts"],
        {
          API_KEY_PRIMARY: KEY,
          ENABLE_DB_SCHEMA_TOOLS: "true",
          ENABLE_SQL_QUERY_TOOL: "true",
          SQL_COLUMN_POLICIES: "customers.email=mask",
        },
        { cwd: ROOT },
      );
      const base = [
        `${server.url}/mcp`,
        "--transport",
        "http",
        "--header",
        `Authorization: Bearer ${KEY}`,
      ];
      const call = async (tool: string, args: string[]) => {
        const out = await inspector(home, [
          ...base,
          "--method",
          "tools/call",
          "--tool-name",
          tool,
          ...args.flatMap((a) => ["--tool-arg", a]),
        ]);
        assert.equal(out.code, 0, out.output);
        const result = out.json as {
          isError?: boolean;
          structuredContent: Record<string, unknown>;
        };
        assert.notEqual(result.isError, true, out.output);
        return result.structuredContent;
      };
      try {
        const { tables } = await call("list_tables", []) as { tables: { name: string }[] };
        assert.ok(tables.some((t) => t.name === "customers"), JSON.stringify(tables));
        const described = await call("describe_table", ["table=customers"]) as {
          columns: { name: string; policy?: string }[];
        };
        assert.equal(described.columns.find((c) => c.name === "email")?.policy, "mask");
        const answer = await call("sql_query", [
          "query=SELECT id, email FROM customers ORDER BY id LIMIT 2",
        ]) as { rows: { id: number; email: string }[] };
        assert.equal(answer.rows.length, 2);
        for (const row of answer.rows) assert.match(row.email, /^[a-z]\*\*\*@[a-z.]+$/);
      } finally {
        await server.stop();
      }
    }),
});
