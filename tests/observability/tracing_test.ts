/**
 * Traces end to end: the real server runs as a child process with Deno's
 * OpenTelemetry on (`OTEL_DENO=true`), exporting `http/json` to a receiver on
 * loopback, and the spans that arrive are checked against the calls made and
 * the audit lines written.
 */
import assert from "node:assert/strict";
import { MCP_HEADERS } from "../harness.ts";
import { compilePermissionFlags, type ServerProcess, spawnServer } from "../process.ts";
import { scriptedUpstream } from "../sources/http/upstream_fixture.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp_receiver.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const KEY = "tracing-test-key-0123456789abcdef";
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

async function startTracedServer(
  receiver: OtlpReceiver,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return await spawnServer(["run", ...(await compilePermissionFlags()), MAIN], {
    API_KEY_PRIMARY: KEY,
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "mcp-tool-server-test",
    // Export within ~0.1 s of a span's end instead of Deno's ~10 s.
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_DENO_CONSOLE: "ignore",
    ...env,
  });
}

function rest(server: ServerProcess, tool: string, input: unknown, headers: HeadersInit = {}) {
  return fetch(`${server.url}/v1/mcp/${tool}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify(input),
  });
}

/** The audit line of the call with `requestId`, once the log sink has flushed it. */
async function auditLine(
  server: ServerProcess,
  requestId: string,
): Promise<Record<string, unknown>> {
  const until = performance.now() + 5_000;
  for (;;) {
    for (const line of server.stdout) {
      if (!line.includes(requestId)) continue;
      const parsed = JSON.parse(line);
      if (parsed.request_id === requestId && parsed.message === "tool call") return parsed;
    }
    if (performance.now() > until) {
      throw new Error(`No audit line for ${requestId}:\n${server.stdout.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function toolSpanOf(receiver: OtlpReceiver, requestId: string): Promise<ReceivedSpan> {
  return receiver.waitForSpan((s) =>
    s.name.startsWith("tool ") && s.attributes["tool.request_id"] === requestId
  );
}

/** Checks the tool span against its audit line and its parent, the request's server span. */
async function checkToolCall(
  receiver: OtlpReceiver,
  server: ServerProcess,
  requestId: string,
  expected: { tool: string; door: "rest" | "mcp" },
): Promise<{ tool: ReceivedSpan; request: ReceivedSpan; audit: Record<string, unknown> }> {
  const audit = await auditLine(server, requestId);
  const tool = await toolSpanOf(receiver, requestId);
  assert.equal(tool.name, `tool ${expected.tool}`);
  assert.equal(tool.kind, INTERNAL);
  assert.equal(tool.service, "mcp-tool-server-test");
  assert.match(String(audit.trace_id), /^[0-9a-f]{32}$/);
  assert.equal(tool.traceId, audit.trace_id, "the audit line carries the tool span's trace id");
  assert.equal(tool.attributes["tool.name"], expected.tool);
  assert.equal(tool.attributes["tool.door"], expected.door);
  assert.equal(tool.attributes["tool.status"], "success");
  assert.equal(tool.attributes["tool.principal_id"], "primary");
  assert.equal(tool.attributes["tool.principal_id"], audit.principal);
  assert.notEqual(tool.parentSpanId, "", "the tool span has a parent");
  const request = await receiver.waitForSpan((s) => s.spanId === tool.parentSpanId);
  assert.equal(request.kind, SERVER, "the parent is Deno.serve's span for the request");
  assert.equal(request.scope, "deno");
  assert.equal(request.traceId, tool.traceId);
  assert.equal(request.attributes["http.request.method"], "POST");
  return { tool, request, audit };
}

Deno.test({
  name: "tracing: REST and MCP tool calls export a tool span under the request span",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const receiver = startOtlpReceiver();
  let server: ServerProcess | undefined;
  try {
    server = await startTracedServer(receiver);
    const s = server;

    await t.step("REST: the caller's trace goes on; rows are counted", async () => {
      const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
      const callerSpan = "00f067aa0ba902b7";
      const res = await rest(s, "get_top_customers", { limit: 3 }, {
        "x-request-id": "trace-rest-1",
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).customers.length, 3);
      const { tool, request } = await checkToolCall(receiver, s, "trace-rest-1", {
        tool: "get_top_customers",
        door: "rest",
      });
      assert.equal(tool.traceId, callerTrace);
      assert.equal(request.parentSpanId, callerSpan);
      assert.ok(Number(tool.attributes["tool.db.queries"]) >= 1, JSON.stringify(tool.attributes));
      assert.ok(Number(tool.attributes["tool.db.rows"]) >= 3, JSON.stringify(tool.attributes));
      assert.equal(tool.statusCode, 0);
    });

    await t.step("MCP: tools/call gets the same span, door mcp", async () => {
      const res = await fetch(`${s.url}/mcp`, {
        method: "POST",
        headers: { ...MCP_HEADERS, authorization: `Bearer ${KEY}`, "x-request-id": "trace-mcp-1" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "get_top_customers", arguments: { limit: 2 } },
        }),
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.result.isError, undefined, JSON.stringify(body));
      const { tool } = await checkToolCall(receiver, s, "trace-mcp-1", {
        tool: "get_top_customers",
        door: "mcp",
      });
      assert.ok(Number(tool.attributes["tool.db.rows"]) >= 2);
    });

    await t.step("a failed call says so on its span", async () => {
      const res = await rest(s, "get_customer", { customer_id: 999_999 }, {
        "x-request-id": "trace-404",
      });
      assert.equal(res.status, 404);
      await res.body?.cancel();
      const tool = await toolSpanOf(receiver, "trace-404");
      assert.equal(tool.attributes["tool.status"], "not_found");
      assert.equal(tool.attributes["tool.http_status"], 404);
      assert.equal(tool.traceId, (await auditLine(s, "trace-404")).trace_id);
    });

    await t.step(
      "get_customer: a fetch span under the tool span reaches the demo upstream",
      async () => {
        const res = await rest(s, "get_customer", { customer_id: 1 }, {
          "x-request-id": "trace-api-1",
        });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).id, 1);
        const { tool } = await checkToolCall(receiver, s, "trace-api-1", {
          tool: "get_customer",
          door: "rest",
        });
        const fetchSpan = await receiver.waitForSpan((x) =>
          x.kind === CLIENT && x.parentSpanId === tool.spanId
        );
        assert.equal(fetchSpan.traceId, tool.traceId);
        assert.equal(fetchSpan.attributes["http.request.method"], "GET");
        assert.equal(fetchSpan.attributes["url.path"], "/customers/1");
        // Deno 2.9 exports the status code as a string.
        assert.equal(String(fetchSpan.attributes["http.response.status_code"]), "200");
        // The demo upstream (Deno.serve in the same process) continued the trace
        // from the traceparent it received: its span's parent is the fetch span.
        const upstreamSpan = await receiver.waitForSpan((x) =>
          x.kind === SERVER && x.parentSpanId === fetchSpan.spanId
        );
        assert.equal(upstreamSpan.traceId, tool.traceId);
        assert.equal(upstreamSpan.attributes["url.path"], "/customers/1");
      },
    );
  } finally {
    if (server) {
      const status = await server.stop();
      assert.equal(status.code, 0, server.stderr());
    }
    await receiver.close();
  }
});

