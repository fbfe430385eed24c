/**
 * The ceiling of our stack for the benchmark: a bare `Deno.serve` handler
 * that parses the JSON-RPC body and answers a `tools/call` result, with no
 * MCP library, no auth, no logging (and `initialize`, the initialized
 * notification and `tools/list` just as plainly). With DB_URL set, `select_one`,
 * `lookup_customer` and `get_top_customers` run the same queries as our
 * tools through postgres.js.
 *
 * @module
 */
import postgres from "postgres";

const url = Deno.env.get("DB_URL");
const db = url ? postgres(url, { max: 10, onnotice: () => {} }) : undefined;
const port = Number(Deno.env.get("PORT") ?? 8001);
const INITIALIZE_RESULT = {
  protocolVersion: "2025-11-25",
  capabilities: { tools: { listChanged: false } },
  serverInfo: { name: "bare", version: "0" },
};
const TOOLS = {
  tools: ["noop", "select_one", "lookup_customer", "get_top_customers"].map((name) => ({
    name,
    inputSchema: { type: "object" },
  })),
};

// WORKERS > 1: as many isolates on the port (SO_REUSEPORT), to compare with
// ours run the same way; the first says "listening" once all of them do.
const workers = Number(Deno.env.get("WORKERS") ?? 1);
const scope = globalThis as unknown as { WorkerGlobalScope?: new () => unknown };
const isWorker = scope.WorkerGlobalScope !== undefined &&
  globalThis instanceof scope.WorkerGlobalScope;
let ready: Promise<unknown> = Promise.resolve();
if (!isWorker && workers > 1) {
  ready = Promise.all(
    Array.from({ length: workers - 1 }, () =>
      new Promise((resolve) => {
        const w = new Worker(import.meta.url, { type: "module" });
        w.onmessage = resolve;
      })),
  );
}
Deno.serve(
  {
    hostname: "127.0.0.1",
    port,
    reusePort: workers > 1,
    onListen: () => {
      if (isWorker) (globalThis as unknown as { postMessage(m: unknown): void }).postMessage("up");
      else ready.then(() => console.error(`listening ${port}`));
    },
  },
  async (req) => {
    const msg = await req.json();
    // The rest of a client session (the bench's session workload), as plainly as it gets.
    if (msg.method === "notifications/initialized") return new Response(null, { status: 202 });
    if (msg.method === "initialize") {
      return Response.json({ jsonrpc: "2.0", id: msg.id, result: INITIALIZE_RESULT });
    }
    if (msg.method === "tools/list") {
      return Response.json({ jsonrpc: "2.0", id: msg.id, result: TOOLS });
    }
    const name = msg.params?.name;
    let structured: unknown = { ok: true };
    if (name === "select_one" && db) {
      structured = (await db`SELECT 1 AS one`)[0];
    } else if (name === "lookup_customer" && db) {
      const id = msg.params.arguments.id;
      structured = (await db`SELECT id, name, email FROM customers WHERE id = ${id}`)[0];
    } else if (name === "get_top_customers" && db) {
      // The same statement and answer shape as our tool (one round trip).
      const limit = msg.params.arguments.limit ?? 10;
      const offset = msg.params.arguments.offset ?? 0;
      const rows = await db`
        SELECT c.name, SUM(o.amount)::float8 AS total, COUNT(*) OVER ()::int AS total_count
        FROM orders o JOIN customers c ON c.id = o.customer_id
        GROUP BY c.id, c.name
        ORDER BY total DESC, c.id
        LIMIT ${limit} OFFSET ${offset}`;
      structured = {
        customers: rows.map((r) => ({ name: r.name, total: r.total })),
        limit,
        offset,
        total_count: rows[0]?.total_count ?? 0,
      };
    }
    return Response.json({
      jsonrpc: "2.0",
      id: msg.id,
      result: {
        content: [{ type: "text", text: JSON.stringify(structured) }],
        structuredContent: structured,
      },
    });
  },
);
