/**
 * The app's handler called in a loop, without sockets: JavaScript cost per
 * MCP no-op tool call through the whole pipeline, against a bare handler
 * doing the same parse and reply. A quick profile target:
 *
 *   deno run -A --cpu-prof scripts/bench/handler_loop.ts
 *
 * @module
 */
import { z } from "zod";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config/env.ts";
import { createStreamSink } from "../../src/observability/logger.ts";
import { defineTool } from "../../src/tools/define.ts";
const noop = defineTool({
  name: "noop",
  description: "noop",
  input: z.strictObject({}),
  handler: () => Promise.resolve({ ok: true }),
});
const K = "bench-key-0123456789abcdef";
const config = parseConfig({
  API_KEY_PRIMARY: K,
  RATE_LIMIT_RPM: "1000000",
  MAX_CONCURRENT_CALLS_PER_KEY: "100000",
});
const null_ = await Deno.open("/dev/null", { write: true });
const app = await createApp({
  config,
  logSinks: [createStreamSink(null_.writable, "json")],
  tools: [noop],
  processMetrics: false,
});
const body =
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"noop","arguments":{}}}';
const mk = () =>
  new Request("http://127.0.0.1:8000/mcp", {
    method: "POST",
    body,
    headers: {
      "content-length": String(body.length),
      authorization: `Bearer ${K}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
  });
const info = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
} as Deno.ServeHandlerInfo;
async function run(n: number) {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await app.handler(mk(), info);
    await r.text();
  }
  return (performance.now() - t) * 1000 / n;
}
const bare = async (n: number) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const req = mk();
    const m = await req.json();
    const r = Response.json({
      jsonrpc: "2.0",
      id: m.id,
      result: { content: [{ type: "text", text: "{}" }] },
    });
    await r.text();
  }
  return (performance.now() - t) * 1000 / n;
};
await run(5000);
await bare(5000);
for (let i = 0; i < 3; i++) {
  console.log(
    `app ${(await run(20000)).toFixed(1)} µs/req   bare ${(await bare(20000)).toFixed(1)} µs/req`,
  );
}
await app.close();
Deno.exit(0);
