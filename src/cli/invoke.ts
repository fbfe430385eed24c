/**
 * `invoke <tool> '<json>'`: one tool call from the command line, through
 * the same pipeline as the doors. The app is built from the environment as
 * `serve` builds it, and the call goes through its request handler to the
 * REST door: validation, deadline, result caps, rate limit, audit and log
 * lines are the doors' own. Authentication is the one thing skipped: the
 * local operator calls as the principal `operator`, with a key made for this
 * run (unscoped, like `API_KEY_PRIMARY` without scopes) that no one else has.
 *
 * The result JSON goes to stdout; log lines and the error body to stderr.
 *
 * @module
 */
import { createApp } from "../app.ts";
import { type Config, ConfigError, parseConfig } from "../config/env.ts";
import { resolveSecretFiles } from "../config/secret_files.ts";
import { createStreamSink } from "../observability/logger.ts";
import { generateApiKey } from "./dev_key.ts";

/** Exit codes of `invoke`, documented in `--help`. */
export const INVOKE_EXIT = Object.freeze({
  /** The tool answered; its result is on stdout. */
  ok: 0,
  /** The tool failed at run time (a source down, its deadline, an internal error; HTTP 5xx). */
  failed: 1,
  /** Bad usage or configuration (no tool, arguments not a JSON object, a bad variable or file). */
  usage: 2,
  /** The call was refused: unknown tool, invalid input, not found, rate limited (HTTP 4xx). */
  refused: 3,
});

/** What `invoke` reads and writes (main passes the process's). */
export interface InvokeIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where log lines go (default: stderr, so stdout holds only the result). */
  readonly logStream?: WritableStream<Uint8Array>;
}

/**
 * Runs `invoke <tool> [json]` and resolves to its exit code.
 *
 * @example Arguments that are not a JSON object are bad usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { invokeCommand } from "./invoke.ts";
 *
 * let err = "";
 * const code = await invokeCommand(["echo", "[1]"], {
 *   env: {},
 *   stdout: () => {},
 *   stderr: (t) => err += t,
 * });
 * assert.equal(code, 2);
 * assert.match(err, /a JSON object/);
 * ```
 */
export async function invokeCommand(args: readonly string[], io: InvokeIo): Promise<number> {
  const [tool, json = "{}", ...extra] = args;
  if (tool === undefined || extra.length > 0 || !/^[a-z][a-z0-9_]{0,63}$/.test(tool)) {
    io.stderr(
      `invoke: usage: invoke <tool> '<json arguments>' (a tool name, then one JSON object)\n`,
    );
    return INVOKE_EXIT.usage;
  }
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch (error) {
    io.stderr(`invoke: the arguments must be a JSON object: ${(error as Error).message}\n`);
    return INVOKE_EXIT.usage;
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    io.stderr(`invoke: the arguments must be a JSON object, not ${JSON.stringify(input)}\n`);
    return INVOKE_EXIT.usage;
  }
  let config: Config;
  try {
    config = parseConfig(resolveSecretFiles({ ...io.env }));
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`Cannot invoke: ${error.message}\n`);
      return INVOKE_EXIT.usage;
    }
    throw error;
  }
  const key = generateApiKey();
  config = Object.freeze({
    ...config,
    // One isolate; the operator's key beside the configured ones.
    workers: 1,
    apiKeys: Object.freeze([...config.apiKeys, Object.freeze({ id: "operator", key })]),
  });
  const sink = createStreamSink(io.logStream ?? Deno.stderr.writable, config.logFormat);
  let app;
  try {
    app = await createApp({ config, logSinks: [sink], env: io.env, processMetrics: false });
  } catch (error) {
    await sink[Symbol.asyncDispose]();
    const configuration = error instanceof ConfigError ||
      (error instanceof Error &&
        ["ToolsFileError", "RegistryError", "KeysFileError"].includes(error.name));
    io.stderr(`Cannot invoke: ${(error as Error).message}\n`);
    return configuration ? INVOKE_EXIT.usage : INVOKE_EXIT.failed;
  }
  try {
    // A Host the server accepts (the first of ALLOWED_HOSTS, else its own address).
    const bind = config.host.includes(":") ? `[${config.host}]` : config.host;
    const host = config.allowedHosts[0] ?? `${bind}:${config.port}`;
    const res = await app.handler(
      new Request(`http://${host}/v1/mcp/${tool}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(input),
      }),
      {
        remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
        completed: Promise.resolve(),
      },
    );
    const text = await res.text();
    if (res.ok) {
      io.stdout(`${text}\n`);
      return INVOKE_EXIT.ok;
    }
    io.stderr(`${text}\n`);
    return res.status >= 500 ? INVOKE_EXIT.failed : INVOKE_EXIT.refused;
  } finally {
    await app.close();
    await sink[Symbol.asyncDispose]();
  }
}
