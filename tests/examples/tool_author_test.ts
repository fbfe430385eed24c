/**
 * The tool-author template as a tool author gets it: copied into an empty
 * folder outside this repository, its import-map entry pointed at this
 * checkout's mod.ts, then its own tests run, its server started with its own
 * start task's permissions, its bundle built and run from an empty folder,
 * and its tools called over HTTP through both doors.
 *
 * @module
 */
import assert from "node:assert/strict";
import { permissionFlags, spawnServer, toolchainEnv } from "../process.ts";

const TEMPLATE = new URL("../../examples/tool-author/", import.meta.url);
const MOD = new URL("../../mod.ts", import.meta.url);
const IMPORT_NAME = "@mcp-tool-server/server";
const KEY = "template-test-key-0123456789abcdef";

/** Copies the template's sources (not a local lockfile or build output) into `to`. */
async function copyTemplate(from: URL, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    if (entry.name === "deno.lock" || entry.name === "dist") continue;
    if (entry.isDirectory) {
      await Deno.mkdir(`${to}/${entry.name}`);
      await copyTemplate(new URL(`${entry.name}/`, from), `${to}/${entry.name}`);
    } else {
      await Deno.copyFile(new URL(entry.name, from), `${to}/${entry.name}`);
    }
  }
}

/** An empty folder holding the template, its server entry pointed at this checkout. */
async function templateCopy(): Promise<{ dir: string; config: DenoJson }> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-tool-author-" });
  await copyTemplate(TEMPLATE, dir);
  const config: DenoJson = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  // What the author's one line of setup is: where the server comes from.
  assert.ok(IMPORT_NAME in config.imports, `the template imports the server as "${IMPORT_NAME}"`);
  config.imports[IMPORT_NAME] = MOD.href;
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify(config, null, 2));
  return { dir, config };
}

interface DenoJson {
  unstable: string[];
  tasks: Record<string, string>;
  imports: Record<string, string>;
}

/** Runs `deno <args>` in `cwd` with only the toolchain's environment. */
async function deno(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", ...toolchainEnv() },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: `${decode(out.stdout)}\n${decode(out.stderr)}` };
}

/** Calls `tool` through the REST door and through the MCP door of the server at `url`. */
async function callBothDoors(url: string, tool: string, input: unknown) {
  const rest = await fetch(`${url}/v1/mcp/${tool}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  const mcp = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: tool, arguments: input },
    }),
  });
  return {
    rest: { status: rest.status, body: await rest.json() },
    mcp: { status: mcp.status, body: await mcp.json() },
  };
}

Deno.test("the template asks for the same unstable features as the server", async () => {
  const template = JSON.parse(await Deno.readTextFile(new URL("deno.json", TEMPLATE)));
  const server = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  // The server's bytes imports and abort semantics need them in the author's project too.
  assert.deepEqual([...template.unstable].sort(), [...server.unstable].sort());
  for (const task of ["start", "test", "bundle", "compile"]) {
    assert.ok(template.tasks[task], `the template has a "${task}" task`);
  }
});

Deno.test("the template, copied to an empty folder: its tests pass and it serves its tools", async () => {
  const { dir, config } = await templateCopy();
  try {
    const tested = await deno(["task", "test"], dir);
    assert.equal(tested.code, 0, tested.output);
    assert.match(tested.output, /ok \| \d+ passed \| 0 failed/);

    // `deno task start`, with its permissions, run directly: signals reach
    // the server itself, and PORT=0 takes a free port.
    const server = await spawnServer(
      ["run", ...permissionFlags(config.tasks.start), "main.ts"],
      { ...toolchainEnv(), API_KEY_PRIMARY: KEY },
      { cwd: dir, timeoutMs: 60_000 },
    );
    try {
      const spend = await callBothDoors(server.url, "customer_spend", { customer_id: 42 });
      assert.equal(spend.rest.status, 200, JSON.stringify(spend.rest.body));
      assert.equal(spend.rest.body.customer_id, 42);
      assert.ok(spend.rest.body.completed_orders > 0);
      assert.equal(spend.mcp.status, 200);
      assert.deepEqual(spend.mcp.body.result.structuredContent, spend.rest.body);

      const vat = await callBothDoors(server.url, "vat_breakdown", { gross: 120 });
      assert.deepEqual(vat.rest.body, { net: 100, vat: 20, gross: 120 });
      assert.deepEqual(vat.mcp.body.result.structuredContent, { net: 100, vat: 20, gross: 120 });

      // The author's tools replace the demo tools.
      const demo = await callBothDoors(server.url, "get_top_customers", {});
      assert.equal(demo.rest.status, 404);
    } finally {
      assert.equal((await server.stop()).code, 0, server.stderr());
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the template's bundle runs from an empty folder with its compile task's permissions", async () => {
  const { dir, config } = await templateCopy();
  const runDir = await Deno.makeTempDir({ prefix: "mcp-tool-author-run-" });
  try {
    const bundled = await deno(["task", "bundle"], dir);
    assert.equal(bundled.code, 0, bundled.output);
    // The compile task compiles this bundle (deno compile's runtime cannot
    // be downloaded here): the bundle with the same flags is what it would run.
    await Deno.copyFile(`${dir}/dist/my-tools.js`, `${runDir}/my-tools.js`);
    const flags = permissionFlags(config.tasks.compile);
    assert.deepEqual(flags, ["--allow-net", "--allow-env", "--allow-read=/run/secrets"]);
    const server = await spawnServer(
      ["run", "--no-config", "--unstable-no-legacy-abort", ...flags, "my-tools.js"],
      { API_KEY_PRIMARY: KEY },
      { cwd: runDir, timeoutMs: 60_000 },
    );
    try {
      const spend = await callBothDoors(server.url, "customer_spend", { customer_id: 7 });
      assert.equal(spend.rest.status, 200, JSON.stringify(spend.rest.body));
      assert.equal(spend.mcp.body.result.structuredContent.customer_id, 7);
    } finally {
      assert.equal((await server.stop()).code, 0, server.stderr());
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(runDir, { recursive: true });
  }
});
