/**
 * Redis for tests: the shared server at `TEST_REDIS_URL` (default
 * `redis://127.0.0.1:6379`) for limits, and private `redis-server`s on free
 * ports for faults (stopped and started at will; the shared one never is).
 *
 * @module
 */
import { Redis } from "ioredis";
import { commandUnavailable, freePort } from "../process.ts";

export const TEST_REDIS_URL = Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";

async function probe(): Promise<string | undefined> {
  const client = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${TEST_REDIS_URL} is unreachable (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

/** Why Redis tests are skipped, or undefined when they run. */
export const redisUnavailable: string | undefined = await probe();
if (redisUnavailable) console.log(`Skipping Redis tests: ${redisUnavailable}`);

/** Why private redis-server tests are skipped. */
export const redisServerUnavailable: string | undefined = await commandUnavailable("redis-server");
if (redisServerUnavailable) console.log(`Skipping Redis fault tests: ${redisServerUnavailable}`);

/** A private redis-server on a free loopback port, without persistence. */
export class PrivateRedis {
  readonly port: number;
  #child: Deno.ChildProcess | undefined;

  constructor() {
    this.port = freePort();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100; i++) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        conn.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw new Error("private redis-server did not start");
  }

  async stop(): Promise<void> {
    if (!this.#child) return;
    this.#child.kill("SIGKILL");
    await this.#child.status;
    this.#child = undefined;
  }
}
