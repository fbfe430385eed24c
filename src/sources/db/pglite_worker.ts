/**
 * The embedded database, run in a Web Worker: the server's thread never runs
 * a statement, so it keeps answering while one runs, and every statement
 * stops at its deadline — `min(DB_QUERY_TIMEOUT_SECONDS, the call's remaining
 * deadline)`, as on PostgreSQL.
 *
 * How a statement is stopped: the worker runs each of PGlite's protocol
 * messages under V8's termination watchdog (`pglite_deadline.ts`); a cut
 * statement leaves that PGlite instance unusable, so the worker is replaced
 * by a fresh one started from the same snapshot (or data directory) while
 * the calls behind it wait in the queue (they answer 503 `busy` if their own
 * deadline comes first). A worker is also replaced after answering when
 * its WASM memory has grown past `recycleAboveBytes` (WASM memory never
 * shrinks), or when the WASM trapped. A worker that stops answering
 * altogether (it should not: the watchdog bounds every statement) is given
 * up on a little after its deadline and replaced the same way; its thread
 * may run on, since Deno 2.9's `Worker.terminate()` does not stop a busy
 * worker.
 *
 * No file is read at run time: the worker's code is text bundled into the
 * program (`pglite_worker_bundle.txt`, built by `deno task pglite-worker`)
 * started from a `blob:` URL, and PGlite's WASM (compiled once, here), its
 * file-system bundle and the demo snapshot are posted to it. With a data
 * directory, the worker (which has the server's permissions) needs read and
 * write permission on that directory only.
 *
 * PGlite is one session, so the queue is this source's pool of one:
 * `poolStats()` reports it in use while a statement runs, and the calls
 * queued behind it as waiting.
 *
 * @module
 */
import pgliteWasm from "@electric-sql/pglite/pglite.wasm" with { type: "bytes" };
import initdbWasm from "@electric-sql/pglite/initdb.wasm" with { type: "bytes" };
import pgliteData from "@electric-sql/pglite/pglite.data" with { type: "bytes" };
import demoSnapshot from "./demo_snapshot.tar.gz" with { type: "bytes" };
// Bytes rather than text: the bundle keeps large byte imports as files
// beside its chunks (scripts/bundle.ts).
import workerCode from "./pglite_worker_bundle.txt" with { type: "bytes" };
import type { FromWorker, ToWorker } from "./pglite_worker_main.ts";
import type { ResultLimits } from "./result_caps.ts";
import {
  DatabaseError,
  type PoolStats,
  type QueryOptions,
  type SqlQuery,
  type SqlResult,
  type SqlSource,
} from "./sql_source.ts";

/** How to run the embedded database. */
export interface PgliteWorkerOptions {
  /** Caps on every result (a call may lower them). */
  readonly limits: ResultLimits;
  /** The ceiling of every statement's deadline (`DB_QUERY_TIMEOUT_SECONDS`). */
  readonly queryTimeoutMs: number;
  /**
   * Keep the database in this folder (`PGLITE_DATA_DIR`) instead of memory:
   * its files in `pgdata/`, beside a `lock` file held while open. An empty
   * folder starts with the demo data.
   */
  readonly directory?: string;
  /** SQL run on each fresh instance before it serves (test fixtures). */
  readonly setupSql?: string;
  /** Told each time the worker is replaced, with the reason. */
  readonly onRestart?: (reason: string) => void;
  /** How long past a statement's deadline a silent worker is given (default 3 s). */
  readonly graceMs?: number;
  /**
   * Replace the worker once its WASM memory passes this (default 512 MiB; it
   * starts near 190 MiB). WASM memory only grows, so one huge sort or
   * aggregate would otherwise keep its peak for good.
   */
  readonly recycleAboveBytes?: number;
}

/** A query or ping waiting for, or holding, the one session. */
interface Job {
  readonly message: (id: number, timeoutMs: number) => ToWorker;
  /** When the call's own deadline ends (`performance.now()` time). */
  readonly deadlineAt: number;
  /** Until when it may wait for the session before answering busy, and for how long that is. */
  readonly waitUntil: number;
  readonly waitMs: number;
  readonly resolve: (answer: FromWorker & { type: "result" }) => void;
  readonly reject: (error: unknown) => void;
  readonly signal?: AbortSignal;
  onAbort?: () => void;
}

