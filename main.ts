/**
 * mcp-tool-server: the command line.
 *
 *   mcp-tool-server [serve]         start the server (default)
 *   mcp-tool-server healthcheck     exit 0 if the local server answers /health/live, else 1
 *   mcp-tool-server check [file] [--connect]  check a tools file (default TOOLS_FILE); exit 0 ok, 2 problems
 *   mcp-tool-server tools           list the tools the configuration would serve
 *   mcp-tool-server invoke <tool> [json]  call one tool through the doors' pipeline
 *   mcp-tool-server ingest <paths>  embed text/Markdown files into the RAG document store
 *   mcp-tool-server hash-key        print the SHA-256 of a key read from stdin (API_KEYS_FILE)
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
import { hashKeyCommand, readStdin } from "./src/cli/hash_key.ts";
import { KeysFileError } from "./src/auth/keys_file_error.ts";
import { type Config, ConfigError, parseConfig } from "./src/config/env.ts";
import { resolveSecretFiles } from "./src/config/secret_files.ts";
import {
  isPermissionError,
  readPermissionHint,
  writePermissionHint,
} from "./src/config/permission_hint.ts";
import { describeStray, strayVariables } from "./src/config/stray_variables.ts";
import { redactConfig } from "./src/config/redact.ts";
import { createStreamSink, fileWritable, type StreamSink } from "./src/observability/logger.ts";
import { parallelPrimary, workersStartError } from "./src/parallel/primary.ts";
import type { WorkerPool } from "./src/parallel/pool.ts";
import { inWorker, runWorker } from "./src/parallel/worker.ts";
import { SERVER_NAME, SERVER_VERSION } from "./src/version.ts";
import { API_TOOLS, BUILTIN_TOOLS, SQL_TOOLS } from "./src/tools/builtin/mod.ts";
import { loadIngestCommand } from "./src/rag/load.ts";
import type { Tool } from "./src/tools/define.ts";
import { planDemo } from "./src/tools/demo_plan.ts";

const USAGE = `${SERVER_NAME} ${SERVER_VERSION}: a read-only MCP tool server

Usage:
  ${SERVER_NAME} [serve]       start the server (default)
  ${SERVER_NAME} healthcheck   exit 0 if the server on HOST:PORT answers /health/live, else 1
                               (for container HEALTHCHECKs: the image has no curl)
  ${SERVER_NAME} check [file] [--connect]
                               check a tools file (default: TOOLS_FILE) and print every problem
                               as file:line:column: message; exit 0 ok, 2 problems. With
                               --connect, also prepare each SQL tool's statement on its
                               database (DB_URL or its source; nothing is executed): an unknown
                               table or column or a parameter type mismatch is a problem named
                               by tool (exit 2); a database that cannot be reached exits 1
  ${SERVER_NAME} tools         list the tools this configuration would serve
  ${SERVER_NAME} invoke <tool> ['<json>']
                               call one tool through the same pipeline as the doors
                               (validation, deadline, caps, logs; as the local operator,
                               no key needed) and print its result JSON on stdout; log
                               lines and an error body go to stderr. Exit 0 the result,
                               1 the tool failed at run time (5xx: a source down, its
                               deadline), 2 bad usage or configuration, 3 the call was
                               refused (4xx: unknown tool, invalid input, not found)
  ${SERVER_NAME} ingest <files or folders> [--source-name NAME] [--prune] ...
                               embed .md/.txt files into the RAG document store
                               (ingest --help for every option; needs the RAG
                               permissions: deno task ingest)
  ${SERVER_NAME} hash-key      print the SHA-256 of the key on stdin, for API_KEYS_FILE
                               (hash-key --generate: a new key and its hash)
  ${SERVER_NAME} --help        show this help
  ${SERVER_NAME} --version     show the version

Configuration comes from environment variables (see README.md and .env.example).
With none at all it serves demo data from an embedded database on
http://127.0.0.1:8000 and prints a development API key.

Exit codes: 0 stopped cleanly, 1 failed at run time (a source could not open,
the port is taken), 2 bad usage or configuration (a variable, the tools file,
the keys file, a file the program may not read or write).
`;

/** When, after the port opens, what the first requests would wait for is loaded. */
const WARM_UP_DELAY_MS = 1_000;

/** How long in-flight requests may take to finish after SIGINT/SIGTERM. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** What {@linkcode serve} takes (a tool author's program passes its tools through mod.ts). */
export interface ServeOptions {
  /**
   * The code tools to serve instead of the built-in demo tools; the tools
   * file's tools, `sql_query` and RAG join them as configured.
   */
  readonly tools?: readonly Tool[];
}

