/**
 * A caller that disconnects over a real socket cancels its tool call: the
 * handler's signal aborts, and the audit line says 499.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "../../src/tools/define.ts";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";

Deno.test("a caller that hangs up mid-call aborts the tool's signal (seen within the watch delay)", async () => {
  const aborted = Promise.withResolvers<number>();
  let started = 0;
  const wait = defineTool({
    name: "wait_for_abort",
    description: "Waits until its signal aborts.",
    input: z.strictObject({}),
    handler: (_input, ctx) => {
      started = performance.now();
      return new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => {
          aborted.resolve(performance.now() - started);
          reject(ctx.signal.reason);
        })
      );
    },
  });
  const app = await createTestApp({ tools: [wait] });
  const server = serveOnLoopback(app);
  try {
    const client = new AbortController();
    const pending = fetch(`${server.url}/v1/mcp/wait_for_abort`, {
      method: "POST",
      headers: { authorization: `Bearer ${PRIMARY_KEY}`, "content-type": "application/json" },
      body: "{}",
      signal: client.signal,
    }).catch((e) => e);
    while (started === 0) await new Promise((r) => setTimeout(r, 5));
    client.abort();
    await pending;
    const after = await Promise.race([
      aborted.promise,
      new Promise<number>((r) => setTimeout(() => r(-1), 5000)),
    ]);
    assert.ok(after >= 0, "the handler's signal never aborted");
    assert.ok(after < 2000, `aborted after ${after} ms`);
    // The audit line is written once the call settles.
    for (let i = 0; i < 100 && !app.lines().some((l) => l.http_status === 499); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const line = app.lines().find((l) => l.message === "tool call" && l.http_status === 499);
    assert.ok(line, JSON.stringify(app.lines().filter((l) => l.message === "tool call")));
    assert.equal(line.status, "retry");
  } finally {
    await server.stop();
    await app.close();
  }
});