/** A stand-in for the timeout Postgres reports (SQLSTATE 57014). */
function statementTimeout(): DatabaseError {
  return new DatabaseError("timeout", "canceling statement due to statement timeout", "57014");
}

/**
 * Starts the embedded database in a worker (from the demo snapshot, or from
 * `directory`) and resolves once it answers; rejects when it cannot start
 * (a data directory in use by another process, a missing permission).
 *
 * @example A statement is stopped at its deadline, and the next one is served
 * ```ts
 * import { openPgliteWorker } from "./pglite_worker.ts";
 * import { sql } from "./sql_source.ts";
 * import assert from "node:assert/strict";
 *
 * const db = await openPgliteWorker({
 *   limits: { maxRows: 100, maxBytes: 1_000_000 },
 *   queryTimeoutMs: 5000,
 * });
 * // The call's own deadline (300 ms) is below the query timeout: it applies.
 * await assert.rejects(
 *   db.query(sql`SELECT pg_sleep(600)`, { timeoutMs: 300 }),
 *   /statement timeout/,
 * );
 * // Queued while a fresh worker starts, then served.
 * const { rows } = await db.query(sql`SELECT count(*)::int AS n FROM customers`);
 * assert.deepEqual(rows, [{ n: 1000 }]);
 * await db.close();
 * ```
 */
