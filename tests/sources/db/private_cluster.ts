/**
 * A private PostgreSQL cluster for fault tests (stopped and started at will),
 * so the shared server on 5432 is never touched. initdb refuses to run as
 * root, so as root the binaries run as the `postgres` user.
 *
 * @module
 */
import { freePort } from "../../process.ts";

const BIN_DIRS = [
  "/usr/lib/postgresql/15/bin",
  "/usr/lib/postgresql/16/bin",
  "/usr/lib/postgresql/17/bin",
];

function findBin(): string | undefined {
  for (const dir of BIN_DIRS) {
    try {
      Deno.statSync(`${dir}/initdb`);
      return dir;
    } catch { /* next */ }
  }
  return undefined;
}

/** Why a private cluster cannot be made here, or undefined when it can. */
export const privateClusterUnavailable: string | undefined = findBin()
  ? undefined
  : `no initdb in ${BIN_DIRS.join(", ")}`;

async function run(cmd: string, args: string[]): Promise<void> {
  const asPostgres = Deno.uid() === 0;
  const out = await new Deno.Command(asPostgres ? "runuser" : cmd, {
    args: asPostgres ? ["-u", "postgres", "--", cmd, ...args] : args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A cluster in a temp dir on a free loopback port. */
export interface PrivateCluster {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Creates (initdb) a cluster; it is not started yet. `settings` become
 * `-c name=value` server options (e.g. a small lock table).
 */
export async function createPrivateCluster(
  settings: Readonly<Record<string, string | number>> = {},
): Promise<PrivateCluster> {
  const bin = findBin()!;
  const dir = await Deno.makeTempDir({ prefix: "mcp-pg-" });
  if (Deno.uid() === 0) {
    await Deno.chown(dir, 101, 104).catch(() => run("chown", ["postgres", dir]));
  }
  const port = freePort();
  await run(`${bin}/initdb`, ["-D", `${dir}/data`, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  const extra = Object.entries(settings).map(([name, value]) => ` -c ${name}=${value}`).join("");
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off${extra}`;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () =>
      run(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-o", options, "-w", "-l", `${dir}/log`, "start"]),
    stop: () => run(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-m", "immediate", "-w", "stop"]),
    async destroy() {
      await run(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-m", "immediate", "-w", "stop"]).catch(
        () => {},
      );
      await Deno.remove(dir, { recursive: true });
    },
  };
}
