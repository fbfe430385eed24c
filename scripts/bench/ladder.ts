/**
 * The request pipeline built up one layer at a time on a real `Deno.serve`,
 * to see what each layer costs under load (the in-process loop in
 * `handler_loop.ts` misses native costs such as timers, request signals and
 * body streams). Levels, each including the one before:
 *
 * - `bare`: read the body, parse it, answer a `tools/call` result
 * - `auth`: plus the API-key check and the rate limit
 * - `invoke`: plus `invokeTool` (validation, deadline, metrics, audit line)
 * - `app`: the whole app handler (router, Host/Origin check, MCP door)
 *
 * Point `wrk -s scripts/wrk/load.lua` (or any MCP `tools/call` of `noop`) at
 * `/mcp`, and read the CPU each request costs with
 * `scripts/bench/cpu_per_request.sh`, which is steadier than req/s on a
 * shared machine:
 *
 *   deno run -A scripts/bench/ladder.ts invoke 18110
 *   scripts/bench/cpu_per_request.sh 18110 /mcp
 *
 * `EXIT_AFTER=<seconds>` exits cleanly, so `--cpu-prof` writes its profile.
 *
 * @module
 */
import { z } from "zod";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config/env.ts";
import type { RequestContext } from "../../src/http/context.ts";
import { auth } from "../../src/http/middleware/auth.ts";
import { createRateLimitPolicy } from "../../src/http/middleware/rate_limit.ts";
import { toCallToolResult } from "../../src/mcp/results.ts";
import { createLogger, createStreamSink } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { createRateLimiter } from "../../src/ratelimit/limiter.ts";
import { createDeadlineQueue } from "../../src/timing/deadlines.ts";
import { defineTool } from "../../src/tools/define.ts";
import { callContextOf, invokeTool } from "../../src/tools/invoke.ts";

const LEVELS = ["bare", "auth", "invoke", "app"] as const;
const level = Deno.args[0] as (typeof LEVELS)[number];
const port = Number(Deno.args[1] ?? 18110);
if (!LEVELS.includes(level)) {
  console.error(`usage: ladder.ts ${LEVELS.join("|")} [port]`);
  Deno.exit(2);
}
const KEY = "bench-key-0123456789abcdef";
const noop = defineTool({
  name: "noop",
  description: "Does nothing.",
  input: z.strictObject({}),
  handler: () => Promise.resolve({ ok: true }),
});
const devNull = await Deno.open("/dev/null", { write: true });
const sink = createStreamSink(devNull.writable, "json");

let handler: (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;
if (level === "app") {
  const config = parseConfig({
    API_KEY_PRIMARY: KEY,
    RATE_LIMIT_RPM: "1000000",
    MAX_CONCURRENT_CALLS_PER_KEY: "100000",
  });
  const app = await createApp({ config, logSinks: [sink], tools: [noop], processMetrics: false });
  handler = app.handler;
} else {
  const log = createLogger({ level: "info", sinks: [sink] });
  const limiterOptions = {
    windowSeconds: 60,
    storage: "memory" as const,
    failMode: "open" as const,
    log,
  };
  const authenticate = auth({
    keys: [{ id: "primary", key: KEY }],
    failures: {
      limiter: createRateLimiter({ ...limiterOptions, prefix: "f" }),
      limit: 20,
      address: () => "127.0.0.1",
    },
  });
  const policy = createRateLimitPolicy({
    limiter: createRateLimiter({ ...limiterOptions, prefix: "r" }),
    rpm: 1_000_000,
    keyRpm: {},
    toolCosts: {},
  });
  const deps = {
    sql: {} as never,
    defaultTimeoutSeconds: 30,
    metrics: createMetrics({ processMetrics: false }),
    deadlines: createDeadlineQueue(),
  };
  const decoder = new TextDecoder();
  handler = async (req) => {
    const requestId = crypto.randomUUID();
    const ctx = {
      requestId,
      log: log.with({ request_id: requestId }),
      principal: undefined,
    } as unknown as RequestContext;
    const work = async () => {
      const msg = JSON.parse(decoder.decode(await req.bytes()));
      let result: unknown = { content: [{ type: "text", text: '{"ok":true}' }] };
      if (level !== "bare") await policy.enforce(ctx, 1);
      if (level === "invoke") {
        const outcome = await invokeTool(
          deps,
          noop,
          msg.params.arguments,
          callContextOf(req, ctx, "mcp"),
        );
        result = toCallToolResult(outcome, requestId);
      }
      return new Response(JSON.stringify({ result, jsonrpc: "2.0", id: msg.id }), {
        headers: { "content-type": "application/json", "x-request-id": requestId },
      });
    };
    return level === "bare" ? await work() : await authenticate(req, ctx, work);
  };
}
Deno.serve(
  { hostname: "127.0.0.1", port, onListen: () => console.error(`listening ${port}`) },
  handler,
);
const exitAfter = Number(Deno.env.get("EXIT_AFTER") ?? 0);
if (exitAfter > 0) setTimeout(() => Deno.exit(0), exitAfter * 1000);
