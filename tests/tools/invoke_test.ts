import assert from "node:assert/strict";
import { z } from "zod";
import { createLogger, createMemorySink } from "../../src/observability/logger.ts";
import type { SqlSource } from "../../src/sources/db/sql_source.ts";
import { defineTool } from "../../src/tools/define.ts";
import { type CallContext, invokeTool } from "../../src/tools/invoke.ts";
import {
  badOutput,
  boom,
  echo,
  missing,
  SECRET_DETAIL,
  slow,
  slowState,
} from "../fixtures/tools.ts";

// These tools never touch the database; a source that fails loudly proves it.
const noDb: SqlSource = {
  kind: "pglite",
  query: () => Promise.reject(new Error("no database in this test")),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

function setup() {
  const sink = createMemorySink();
  const log = createLogger({ level: "debug", sinks: [sink] }).with({ request_id: "req-1" });
  const call: CallContext = { requestId: "req-1", principal: { id: "primary" }, log, door: "rest" };
  const deps = { sql: noDb, defaultTimeoutSeconds: 30 };
  return { sink, call, deps };
}

Deno.test("invokeTool() returns the handler's result and writes one audit line", async () => {
  const { sink, call, deps } = setup();
  const result = await invokeTool(deps, echo, { text: "hi" }, call);
  assert.deepEqual(result, {
    ok: true,
    value: { text: "hi", count: 1, principal: "primary", request_id: "req-1" },
  });
  assert.equal(sink.records.length, 1);
  const line = sink.records[0];
  assert.equal(line.rawMessage, "tool call");
  assert.equal(line.level, "info");
  assert.equal(line.properties.tool_name, "echo");
  assert.equal(line.properties.principal, "primary");
  assert.equal(line.properties.request_id, "req-1");
  assert.equal(line.properties.status, "success");
  assert.equal(typeof line.properties.latency_ms, "number");
});

Deno.test("invokeTool() refuses invalid input with one problem per field", async () => {
  const { call, deps, sink } = setup();
  const result = await invokeTool(deps, echo, { text: 5, count: 11, extra: true }, call);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.error.status, "invalid_input");
  assert.equal(result.error.httpStatus, 400);
  const fields = result.error.details!.map((d) => d.field).sort();
  assert.deepEqual(fields, ["count", "extra", "text"]);
  assert.equal(sink.records[0].properties.status, "invalid_input");
});

Deno.test("invokeTool() treats a missing input as {} and a non-object as invalid", async () => {
  const { call, deps } = setup();
  const none = await invokeTool(deps, echo, undefined, call);
  assert.equal(none.ok, false); // text is required
  const arr = await invokeTool(deps, echo, ["text"], call);
  assert.equal(arr.ok, false);
  if (!arr.ok) assert.equal(arr.error.details![0].field, "(input)");
});

Deno.test("invokeTool() hides a handler's fault and logs it in full with the request id", async () => {
  const { call, deps, sink } = setup();
  const result = await invokeTool(deps, boom, {}, call);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.error.httpStatus, 500);
  assert.equal(result.error.message, "Internal server error");
  assert.ok(
    !JSON.stringify({ m: result.error.message, d: result.error.details }).includes("hunter2"),
  );
  const line = sink.records[0];
  assert.equal(line.level, "error");
  assert.equal(line.properties.request_id, "req-1");
  assert.ok(JSON.stringify(line.properties).includes(SECRET_DETAIL));
});

Deno.test("invokeTool() passes a ToolError through as it is", async () => {
  const { call, deps } = setup();
  const result = await invokeTool(deps, missing, {}, call);
  assert.ok(!result.ok);
  if (result.ok) return;
  assert.equal(result.error.status, "not_found");
  assert.equal(result.error.httpStatus, 404);
  assert.equal(result.error.message, "Customer not found");
});

Deno.test("invokeTool() answers 504 at the deadline and aborts the handler's signal", async () => {
  const { call, deps } = setup();
  slowState.abortedWith = undefined;
  const started = performance.now();
  const result = await invokeTool(deps, slow, {}, call);
  const elapsed = performance.now() - started;
  assert.ok(!result.ok);
  if (result.ok) return;
  assert.equal(result.error.httpStatus, 504);
  assert.equal(result.error.status, "retry");
  assert.equal(slowState.abortedWith, "DeadlineExceeded");
  // Answered at the deadline (0.2 s), not when the handler finally gives up.
  assert.ok(elapsed < 450, `took ${elapsed} ms`);
  await new Promise((r) => setTimeout(r, 350)); // let the ignored handler settle
});

Deno.test("invokeTool() uses the server-wide deadline when the tool has none", async () => {
  const { call } = setup();
  const hang = defineTool({
    name: "hang",
    description: "Never resolves until aborted.",
    input: z.strictObject({}),
    handler: (_i, ctx) =>
      new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
      ),
  });
  const result = await invokeTool({ sql: noDb, defaultTimeoutSeconds: 0.05 }, hang, {}, call);
  assert.ok(!result.ok);
  if (!result.ok) assert.equal(result.error.httpStatus, 504);
});

Deno.test("invokeTool() aborts the handler when the caller goes away", async () => {
  const { call, deps } = setup();
  const gone = new AbortController();
  let sawAbort = false;
  const wait = defineTool({
    name: "wait",
    description: "Waits for its signal.",
    input: z.strictObject({}),
    handler: (_i, ctx) =>
      new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => {
          sawAbort = true;
          reject(new Error("aborted"));
        })
      ),
  });
  const pending = invokeTool(deps, wait, {}, { ...call, signal: gone.signal });
  gone.abort(new Error("client closed"));
  const result = await pending;
  assert.ok(sawAbort);
  assert.ok(!result.ok);
  if (result.ok) return;
  // Not a fault: logged at info as 499, nobody is left to answer.
  assert.equal(result.error.httpStatus, 499);
  assert.equal(result.error.status, "retry");
});

Deno.test("invokeTool() refuses output that breaks the tool's output schema as a fault", async () => {
  const { call, deps, sink } = setup();
  const result = await invokeTool(deps, badOutput, {}, call);
  assert.ok(!result.ok);
  if (result.ok) return;
  assert.equal(result.error.httpStatus, 500);
  assert.equal(sink.records[0].level, "error");
});

Deno.test("invokeTool() gives handlers a SQL client that refuses plain strings", async () => {
  const { call, deps } = setup();
  const raw = defineTool({
    name: "raw_sql",
    description: "Tries to pass a string as SQL.",
    input: z.strictObject({}),
    handler: (_i, ctx) =>
      ctx.sql.query(
        { text: "SELECT 1", values: [] } as unknown as Parameters<typeof ctx.sql.query>[0],
      ),
  });
  const result = await invokeTool(deps, raw, {}, call);
  assert.ok(!result.ok);
  if (!result.ok) assert.equal(result.error.httpStatus, 500);
});
