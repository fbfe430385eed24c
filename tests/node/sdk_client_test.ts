import assert from "node:assert/strict";
import { commandUnavailable, compilePermissionFlags, spawnServer } from "../process.ts";

const KEY = "node-client-key-0123456789ab";

const nodeUnavailable = await commandUnavailable("node");
if (nodeUnavailable) console.log(`Skipping the Node SDK client test: ${nodeUnavailable}`);

Deno.test({
  name: "the official SDK client under Node lists the tools and calls one",
  ignore: nodeUnavailable !== undefined,
  async fn() {
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const server = await spawnServer(["run", ...(await compilePermissionFlags()), main], {
      API_KEY_PRIMARY: KEY,
    });
    try {
      const out = await new Deno.Command("node", {
        args: [new URL("sdk_client.mjs", import.meta.url).pathname, server.url, KEY],
        cwd: new URL("../../", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const report = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.match(report.node, /^v\d+/);
      assert.equal(report.server.name, "mcp-tool-server");
      assert.ok(report.tools.includes("get_top_customers"));
      assert.equal(report.result.customers.length, 2);
      assert.equal(report.result.total_count, 1000);
    } finally {
      await server.stop();
    }
  },
});
