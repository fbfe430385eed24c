/**
 * Helpers for tests that run the real program as a child process.
 *
 * @module
 */
import { buildServerBundle } from "../scripts/bundle.ts";

/**
 * What every `deno` a test spawns with a cleared environment gets: no colour
 * codes in what it prints, and no update check (it asks a DNS server off this
 * machine for Deno's download host).
 */
export const CHILD_DENO_ENV = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } as const;

/**
 * deno.dev.json: the serving imports plus what only tests, scripts and RAG use
 * (its own lock, deno.dev.lock), so `deno task start` installs only what serving needs.
 */
export const DEV_CONFIG: string = new URL("../deno.dev.json", import.meta.url).pathname;

/** The `--config <path>` of a task command line, made absolute (none: the serving deno.json). */
export function configFlags(command: string): string[] {
  const words = command.split(/\s+/);
  const at = words.indexOf("--config");
  return at === -1 ? [] : ["--config", new URL(`../${words[at + 1]}`, import.meta.url).pathname];
}

/** The permission flags of the `compile` task: the one definition every server run reuses. */
export async function compilePermissionFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  return permissionFlags(config.tasks.compile);
}

/** The `--v8-flags=...` of a task command line (the heap tuning the binary is built with). */
export function v8Flags(command: string): string[] {
  return command.split(/\s+/).filter((w) => w.startsWith("--v8-flags="));
}

/** The `--allow-*`/`--deny-*`/`-A` flags of a task command line. */
export function permissionFlags(command: string): string[] {
  return command.split(/\s+/).filter((w) => /^(--allow-|--deny-|-A$|--allow-all$)/.test(w));
}

/** A running server process whose stdout lines are collected. */
export interface ServerProcess {
  readonly url: string;
  readonly stdout: string[];
  readonly stderr: () => string;
  readonly child: Deno.ChildProcess;
  /** Sends `signal` and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `deno <args>` with `env` (PORT=0 so the OS picks a free port) and
 * resolves once the "server started" log line names the URL.
 */
export async function spawnServer(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { PORT: "0", ...CHILD_DENO_ENV, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  let stderr = "";
  const started = Promise.withResolvers<string>();
  (async () => {
    const decoder = new TextDecoderStream();
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(decoder)) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        stdout.push(line);
        try {
          const parsed = JSON.parse(line);
          if (parsed.message === "server started") started.resolve(parsed.url);
        } catch { /* not JSON */ }
      }
    }
    started.reject(new Error(`Server exited before it started:\n${stdout.join("\n")}\n${stderr}`));
  })();
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const timer = setTimeout(
    () => started.reject(new Error(`Server did not start in time:\n${stderr}`)),
    options.timeoutMs ?? 30_000,
  );
  let url: string;
  try {
    url = await started.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    stdout,
    stderr: () => stderr,
    child,
    async stop(signal: Deno.Signal = "SIGTERM") {
      child.kill(signal);
      const status = await child.status;
      // Let the pipe readers drain.
      await new Promise((r) => setTimeout(r, 20));
      return status;
    },
  };
}

/** Runs `deno <args>` to completion. */
/**
 * What a child `deno` needs from our environment to fetch packages as we do:
 * home, path, and the machine's certificate, proxy and cache settings (the
 * bundler downloads esbuild from the npm registry on first use).
 */
export function toolchainEnv(): Record<string, string> {
  const names = [
    "HOME",
    "PATH",
    "DENO_DIR",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "NPM_CONFIG_REGISTRY",
  ];
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.DENO_NO_UPDATE_CHECK = CHILD_DENO_ENV.DENO_NO_UPDATE_CHECK;
  return env;
}

export async function runDeno(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { ...CHILD_DENO_ENV, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/**
 * Why `command` cannot run here (not on PATH, or `--version` fails), or
 * undefined when it can. `hint` says where it comes from.
 */
export async function commandUnavailable(
  command: string,
  hint = "",
  versionArgs: string[] = ["--version"],
): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(command, {
      args: versionArgs,
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success ? undefined : `${command} ${versionArgs.join(" ")} failed`;
  } catch {
    return `no ${command} on PATH${hint ? ` (${hint})` : ""}`;
  }
}

/**
 * A loopback port the OS reports free, closed again at once: for a child to
 * listen on, or for a "nothing listens here" address.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Builds the bundle `deno task bundle` builds (the serving config, `main.ts`,
 * split into chunks, embedded files beside them: `scripts/bundle.ts`) into the
 * folder `dir`; returns its entry file. Throws with deno's output when it fails.
 */
export async function buildBundle(dir: string): Promise<string> {
  return (await buildServerBundle(dir, toolchainEnv())).entry;
}

/**
 * The flags the bundle in `dir` runs with: the compile task's, plus read
 * access to its own folder (it reads its lazily imported chunks from there).
 */
export async function bundlePermissionFlags(dir: string): Promise<string[]> {
  return (await compilePermissionFlags()).map((f) =>
    f.startsWith("--allow-read=") ? `--allow-read=${dir},${f.slice("--allow-read=".length)}` : f
  );
}
