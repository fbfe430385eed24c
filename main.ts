/**
 * mcp-tool-server: the command line.
 *
 *   mcp-tool-server [serve]         start the server (default)
 *   mcp-tool-server healthcheck     exit 0 if the local server answers /health/live, else 1
 *   mcp-tool-server --help          usage
 *   mcp-tool-server --version       version
 *
 * Exit codes: 0 stopped cleanly; 1 failed at run time (a source could not
 * open, the port is taken); 2 bad usage or configuration.
 *
 * @module
 */
import { createApp } from "./src/app.ts";
import { devKeyBanner, withDevKey } from "./src/cli/dev_key.ts";
import { type Config, ConfigError, parseConfig } from "./src/config/env.ts";
import { redactConfig } from "./src/config/redact.ts";
import { createStreamSink, fileWritable, type Sink } from "./src/observability/logger.ts";
import { SERVER_NAME, SERVER_VERSION } from "./src/version.ts";

const USAGE = `${SERVER_NAME} ${SERVER_VERSION}: a read-only MCP tool server

Usage:
  ${SERVER_NAME} [serve]       start the server (default)
  ${SERVER_NAME} healthcheck   exit 0 if the server on HOST:PORT answers /health/live, else 1
                               (for container HEALTHCHECKs: the image has no curl)
  ${SERVER_NAME} --help        show this help
  ${SERVER_NAME} --version     show the version

Configuration comes from environment variables (see README.md and .env.example).
With none at all it serves demo data from an embedded database on
http://127.0.0.1:8000 and prints a development API key.

Exit codes: 0 stopped cleanly, 1 failed at run time, 2 bad usage or configuration.
`;

/** How long in-flight requests may take to finish after SIGINT/SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

async function serve(): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(Deno.env.toObject());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Cannot start: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const dev = withDevKey(config);
  config = dev.config;

  const sinks: (Sink & AsyncDisposable)[] = [
    createStreamSink(Deno.stdout.writable, config.logFormat),
  ];
  if (config.logFile !== undefined) {
    try {
      const file = await Deno.open(config.logFile, { create: true, append: true });
      sinks.push(createStreamSink(fileWritable(file), config.logFormat));
    } catch (error) {
      console.error(
        `Cannot start: LOG_FILE "${config.logFile}" cannot be opened for writing: ${
          (error as Error).message
        } (grant it with --allow-write=${config.logFile})`,
      );
      return 2;
    }
  }
  const flushLogs = async () => {
    for (const sink of sinks) await sink[Symbol.asyncDispose]();
  };

  let app;
  try {
    app = await createApp({ config, logSinks: sinks });
  } catch (error) {
    console.error((error as Error).message);
    await flushLogs();
    return 1;
  }

  const stopped = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      signal: stopped.signal,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        app.log.info("server started", {
          url: `http://${host}:${port}`,
          version: SERVER_VERSION,
          tools: app.registry.tools.map((t) => t.name),
          database: app.sql.kind,
          config: redactConfig(config),
        });
        if (dev.generated) console.error(devKeyBanner(dev.generated, `http://${host}:${port}`));
      },
    }, app.handler);
  } catch (error) {
    console.error(
      `Cannot start: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
    );
    await app.close();
    await flushLogs();
    return 1;
  }

  const shutdown = (signal: string) => {
    app.log.info("shutting down", { signal });
    // Stops accepting; in-flight requests finish, up to the grace period.
    const timer = setTimeout(() => stopped.abort(), SHUTDOWN_GRACE_MS);
    server.shutdown().finally(() => clearTimeout(timer));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => shutdown(signal));
  }
  await server.finished;
  await app.close();
  app.log.info("server stopped");
  await flushLogs();
  return 0;
}

/** GETs /health/live on the configured HOST:PORT (a wildcard bind is reached on loopback). */
async function healthcheck(): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(Deno.env.toObject());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`healthcheck: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const host = config.host === "0.0.0.0"
    ? "127.0.0.1"
    : config.host === "::"
    ? "[::1]"
    : config.host.includes(":")
    ? `[${config.host}]`
    : config.host;
  try {
    const res = await fetch(`http://${host}:${config.port}/health/live`, {
      signal: AbortSignal.timeout(3000),
    });
    await res.body?.cancel();
    return res.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}

async function main(args: string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return 0;
  }
  if (command === "--version" || command === "-V") {
    console.log(`${SERVER_NAME} ${SERVER_VERSION}`);
    return 0;
  }
  if (command === "serve" && rest.length === 0) return await serve();
  if (command === "healthcheck" && rest.length === 0) return await healthcheck();
  console.error(`Unknown command or argument: "${args.join(" ").slice(0, 100)}"\n\n${USAGE}`);
  return 2;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