/**
 * Serves until SIGINT/SIGTERM, configured from the environment; resolves to
 * the exit code. Exported for mod.ts: a tool author's program is this
 * function with its own tools.
 */
export async function serve(options: ServeOptions = {}): Promise<number> {
  let config: Config;
  let env: Record<string, string | undefined>;
  try {
    env = resolveSecretFiles(Deno.env.toObject());
    config = parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Cannot start: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (options.tools !== undefined && config.workers > 1) {
    // Worker isolates load this module again and build the built-in tools:
    // an author's tools (functions) cannot be sent to them.
    console.error(
      `Cannot start: WORKERS=${config.workers} serves only the built-in tools; a program with its own tools runs in one isolate (unset WORKERS)`,
    );
    return 2;
  }
  // Variables that look like ours but are not: an error outside development.
  const stray = strayVariables(Deno.env.toObject(), await toolsFileReferences(config));
  if (stray.length > 0 && config.environment !== "development") {
    console.error(
      `Cannot start: unknown variables in "${config.environment}":\n${
        stray.map((s) => `  ${describeStray(s)}`).join("\n")
      }`,
    );
    return 2;
  }
  const dev = withDevKey(config);
  config = dev.config;

  const sinks: StreamSink[] = [
    createStreamSink(Deno.stdout.writable, config.logFormat),
  ];
  if (config.logFile !== undefined) {
    try {
      const file = await Deno.open(config.logFile, { create: true, append: true });
      sinks.push(createStreamSink(fileWritable(file), config.logFormat));
    } catch (error) {
      console.error(
        `Cannot start: LOG_FILE "${config.logFile}" cannot be opened for writing: ${
          isPermissionError(error) ? writePermissionHint(config.logFile) : (error as Error).message
        }`,
      );
      return 2;
    }
  }
  const flushLogs = async () => {
    for (const sink of sinks) await sink[Symbol.asyncDispose]();
  };

  // WORKERS > 1: rate-limit counts shared by every isolate, `/metrics`
  // summing every isolate's registry, and a tag on each log line.
  // Workers build their app from the environment: a generated development
  // key must reach them too.
  const toolsEnv = Deno.env.toObject();
  const primary = parallelPrimary(config, {
    config: dev.generated ? { ...env, API_KEY_PRIMARY: dev.generated } : env,
    tools: toolsEnv,
  });
  const logSinks = primary ? primary.tag(sinks) : sinks;
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp({
      config,
      logSinks,
      env: toolsEnv,
      shared: primary?.shared,
      tools: options.tools,
    });
  } catch (error) {
    if (error instanceof KeysFileError) {
      console.error(`Cannot start: bad API_KEYS_FILE:\n${error.message}`);
      await flushLogs();
      return 2;
    }
    // The tools file and the tools are configuration too (the loader is loaded lazily: by name).
    if (
      error instanceof ConfigError ||
      (error instanceof Error && ["ToolsFileError", "RegistryError"].includes(error.name))
    ) {
      console.error(`Cannot start: ${error.message}`);
      await flushLogs();
      return 2;
    }
    console.error((error as Error).message);
    await flushLogs();
    return 1;
  }
  primary?.attach(app);
  for (const s of stray) {
    app.log.warn("unknown variable ignored", { variable: s.name, did_you_mean: s.closest });
  }

  // Native HTTPS (a VM without a proxy): read permission for exactly these two files.
  let tls: { cert: string; key: string } | undefined;
  if (config.tls) {
    try {
      tls = {
        cert: await Deno.readTextFile(config.tls.certFile),
        key: await Deno.readTextFile(config.tls.keyFile),
      };
    } catch (error) {
      console.error(
        `Cannot start: TLS_CERT_FILE/TLS_KEY_FILE cannot be read: ${
          isPermissionError(error)
            ? readPermissionHint(`${config.tls.certFile},${config.tls.keyFile}`)
            : (error as Error).message
        }`,
      );
      await app.close();
      await flushLogs();
      return 2;
    }
  }
  const stopped = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      // Every isolate listens on the port; the kernel spreads connections.
      reusePort: primary !== undefined,
      signal: stopped.signal,
      ...tls,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        app.log.info("server started", {
          url: `${tls ? "https" : "http"}://${host}:${port}`,
          version: SERVER_VERSION,
          tools: app.registry.tools.map((t) => t.name),
          workers: config.workers,
          database: app.sql.kind,
          config: redactConfig(config),
        });
        if (dev.generated) {
          const served = app.registry.tools.map((t) => t.name);
          console.error(devKeyBanner(dev.generated, `http://${host}:${port}`, served));
        }
        // A second after the port opens, so the first calls are not queued
        // behind it; a scrape that comes sooner loads the process metrics itself.
        const warm = setTimeout(() => {
          app.warmUp().catch((error) =>
            app.log.error("warm-up failed", { error: (error as Error).message })
          );
        }, WARM_UP_DELAY_MS);
        Deno.unrefTimer(warm);
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

  let pool: WorkerPool | undefined;
  if (primary) {
    try {
      pool = await primary.start({ sinks, entry: import.meta.url, tls });
      app.log.info("workers listening", { workers: config.workers });
    } catch (error) {
      console.error(workersStartError(config.workers, error));
      stopped.abort();
      await server.finished.catch(() => {});
      await app.close();
      await flushLogs();
      return 1;
    }
  }
  let exitCode = 0;
  const shutdown = (signal: string) => {
    app.log.info("shutting down", { signal });
    // Stops accepting; in-flight requests finish, up to the grace period.
    const timer = setTimeout(() => stopped.abort(), SHUTDOWN_GRACE_MS);
    server.shutdown().finally(() => clearTimeout(timer));
    void pool?.shutdown(SHUTDOWN_GRACE_MS);
  };
  // A worker that dies takes the process down, for its supervisor to restart
  // it whole: half the listeners silently gone would be worse.
  void pool?.failed.then((reason) => {
    app.log.error("worker failed; stopping", { reason });
    exitCode = 1;
    shutdown("worker failure");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => shutdown(signal));
  }
  // SIGHUP re-reads TOOLS_FILE and API_KEYS_FILE; a bad file is logged and
  // what was serving keeps serving.
  if (config.toolsFile !== undefined || config.apiKeysFile !== undefined) {
    Deno.addSignalListener("SIGHUP", () => {
      if (config.toolsFile !== undefined) void app.reloadTools();
      if (config.apiKeysFile !== undefined) void app.reloadKeys();
      pool?.reload();
    });
  }
  await server.finished;
  await pool?.shutdown(SHUTDOWN_GRACE_MS);
  await app.close();
  app.log.info("server stopped");
  await flushLogs();
  return exitCode;
}

