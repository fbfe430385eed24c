import assert from "node:assert/strict";
import { INVOKE_EXIT } from "../../src/cli/invoke.ts";
import { runDeno } from "../process.ts";
import { createTestDatabase, postgresUnavailable } from "../sources/db/pg_fixture.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

const TOOLS = `
tools:
  add_one:
    kind: sql
    description: Adds one.
    statement: SELECT :n::int + 1 AS m
    parameters:
      n: { type: integer, description: n, min: 0, max: 100 }
  slow:
    kind: sql
    description: Outlives its deadline.
    statement: SELECT pg_sleep(5) IS NULL AS slept
    timeout_seconds: 1
`;

Deno.test({
  name: "main invoke runs a tool through the doors' pipeline: result on stdout, exit codes",
  ignore: postgresUnavailable !== undefined,
  async fn(t) {
    const db = await createTestDatabase();
    const dir = await Deno.makeTempDir();
    const file = `${dir}/tools.yaml`;
    await Deno.writeTextFile(file, TOOLS);
    const env = { DB_URL: db.url, TOOLS_FILE: file, LOG_LEVEL: "info" };
    const invoke = (...args: string[]) =>
      runDeno(
        ["run", "--allow-net", "--allow-env", `--allow-read=${dir}`, MAIN, "invoke", ...args],
        env,
      );
    try {
      await t.step(
        "the result JSON alone on stdout, exit 0, the call logged as the operator",
        async () => {
          const out = await invoke("add_one", '{"n":41}');
          assert.equal(out.code, INVOKE_EXIT.ok, out.stderr);
          assert.deepEqual(JSON.parse(out.stdout), { rows: [{ m: 42 }], row_count: 1 });
          const call = out.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) =>
            JSON.parse(l)
          )
            .find((l) => l.message === "tool call");
          assert.equal(call?.principal, "operator");
          assert.equal(call?.tool_name, "add_one");
          assert.equal(call?.status, "success");
        },
      );
      await t.step("input the schema refuses: exit 3, the error body on stderr", async () => {
        const out = await invoke("add_one", '{"n":1000}');
        assert.equal(out.code, INVOKE_EXIT.refused);
        assert.equal(out.stdout, "");
        assert.match(out.stderr, /"status":"invalid_input"/);
      });
      await t.step("an unknown tool: exit 3", async () => {
        const out = await invoke("no_such_tool", "{}");
        assert.equal(out.code, INVOKE_EXIT.refused);
      });
      await t.step("the tool's deadline: exit 1", async () => {
        const out = await invoke("slow");
        assert.equal(out.code, INVOKE_EXIT.failed, out.stderr);
        assert.equal(out.stdout, "");
      });
      await t.step("arguments that are not JSON: exit 2", async () => {
        const out = await invoke("add_one", "{n:1}");
        assert.equal(out.code, INVOKE_EXIT.usage);
        assert.match(out.stderr, /must be a JSON object/);
      });
      await t.step("--help documents the command and its exit codes", async () => {
        const help = await runDeno(["run", MAIN, "--help"]);
        assert.match(help.stdout, /invoke <tool>/);
        assert.match(help.stdout, /3 the call was\s+refused/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await db.drop();
    }
  },
});
