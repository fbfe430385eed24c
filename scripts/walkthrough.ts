/**
 * The real user's path, end to end (issue #29), as a script CI runs through
 * `tests/walkthrough_test.ts`:
 *
 * 1. their own PostgreSQL: a private cluster on a free port with a schema of
 *    its own (`inventory`) and the least-privilege role the docs recommend;
 * 2. their own tools file, in the configuration folder the binary may read
 *    (`/etc/mcp-tool-server/`, when this runs as root; else a temp folder,
 *    granted read the way docs/DEPLOYMENT.md says);
 * 3. the bundle `deno task compile` would compile, run from an empty folder
 *    with exactly the compile task's permission flags, in `production`;
 * 4. their tool called through both doors, and no demo tool served;
 * 5. readiness flipping to 503 when their database stops, the tool answering
 *    503 `retry`, and both recovering when it is back.
 *
 *   deno run -A --config deno.dev.json scripts/walkthrough.ts
 *
 * Prints one line per step and exits non-zero at the first that fails.
 *
 * @module
 */
import postgres from "postgres";
import {
  createPrivateCluster,
  privateClusterUnavailable,
} from "../tests/sources/db/private_cluster.ts";
import { buildBundle, bundlePermissionFlags, spawnServer } from "../tests/process.ts";
import { BUNDLE_ENTRY } from "./bundle.ts";

const KEY = "walkthrough-key-0123456789abcdef";

/** Why the walk-through cannot run here, or undefined when it can. */
export const walkthroughUnavailable: string | undefined = privateClusterUnavailable;

const TOOLS = `
sources:
  warehouse:
    kind: postgres
    url: \${WAREHOUSE_URL}
tools:
  stock_level:
    kind: sql
    source: warehouse
    description: How many of one item are in stock.
    statement: SELECT sku, name, qty FROM inventory WHERE sku = :sku
    parameters:
      sku:
        type: string
        description: The item's SKU.
        pattern: "^[A-Z0-9-]{1,32}$"
`;

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`Walk-through failed: ${what}`);
}

/** Runs the walk-through; `say` gets one line per step passed. */
export async function walkthrough(say: (line: string) => void = console.log): Promise<void> {
  if (walkthroughUnavailable) throw new Error(`Cannot walk through: ${walkthroughUnavailable}`);
  const cluster = await createPrivateCluster();
  const dir = await Deno.makeTempDir({ prefix: "mcp-walkthrough-" });
  let toolsFile: string | undefined;
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    await cluster.start();
    const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`
        CREATE TABLE inventory (sku text PRIMARY KEY, name text NOT NULL, qty int NOT NULL);
        INSERT INTO inventory VALUES ('A-100', 'Anvil', 7), ('B-200', 'Bucket', 0);
        CREATE ROLE mcp_reader LOGIN PASSWORD 'change-me' NOSUPERUSER NOCREATEDB NOCREATEROLE;
        ALTER ROLE mcp_reader SET default_transaction_read_only = on;
        GRANT USAGE ON SCHEMA public TO mcp_reader;
        GRANT SELECT ON inventory TO mcp_reader;
      `);
    } finally {
      await admin.end();
    }
    const reader = new URL(cluster.url);
    reader.username = "mcp_reader";
    reader.password = "change-me";
    say("1. own database: a private cluster with table inventory and role mcp_reader");

    // The configuration folder the binary may read, when we may write it.
    const id = crypto.randomUUID().slice(0, 8);
    // The compile task's flags, plus the bundle's own folder (it reads its lazy chunks there).
    let flags = await bundlePermissionFlags(dir);
    try {
      await Deno.mkdir("/etc/mcp-tool-server", { recursive: true });
      toolsFile = `/etc/mcp-tool-server/walkthrough-${id}.yaml`;
      await Deno.writeTextFile(toolsFile, TOOLS);
    } catch {
      toolsFile = `${dir}/tools.yaml`;
      await Deno.writeTextFile(toolsFile, TOOLS);
      flags = flags.map((f) => f.startsWith("--allow-read=") ? `${f},${toolsFile}` : f);
    }
    say(`2. own tools file: ${toolsFile}`);

    await buildBundle(dir);
    server = await spawnServer(
      ["run", "--no-config", "--unstable-no-legacy-abort", ...flags, BUNDLE_ENTRY],
      {
        ENVIRONMENT: "production",
        API_KEY_PRIMARY: KEY,
        TOOLS_FILE: toolsFile,
        WAREHOUSE_URL: reader.toString(),
        TOOL_TIMEOUT_SECONDS: "5",
        DB_CONNECT_TIMEOUT_SECONDS: "2",
      },
      { cwd: dir },
    );
    say(`3. the bundle serves from an empty folder with ${flags.join(" ")}`);

    const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
    const rest = (args: unknown) =>
      fetch(`${server!.url}/v1/mcp/stock_level`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(args),
      });
    const viaRest = await rest({ sku: "A-100" });
    const restBody = await viaRest.json();
    check(
      viaRest.status === 200 && restBody.rows?.[0]?.qty === 7,
      `REST answered ${viaRest.status}: ${JSON.stringify(restBody)}`,
    );
    const viaMcp = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { ...auth, accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "stock_level", arguments: { sku: "B-200" } },
      }),
    });
    const mcpBody = await viaMcp.json();
    check(
      viaMcp.status === 200 && mcpBody.result?.structuredContent?.rows?.[0]?.qty === 0,
      `MCP answered ${viaMcp.status}: ${JSON.stringify(mcpBody)}`,
    );
    const listed = await (await fetch(`${server.url}/v1/mcp`, { headers: auth })).json();
    const names = JSON.stringify(listed);
    check(
      names.includes("stock_level") && !names.includes("get_top_customers"),
      `tools served: ${names}`,
    );
    say("4. stock_level answers on both doors; no demo tool is served");

    const ready = async () => (await fetch(`${server!.url}/health/ready`)).status;
    check((await ready()) === 200, "ready before the database stops");
    await cluster.stop();
    let down = 0;
    for (let i = 0; i < 30 && down !== 503; i++) {
      await new Promise((r) => setTimeout(r, 500));
      down = await ready();
    }
    check(down === 503, `readiness with the database stopped: ${down}`);
    const refused = await rest({ sku: "A-100" });
    const refusedBody = await refused.json();
    check(
      refused.status === 503 && refusedBody.status === "retry",
      `the tool with the database stopped: ${refused.status} ${JSON.stringify(refusedBody)}`,
    );
    say("5. database stopped: /health/ready 503, the tool 503 retry");

    await cluster.start();
    let up = 0;
    for (let i = 0; i < 30 && up !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      up = await ready();
    }
    check(up === 200, `readiness once the database is back: ${up}`);
    let back: Response | undefined;
    for (let i = 0; i < 10; i++) {
      back = await rest({ sku: "A-100" });
      if (back.status === 200) break;
      await back.body?.cancel();
      await new Promise((r) => setTimeout(r, 500));
    }
    check(back?.status === 200, `the tool once the database is back: ${back?.status}`);
    await back?.body?.cancel();
    say("6. database back: ready 200 and the tool answers, with no restart");
  } finally {
    await server?.stop();
    if (toolsFile?.startsWith("/etc/")) await Deno.remove(toolsFile).catch(() => {});
    await cluster.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    await walkthrough();
    console.log("walk-through passed");
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
