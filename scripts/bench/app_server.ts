/**
 * Our server for the benchmark: the production `createApp` (auth, Host/Origin
 * check, rate limit, validation, metrics, audit log line at info, JSON logs
 * to stdout) with the built-in tools plus a no-op tool and, optionally,
 * `EXTRA_TOOLS` more no-op tools so the registry holds ~200.
 *
 * Env: PORT, API_KEY_PRIMARY, DB_URL (optional), EXTRA_TOOLS (default 0), and
 * any server variable (WORKERS > 1 needs a fixed PORT). Prints "listening
 * <port>" when ready.
 *
 * @module
 */
import { z } from "zod";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config/env.ts";
import { createStreamSink } from "../../src/observability/logger.ts";
import { API_TOOLS, SQL_TOOLS } from "../../src/tools/builtin/mod.ts";
import { defineTool, type Tool } from "../../src/tools/define.ts";
import { sql } from "../../src/sources/db/sql_source.ts";
import { parallelPrimary } from "../../src/parallel/primary.ts";
import { inWorker, runWorker } from "../../src/parallel/worker.ts";

const noop = (name: string): Tool =>
  defineTool({
    name,
    description: "Does nothing: returns {ok: true}.",
    input: z.strictObject({}),
    annotations: { readOnlyHint: true },
    handler: () => Promise.resolve({ ok: true }),
  });

const selectOne = defineTool({
  name: "select_one",
  description: "SELECT 1.",
  input: z.strictObject({}),
  handler: async (_input, ctx) => (await ctx.sql.query(sql`SELECT 1 AS one`)).rows[0],
});

const extra = Number(Deno.env.get("EXTRA_TOOLS") ?? 0);
const tools = [
  ...SQL_TOOLS,
  ...API_TOOLS,
  noop("noop"),
  selectOne,
  ...Array.from({ length: extra }, (_, i) => noop(`noop_${i}`)),
];
if (inWorker()) {
  // WORKERS > 1: one more listener, with the same tools.
  runWorker({ tools });
} else {
  const env = Deno.env.toObject();
  const config = parseConfig(env);
  const sink = createStreamSink(Deno.stdout.writable, config.logFormat);
  const primary = parallelPrimary(config, { config: env, tools: env });
  const app = await createApp({
    config,
    logSinks: primary ? primary.tag([sink]) : [sink],
    tools,
    env,
    processMetrics: Deno.env.get("PROCESS_METRICS") !== "false",
    shared: primary?.shared,
  });
  primary?.attach(app);
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    reusePort: primary !== undefined,
    onListen: () => {},
  }, app.handler);
  const pool = await primary?.start({ sinks: [sink], entry: import.meta.url });
  // As main.ts does once it listens, so the bench measures what production holds.
  await app.warmUp();
  console.error(`listening ${config.port}`);
  // A clean exit on either signal, so `--cpu-prof` gets to write its profile.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, async () => {
      await Promise.all([server.shutdown(), pool?.shutdown(1_000)]);
      await app.close();
      Deno.exit(0);
    });
  }
}