export async function openPgliteWorker(options: PgliteWorkerOptions): Promise<SqlSource> {
  const graceMs = options.graceMs ?? 3000;
  const recycleAboveBytes = options.recycleAboveBytes ?? 512 * 1048576;
  const directory = options.directory?.replace(/\/+$/, "");
  const lock = directory === undefined ? undefined : await lockDirectory(directory);
  // Compiled once; a compiled module is shared with each worker, not copied.
  let modules: [WebAssembly.Module, WebAssembly.Module];
  let codeUrl: string;
  try {
    modules = await Promise.all([WebAssembly.compile(pgliteWasm), WebAssembly.compile(initdbWasm)]);
    codeUrl = URL.createObjectURL(new Blob([workerCode], { type: "text/javascript" }));
  } catch (error) {
    lock?.close();
    throw error;
  }

  let worker: Worker | undefined;
  /** Settles when the current worker is ready (or failed to start). */
  let starting: Promise<void> | undefined;
  let ready = false;
  let closed = false;
  const queue: Job[] = [];
  let current: { job: Job; id: number; watchdog: ReturnType<typeof setTimeout> } | undefined;
  let nextId = 1;
  /** Answers from the worker not yet read (only `started` and `closed` wait here). */
  let onControl: ((answer: FromWorker) => void) | undefined;

  async function isNewDirectory(dir: string): Promise<boolean> {
    try {
      await Deno.stat(`${dir}/pgdata/PG_VERSION`);
      return false;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return true;
      throw error;
    }
  }

  /** Starts a fresh worker; the queue waits for it. */
  function start(): Promise<void> {
    ready = false;
    const w = new Worker(codeUrl, { type: "module", name: "pglite" });
    worker = w;
    w.onmessage = (event: MessageEvent<FromWorker>) => {
      if (worker === w) answered(event.data);
    };
    w.onerror = (event) => {
      event.preventDefault();
      if (worker === w) lost(`The embedded database's worker failed: ${event.message}`);
    };
    w.onmessageerror = () => {
      if (worker === w) lost("The embedded database's worker sent an unreadable message");
    };
    starting = (async () => {
      const started = new Promise<FromWorker>((resolve) => onControl = resolve);
      const fresh = directory !== undefined && await isNewDirectory(directory);
      if (directory !== undefined) await Deno.mkdir(`${directory}/pgdata`, { recursive: true });
      w.postMessage(
        {
          type: "start",
          pgliteWasmModule: modules[0],
          initdbWasmModule: modules[1],
          fsBundle: pgliteData,
          snapshot: directory === undefined || fresh ? demoSnapshot : undefined,
          directory: directory === undefined ? undefined : `${directory}/pgdata`,
          setupSql: options.setupSql,
          recycleAboveBytes,
        } satisfies ToWorker,
      );
      const answer = await started;
      if (answer.type !== "started") {
        throw new DatabaseError(
          "unavailable",
          `The embedded database did not start: ${answer.type === "failed" ? answer.message : ""}`,
        );
      }
      if (worker === w) {
        ready = true;
        pump();
      }
    })();
    starting.catch((error) => {
      if (worker !== w) return;
      // Nothing can run: everyone waiting hears it now; the next call tries again.
      retire(w);
      starting = undefined;
      for (const job of queue.splice(0)) settle(job, () => job.reject(error));
    });
    return starting;
  }

  /** Stops `w` (idle, or past saving) and forgets it. */
  function retire(w: Worker): void {
    w.onmessage = w.onerror = w.onmessageerror = null;
    w.terminate();
    if (worker === w) {
      worker = undefined;
      ready = false;
    }
  }

  /** Replaces the current worker with a fresh one. */
  function restart(reason: string): void {
    if (worker) retire(worker);
    if (closed) return;
    options.onRestart?.(reason);
    start();
  }

  /**
   * The worker failed outside a statement: the running call is lost and the
   * rest wait for a fresh worker. One that fails while starting is not
   * replaced at once (that could loop): the start fails, and the next call
   * tries again.
   */
  function lost(reason: string): void {
    const running = current;
    if (running) {
      clearTimeout(running.watchdog);
      current = undefined;
      settle(running.job, () => running.job.reject(new DatabaseError("unavailable", reason)));
    }
    if (!ready) {
      onControl?.({ type: "failed", kind: "unavailable", message: reason });
      onControl = undefined;
      return;
    }
    restart(reason);
  }

  function answered(answer: FromWorker): void {
    if (answer.type === "started" || answer.type === "closed" || answer.id === undefined) {
      onControl?.(answer);
      onControl = undefined;
      return;
    }
    const running = current;
    if (!running || running.id !== answer.id) return;
    clearTimeout(running.watchdog);
    current = undefined;
    const job = running.job;
    if (answer.type === "result") {
      settle(job, () => job.resolve(answer));
    } else if (answer.type === "failed") {
      const error = new DatabaseError(answer.kind, answer.message, answer.code);
      settle(job, () => job.reject(error));
    }
    if (!answer.retire) {
      pump();
      return;
    }
    const why = {
      deadline: "a statement was cut at its deadline",
      crash: "its database failed",
      memory: `its memory grew past ${recycleAboveBytes / 1048576} MiB (WASM memory never shrinks)`,
    }[answer.retire];
    restart(answer.type === "failed" ? `${why}: ${answer.message}` : why);
  }

  /** Takes a job out of the waiting list and answers it once. */
  function settle(job: Job, answer: () => void): void {
    if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
    answer();
  }

  /** Sends the next waiting job, if the session is free. */
  function pump(): void {
    while (ready && worker && !current && queue.length > 0) {
      const job = queue.shift()!;
      const now = performance.now();
      if (now >= job.waitUntil) {
        settle(job, () => job.reject(busy(job)));
        continue;
      }
      const timeoutMs = Math.max(
        1,
        Math.ceil(Math.min(options.queryTimeoutMs, job.deadlineAt - now)),
      );
      const id = nextId++;
      const watchdog = setTimeout(() => {
        if (current?.id !== id) return;
        current = undefined;
        settle(job, () => job.reject(statementTimeout()));
        restart(`the worker did not answer within ${timeoutMs + graceMs} ms`);
      }, timeoutMs + graceMs);
      current = { job, id, watchdog };
      try {
        worker.postMessage(job.message(id, timeoutMs));
      } catch (error) {
        // A value the structured clone cannot copy: this query's fault alone.
        clearTimeout(watchdog);
        current = undefined;
        const message = error instanceof Error ? error.message : String(error);
        settle(
          job,
          () => job.reject(new DatabaseError("query", message, undefined, { cause: error })),
        );
      }
    }
    scheduleExpiry();
  }

  /** Answers waiting jobs busy at their wait limit, even while nothing moves. */
  let expiryTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleExpiry(): void {
    clearTimeout(expiryTimer);
    expiryTimer = undefined;
    if (queue.length === 0) return;
    const soonest = Math.min(...queue.map((j) => j.waitUntil));
    expiryTimer = setTimeout(() => {
      const now = performance.now();
      for (const job of [...queue]) {
        if (now >= job.waitUntil) {
          queue.splice(queue.indexOf(job), 1);
          settle(job, () => job.reject(busy(job)));
        }
      }
      scheduleExpiry();
    }, Math.max(0, soonest - performance.now()));
  }

  function busy(job: Job): DatabaseError {
    return new DatabaseError(
      "busy",
      `The embedded database stayed busy for ${
        Math.round(job.waitMs)
      } ms, until the call's deadline`,
    );
  }

  /**
   * Queues a job with `budgetMs` to go until the call's deadline; resolves
   * with the worker's answer. It may wait for the session (behind other
   * calls, or a restart) for most of that budget; once sent, its statement
   * gets what is left of it, at most the query timeout.
   */
  function submit(
    message: Job["message"],
    signal: AbortSignal | undefined,
    budgetMs: number,
  ): Promise<FromWorker & { type: "result" }> {
    if (closed) return Promise.reject(new DatabaseError("unavailable", "The database is closed"));
    signal?.throwIfAborted();
    const now = performance.now();
    // Waiting for the session stops a little before the deadline, so the
    // caller hears "busy" (503) rather than a bare deadline (504).
    const waitMs = Math.max(1, budgetMs - Math.min(250, budgetMs * 0.1));
    return new Promise((resolve, reject) => {
      const job: Job = {
        message,
        deadlineAt: now + budgetMs,
        waitUntil: now + waitMs,
        waitMs,
        resolve,
        reject,
        signal,
      };
      if (signal) {
        // A caller that gives up is answered now; a queued job leaves the
        // queue, a running one runs on to its deadline (nothing else can stop it sooner).
        job.onAbort = () => {
          const at = queue.indexOf(job);
          if (at >= 0) queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      queue.push(job);
      if (!worker && !closed) start();
      pump();
    });
  }

  try {
    await start();
  } catch (error) {
    URL.revokeObjectURL(codeUrl);
    lock?.close();
    throw error;
  }

  return {
    kind: "pglite",
    stopsAtDeadline: true,
    async query<R>(query: SqlQuery, opts: QueryOptions = {}): Promise<SqlResult<R>> {
      const maxRows = Math.min(options.limits.maxRows, opts.maxRows ?? Infinity);
      const maxBytes = Math.min(options.limits.maxBytes, opts.maxBytes ?? Infinity);
      const answer = await submit(
        (id, ms) => ({
          type: "query",
          id,
          text: query.text,
          values: query.values,
          maxRows,
          maxBytes,
          rowCap: opts.rowCap,
          timeoutMs: ms,
        }),
        opts.signal,
        opts.timeoutMs ?? options.queryTimeoutMs,
      );
      const rows = answer.rows as R[];
      return answer.truncated ? { rows, truncated: answer.truncated } : { rows };
    },
    async ping(signal?: AbortSignal): Promise<void> {
      await submit((id, ms) => ({ type: "ping", id, timeoutMs: ms }), signal, 5000);
    },
    poolStats(): PoolStats {
      const inUse = current ? 1 : 0;
      return { inUse, idle: ready && !current ? 1 : 0, waiting: queue.length };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearTimeout(expiryTimer);
      for (const job of queue.splice(0)) {
        settle(job, () => job.reject(new DatabaseError("unavailable", "The database is closed")));
      }
      // A statement still running ends by its deadline; then the worker closes
      // PGlite (a data directory is left clean) and stops.
      const w = worker;
      try {
        if (w) {
          await starting?.catch(() => {});
          while (current && worker === w) await new Promise((r) => setTimeout(r, 10));
          if (worker === w) {
            const closing = new Promise<void>((resolve) => {
              onControl = () => resolve();
              setTimeout(resolve, 5000);
            });
            w.postMessage({ type: "close", id: 0 } satisfies ToWorker);
            await closing;
          }
        }
      } finally {
        if (worker) retire(worker);
        URL.revokeObjectURL(codeUrl);
        lock?.close();
      }
    },
  };
}

/**
 * Takes `<dir>/lock` for this process: PGlite is one Postgres, and two
 * processes on one data directory would corrupt it. The OS releases the lock
 * if the process dies.
 */
async function lockDirectory(dir: string): Promise<Deno.FsFile> {
  // Asked first, so a missing grant is one clear line (and never a prompt).
  for (const name of ["read", "write"] as const) {
    if ((await Deno.permissions.query({ name, path: dir })).state !== "granted") {
      throw new Error(
        `Cannot start: PGLITE_DATA_DIR "${dir}" needs --allow-read=${dir} --allow-write=${dir}`,
      );
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  const lock = await Deno.open(`${dir}/lock`, { read: true, write: true, create: true });
  if (!await lock.tryLock(true)) {
    lock.close();
    throw new Error(
      `Cannot start: the embedded database folder "${dir}" (PGLITE_DATA_DIR) is in use by another process`,
    );
  }
  return lock;
}