Deno.test({
  name: "tracing: the upstream gets one well-formed traceparent per call, each in its own trace",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const receiver = startOtlpReceiver();
  const upstream = scriptedUpstream(async (req) => {
    // Slow enough that, with one connection, the other calls wait in line.
    await new Promise((r) => setTimeout(r, 150));
    const id = Number(new URL(req.url).pathname.split("/").at(-1));
    return Response.json({ id, name: `Customer ${id}`, email: `c${id}@example.com` });
  });
  let server: ServerProcess | undefined;
  try {
    server = await startTracedServer(receiver, {
      API_BASE_URL: upstream.url,
      API_MAX_CONNECTIONS: "1",
      // The demo's get_customer against this scripted upstream.
      DEMO_TOOLS: "true",
    });
    const s = server;
    const calls = [1, 2, 3].map((id) => ({
      id,
      requestId: `trace-queue-${id}`,
      callerTrace: crypto.randomUUID().replaceAll("-", ""),
    }));
    const answers = await Promise.all(
      calls.map((c) =>
        rest(s, "get_customer", { customer_id: c.id }, {
          "x-request-id": c.requestId,
          traceparent: `00-${c.callerTrace}-00f067aa0ba902b7-01`,
        })
      ),
    );
    for (const res of answers) {
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.equal(upstream.inFlight.max, 1, "the calls were queued for the one connection");
    assert.equal(upstream.hits.length, 3);
    for (const c of calls) {
      const hit = upstream.hits.find((h) => h.headers.get("x-request-id") === c.requestId);
      assert.ok(hit, c.requestId);
      const traceparent = hit.headers.get("traceparent") ?? "";
      const match = TRACEPARENT.exec(traceparent);
      assert.ok(match, `one well-formed traceparent, got ${JSON.stringify(traceparent)}`);
      assert.equal(match[1], c.callerTrace, "the caller's trace goes on upstream");
      const audit = await auditLine(s, c.requestId);
      assert.equal(audit.trace_id, c.callerTrace);
      // The parent it names is our fetch span, a child of this call's tool span.
      const tool = await toolSpanOf(receiver, c.requestId);
      const fetchSpan = await receiver.waitForSpan((x) => x.spanId === match[2]);
      assert.equal(fetchSpan.kind, CLIENT);
      assert.equal(fetchSpan.traceId, c.callerTrace);
      assert.equal(fetchSpan.parentSpanId, tool.spanId, `${c.requestId}: fetch under its own tool`);
    }
  } finally {
    if (server) await server.stop();
    await upstream.close();
    await receiver.close();
  }
});

Deno.test("tracing: tracingEnabled follows OTEL_DENO, OTEL_DENO_TRACING and OTEL_SDK_DISABLED", async () => {
  const tracing = new URL("../../src/observability/tracing.ts", import.meta.url).href;
  const enabled = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const { tracingEnabled } = await import(${JSON.stringify(tracing)});
         console.log(String(tracingEnabled));`,
      ],
      env: { OTEL_DENO_CONSOLE: "ignore", ...env },
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  // Set or cleared explicitly: the test run's own environment may carry them.
  const off = { OTEL_DENO: "", OTEL_DENO_TRACING: "", OTEL_SDK_DISABLED: "" };
  assert.equal(await enabled(off), "false");
  assert.equal(await enabled({ ...off, OTEL_DENO: "true" }), "true");
  assert.equal(await enabled({ ...off, OTEL_DENO: "true", OTEL_DENO_TRACING: "false" }), "false");
  assert.equal(await enabled({ ...off, OTEL_DENO: "true", OTEL_SDK_DISABLED: "true" }), "false");
});