/**
 * The names the tools file reads with `${NAME}`: the user's own variables,
 * never stray ones. Best effort: an unreadable file is reported by its load.
 */
async function toolsFileReferences(config: Config): Promise<Set<string>> {
  if (config.toolsFile === undefined) return new Set();
  try {
    const text = await Deno.readTextFile(config.toolsFile);
    return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
  } catch {
    return new Set();
  }
}

/** GETs /health/live on the configured HOST:PORT (a wildcard bind is reached on loopback). */
async function healthcheck(): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(resolveSecretFiles(Deno.env.toObject()));
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
  if (config.tls) {
    // With native TLS the certificate is for the server's public name and is
    // verified against a CA this process need not have: check that the port
    // accepts connections instead.
    try {
      const conn = await Deno.connect({
        hostname: host.replace(/^\[|\]$/g, ""),
        port: config.port,
      });
      conn.close();
      return 0;
    } catch {
      return 1;
    }
  }
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

/**
 * `check [file] [--connect]`: every problem of a tools file, with its line
 * and column; with `--connect`, each SQL statement prepared on its database too.
 */
async function check(file: string | undefined, connect = false): Promise<number> {
  const env = Deno.env.toObject();
  const path = file ?? env.TOOLS_FILE;
  if (!path) {
    console.error("check: name a tools file, or set TOOLS_FILE");
    return 2;
  }
  const { checkToolsFile, formatProblems } = await import("./src/tools/file/tools_file.ts");
  const result = await checkToolsFile(path, env);
  if (!result.ok) {
    console.error(formatProblems(path, result.problems));
    return 2;
  }
  const names = Object.keys(result.file.spec.tools);
  const clashes = names.filter((n) => BUILTIN_TOOLS.some((t) => t.name === n) || n === "sql_query");
  if (clashes.length > 0) {
    console.error(`${path}: tool names already taken by built-in tools: ${clashes.join(", ")}`);
    return 2;
  }
  if (connect) {
    const code = await checkConnect(path, result.file, env);
    if (code !== 0) return code;
  }
  console.log(`${path}: ok, ${names.length} tools: ${names.join(", ")}`);
  return 0;
}

/** `check --connect`: prepares each SQL tool's statement (src/tools/file/connect_check.ts). */
async function checkConnect(
  path: string,
  file: import("./src/tools/file/load.ts").ToolsFile,
  env: Record<string, string | undefined>,
): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(resolveSecretFiles(env));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`check: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const { connectCheck } = await import("./src/tools/file/connect_check.ts");
  const result = await connectCheck(file, {
    serverDbUrl: config.db.url,
    connectTimeoutSeconds: config.db.connectTimeoutSeconds,
  });
  for (const p of result.problems) {
    console.error(
      p.tool === undefined
        ? `${path}: source ${p.source}: ${p.message}`
        : `${path}: tool ${p.tool} (source ${p.source}): ${p.message}`,
    );
  }
  if (result.skipped.length > 0) {
    console.log(`${path}: not prepared (embedded database): ${result.skipped.join(", ")}`);
  }
  if (result.problems.some((p) => p.unreachable)) return 1;
  if (result.problems.length > 0) return 2;
  console.log(`${path}: ${result.prepared.length} SQL statements prepared on their databases`);
  return 0;
}

/** `tools`: what this configuration would serve, without opening any source. */
async function listTools(): Promise<number> {
  let config: Config;
  const env = Deno.env.toObject();
  try {
    config = parseConfig(resolveSecretFiles(env));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  let demo;
  try {
    demo = await planDemo(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const tools: { name: string; description: string }[] = [];
  if (demo.demoTools) {
    tools.push(...SQL_TOOLS);
    if (config.upstream.baseUrl !== undefined || config.environment === "development") {
      tools.push(...API_TOOLS);
    }
  }
  if (config.sqlQuery.enabled) {
    tools.push({ name: "sql_query", description: "Run one read-only SQL query." });
  }
  if (config.enableRag) {
    tools.push({
      name: "search_documents",
      description: "Semantic search over ingested documents.",
    });
  }
  let file;
  if (config.toolsFile !== undefined) {
    const { checkToolsFile, formatProblems } = await import("./src/tools/file/tools_file.ts");
    const result = await checkToolsFile(config.toolsFile, env);
    if (!result.ok) {
      console.error(formatProblems(config.toolsFile, result.problems));
      return 1;
    }
    file = result.file;
    for (const [name, spec] of Object.entries(file.spec.tools)) {
      tools.push({ name, description: spec.description });
    }
  }
  let served = tools;
  if (config.toolset !== undefined) {
    const names = file?.spec.toolsets[config.toolset];
    if (!names) {
      console.error(`TOOLSET "${config.toolset}" is not defined in the tools file`);
      return 1;
    }
    served = tools.filter((t) => names.includes(t.name));
  }
  const width = Math.max(...served.map((t) => t.name.length));
  for (const tool of served) {
    console.log(`${tool.name.padEnd(width)}  ${tool.description.split("\n")[0].slice(0, 100)}`);
  }
  return 0;
}

/** `invoke <tool> [json]`: one call through the doors' pipeline (src/cli/invoke.ts). */
async function invoke(args: string[]): Promise<number> {
  const { invokeCommand } = await import("./src/cli/invoke.ts");
  const encoder = new TextEncoder();
  return await invokeCommand(args, {
    env: Deno.env.toObject(),
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    stderr: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  });
}

/** `ingest …`: loads the RAG code (not part of the core bundle) and runs it; Ctrl-C stops after a batch. */
async function ingestCommand(args: string[]): Promise<number> {
  let module;
  try {
    module = await loadIngestCommand();
  } catch (error) {
    console.error(`Cannot ingest: ${(error as Error).message}`);
    return 1;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const encoder = new TextEncoder();
  try {
    return await module.runIngestCommand(args, {
      env: Deno.env.toObject(),
      stderr: (text) => Deno.stderr.writeSync(encoder.encode(text)),
      stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
      isTerminal: Deno.stderr.isTerminal(),
      signal: stop.signal,
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
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
  if (command === "check") {
    const connect = rest.includes("--connect");
    const files = rest.filter((a) => a !== "--connect");
    if (files.length <= 1 && !files.some((f) => f.startsWith("-"))) {
      return await check(files[0], connect);
    }
  }
  if (command === "tools" && rest.length === 0) return await listTools();
  if (command === "invoke") return await invoke(rest);
  if (command === "ingest") return await ingestCommand(rest);
  if (command === "hash-key") {
    const outcome = await hashKeyCommand(rest, readStdin);
    if (outcome.stdout) Deno.stdout.writeSync(new TextEncoder().encode(outcome.stdout));
    if (outcome.stderr) Deno.stderr.writeSync(new TextEncoder().encode(outcome.stderr));
    return outcome.code;
  }
  console.error(`Unknown command or argument: "${args.join(" ").slice(0, 100)}"\n\n${USAGE}`);
  return 2;
}

if (inWorker()) {
  // WORKERS > 1: this program, loaded again as one more HTTP listener.
  runWorker();
} else if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    // A permission the run lacks (no --allow-env, a file outside the grant):
    // one line saying which, never a stack.
    if (!isPermissionError(error)) throw error;
    console.error(`Cannot run: ${(error as Error).message.split("\n")[0]}`);
    code = 2;
  }
  Deno.exit(code);
}
