/**
 * PostgreSQL through postgres.js: a pool whose every connection starts
 * read-only, and a query path that runs each statement in its own
 * `READ ONLY` transaction whose statement timeout is the caller's remaining
 * deadline (so the server itself stops it then), and caps what it returns.
 *
 * One round trip: `BEGIN READ ONLY; SET LOCAL statement_timeout` (one
 * simple-protocol message of our own text), the tool's statement (extended
 * protocol, so it can never be two statements; read through a cursor when it
 * returns rows, so caps stop the database early) and `COMMIT` are pipelined
 * on a reserved connection.
 *
 * Every use of the pool goes through `reserve()`, which also keeps the
 * counts behind `poolStats()` (postgres.js 3.4.9 keeps its own queues
 * private): callers waiting and connections lent are counted as they happen;
 * idle is the open connections not lent, and which connections are open is
 * learnt from connection ids (see `identify`).
 *
 * @module
 */
import postgres from "postgres";
import { createDeadlineQueue, type Deadline } from "../../timing/deadlines.ts";
import { Permits } from "./permits.ts";
import { fetchCount, isRowStatement, type ResultLimits, RowCollector } from "./result_caps.ts";
import {
  DatabaseError,
  databaseErrorKind,
  type PoolStats,
  type QueryOptions,
  type SqlQuery,
  type SqlResult,
  type SqlSource,
} from "./sql_source.ts";

/** How to reach and pool the database. */
export interface PostgresOptions {
  readonly url: string;
  /** Connections kept for steady load. */
  readonly poolSize: number;
  /** Extra connections allowed under bursts; they close again after `idleTimeoutSeconds`. */
  readonly poolMaxOverflow: number;
  /** Connections are replaced after this many seconds (0: never). */
  readonly recycleSeconds: number;
  readonly idleTimeoutSeconds: number;
  readonly connectTimeoutSeconds: number;
  /** Server-side statement timeout, the ceiling for every query. */
  readonly queryTimeoutMs: number;
  readonly limits: ResultLimits;
  /** More startup parameters for every connection (e.g. pgvector's `hnsw.ef_search`). */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

/** postgres.js's own codes for a broken or refused connection, and socket errors. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "EPIPE",
]);

/** Maps a postgres.js failure to a {@linkcode DatabaseError}. */
export function classifyPostgresError(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof postgres.PostgresError) {
    return new DatabaseError(databaseErrorKind(error.code, message), message, error.code, {
      cause: error,
    });
  }
  if (typeof code === "string" && CONNECTION_CODES.has(code)) {
    return new DatabaseError("unavailable", message, code, { cause: error });
  }
  return new DatabaseError("unavailable", message, typeof code === "string" ? code : undefined, {
    cause: error,
  });
}

/** One reserved connection, lent to one query or ping. */
interface Lease {
  readonly conn: postgres.ReservedSql;
  /** Its connection's id, once its first statement is sent. */
  id?: number;
}

/** Opens the pool (lazily: nothing connects until the first query). */
export function openPostgres(options: PostgresOptions): SqlSource {
  /** Ids of the connections known to be open, and those lent out now. */
  const open = new Set<number>();
  // What holds each lent connection: a reserved lease, or a `direct` statement in flight.
  const lent = new Map<number, object>();
  let inUse = 0;
  let waiting = 0;

  const client = postgres(options.url, {
    max: options.poolSize + options.poolMaxOverflow,
    idle_timeout: options.idleTimeoutSeconds,
    max_lifetime: options.recycleSeconds > 0 ? options.recycleSeconds : null,
    connect_timeout: options.connectTimeoutSeconds,
    prepare: true,
    // Keep the default fetch_types: with `fetch_types: false`, postgres.js
    // 3.4.9's reserve() never resolves.
    // Startup parameters: the session itself is read-only and time-limited,
    // beneath the per-transaction settings.
    connection: {
      ...options.settings,
      application_name: "mcp-tool-server",
      default_transaction_read_only: true,
      statement_timeout: Math.ceil(options.queryTimeoutMs),
    },
    // Notices would go to the console; nothing a caller needs.
    onnotice: () => {},
    // Every close (idle timeout, lifetime, server gone, failed connect) names
    // the connection; an id never seen open is a failed connect.
    onclose: (id) => open.delete(id),
  });

  // Never more statements out than connections (see permits.ts): postgres.js
  // then always has a free connection and never pipelines one behind another.
  const deadlines = createDeadlineQueue();
  const permits = new Permits(options.poolSize + options.poolMaxOverflow, deadlines);

  /**
   * Options for a lease's first statement that learn its connection's id:
   * postgres.js passes the connection (whose `id` its `onclose` reports) to a
   * query's `onexecute` hook when it sends the query, the hook its own
   * `begin()` uses (3.4.9; not in its types). The hook's result means "the
   * connection can take more", so it must be true.
   */
  function identify(lease: { id?: number }): postgres.UnsafeQueryOptions {
    const onexecute = (connection: { id: number }) => {
      lease.id = connection.id;
      open.add(connection.id);
      lent.set(connection.id, lease);
      return true;
    };
    return { onexecute } as postgres.UnsafeQueryOptions;
  }

  /** Ends a lease; a lost connection is not released (see `query`). */
  function giveBack(lease: Lease, connectionLost: boolean): void {
    inUse--;
    if (lease.id !== undefined && lent.get(lease.id) === lease) lent.delete(lease.id);
    if (!connectionLost) lease.conn.release();
    permits.release();
  }

  /**
   * Waits for a connection until `waitMs`, the caller's signal, or a
   * connection error. Nothing has run yet when reserving fails, so a second
   * try is safe (see `againIfStale`).
   */
  async function reserve(signal: AbortSignal | undefined, waitMs: number): Promise<Lease> {
    const deadline = performance.now() + waitMs;
    const waited = permits.acquire(signal, waitMs);
    if (waited) await waited;
    try {
      return await againIfStale(deadline, (left) => reserveOnce(signal, left));
    } catch (error) {
      permits.release();
      throw error;
    }
  }

  async function reserveOnce(signal: AbortSignal | undefined, waitMs: number): Promise<Lease> {
    waiting++;
    const reserving = client.reserve();
    let timer: Deadline | undefined;
    let onAbort: (() => void) | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      // On the shared deadline queue: a timer of its own per call costs ~10 µs.
      timer = deadlines.add(
        waitMs,
        () =>
          reject(new DatabaseError("busy", `No connection free within ${Math.round(waitMs)} ms`)),
      );
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const conn = await Promise.race([reserving, gaveUp]);
      // Counted lent in the same step that stops counting it waiting.
      inUse++;
      return { conn };
    } catch (error) {
      // A connection that arrives after we gave up goes straight back. (Its
      // id stays unknown, so idle misses it until it is next lent.)
      reserving.then((r) => r.release(), () => {});
      throw error instanceof DatabaseError || signal?.aborted
        ? error
        : classifyPostgresError(error);
    } finally {
      waiting--;
      if (timer) deadlines.cancel(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The `direct` path: one prepared statement sent to the pool, under a
   * permit (so it always finds a free connection: see permits.ts), on
   * connections that are read-only for the session. Once a lent connection
   * per call (`reserve()`): that cost ~10 µs of CPU per call for building a
   * reserved `sql` instance and arming a timer; before that, the pool
   * without permits pipelined statements behind slow ones
   * (`get_top_customers` p99 244 ms, now ~90 ms).
   */
  async function direct<R>(
    query: SqlQuery,
    opts: QueryOptions,
    limits: ResultLimits,
    signal: AbortSignal | undefined,
    waitMs: number,
  ): Promise<SqlResult<R>> {
    const deadline = performance.now() + waitMs;
    const waited = permits.acquire(signal, waitMs);
    if (waited) await waited;
    inUse++;
    const work = (async () => {
      try {
        // The statement is read-only, so running it again is safe.
        return await againIfStale(deadline, () => directOnce<R>(query, opts, limits));
      } finally {
        inUse--;
        permits.release();
      }
    })();
    if (!signal) return await work;
    // A caller that gives up is answered now; the statement finishes (bounded
    // by the session's statement_timeout) before its permit is given back.
    work.catch(() => {});
    return await abortable(work, signal);
  }

  async function directOnce<R>(
    query: SqlQuery,
    opts: QueryOptions,
    limits: ResultLimits,
  ): Promise<SqlResult<R>> {
    // Learns the connection's id, so `poolStats` counts it lent.
    const lease: { id?: number } = {};
    const options = {
      ...identify(lease),
      prepare: opts.prepare ?? true,
      simple: false,
    } as postgres.UnsafeQueryOptions;
    try {
      const rows = await client.unsafe(
        query.text,
        query.values as postgres.ParameterOrJSON<never>[],
        options,
      ) as unknown as R[];
      const collector = new RowCollector<R>(limits);
      for (const row of rows) if (!collector.add(row)) break;
      return collector.truncated
        ? { rows: collector.rows, truncated: collector.truncated }
        : { rows: collector.rows };
    } catch (error) {
      throw classifyPostgresError(error);
    } finally {
      if (lease.id !== undefined && lent.get(lease.id) === lease) lent.delete(lease.id);
    }
  }

  return {
    kind: "postgres",
    stopsAtDeadline: true,
    async query<R>(query: SqlQuery, opts: QueryOptions = {}): Promise<SqlResult<R>> {
      const signal = opts.signal;
      signal?.throwIfAborted();
      const timeoutMs = Math.max(
        1,
        Math.ceil(Math.min(options.queryTimeoutMs, opts.timeoutMs ?? Infinity)),
      );
      const limits = {
        maxRows: Math.min(options.limits.maxRows, opts.maxRows ?? Infinity),
        maxBytes: Math.min(options.limits.maxBytes, opts.maxBytes ?? Infinity),
      };
      // Waiting for a connection stops a little before the deadline, so the
      // caller hears "busy" (503) rather than a bare deadline (504).
      const waitMs = Math.max(1, timeoutMs - Math.min(250, timeoutMs * 0.1));
      if (opts.direct) return await direct<R>(query, opts, limits, signal, waitMs);
      const lease = await reserve(signal, waitMs);
      const conn = lease.conn;
      // Never the simple protocol for the tool's text: it would run "a; b" as
      // two statements. (`simple` is honoured by postgres.js, missing from its types.)
      const extended = {
        prepare: opts.prepare ?? true,
        simple: false,
      } as postgres.UnsafeQueryOptions;
      const values = query.values as postgres.ParameterOrJSON<never>[];
      const identifying = identify(lease);
      const fetch = fetchCount(limits.maxRows);
      // All steps are sent at once (postgres.js pipelines on one connection):
      // one round trip. Each step has its own Sync, so after a failure the
      // COMMIT ends the aborted transaction as a rollback.
      const steps = [
        // Our own text, built from a number: the one simple-protocol message.
        // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
        conn.unsafe(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${timeoutMs}`, [], identifying)
          .execute(),
      ];
      let rowsStep;
      if (isRowStatement(query.text)) {
        steps.push(
          // deno-lint-ignore sql-safety/no-sql-interpolation -- wraps the caller's parameterized text; its values stay bound
          conn.unsafe(`DECLARE mcp_rows NO SCROLL CURSOR FOR ${query.text}`, values, extended)
            .execute(),
        );
        // Simple protocol on purpose: postgres.js caches a prepared statement's
        // columns by its text, and this same text returns different columns
        // for each cursor. (Our own text, built from a number.)
        // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
        rowsStep = conn.unsafe(`FETCH FORWARD ${fetch} FROM mcp_rows`).execute();
      } else {
        rowsStep = conn.unsafe(query.text, values, extended).execute();
      }
      steps.push(rowsStep, conn.unsafe("COMMIT").execute());
      // The work always runs to its end and then returns the connection. The
      // statement timeout is the call's remaining deadline, so the server
      // itself cancels a statement at the deadline. (No client-side cancel:
      // postgres.js 3.4.9 mishandles cancelling a pipelined query that has
      // not started, and the connection is never released.)
      const work = (async () => {
        let connectionLost = false;
        try {
          const settled = await Promise.allSettled(steps);
          const failed = settled.find((s) => s.status === "rejected");
          if (failed) throw (failed as PromiseRejectedResult).reason;
          const collector = new RowCollector<R>(limits);
          for (const row of await rowsStep as unknown as R[]) if (!collector.add(row)) break;
          return collector.truncated
            ? { rows: collector.rows, truncated: collector.truncated }
            : { rows: collector.rows };
        } catch (error) {
          const failure = classifyPostgresError(error);
          connectionLost = failure.kind === "unavailable";
          throw failure;
        } finally {
          // A lost connection is already back in postgres.js's closed set;
          // releasing it would reopen a dead socket in the pool, and the next
          // write to it throws from a timer (uncaught: fatal to Deno).
          giveBack(lease, connectionLost);
        }
      })();
      if (!signal) return await work;
      // A caller that gives up (deadline, client gone) is answered now.
      work.catch(() => {});
      return await abortable(work, signal);
    },
    async ping(signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
      const lease = await reserve(signal, options.connectTimeoutSeconds * 1000);
      try {
        await lease.conn.unsafe("SELECT 1", [], identify(lease));
      } catch (error) {
        throw classifyPostgresError(error);
      } finally {
        giveBack(lease, false);
      }
    },
    poolStats(): PoolStats {
      let idle = 0;
      for (const id of open) if (!lent.has(id)) idle++;
      return { inUse, idle, waiting: waiting + permits.waiting };
    },
    async close(): Promise<void> {
      deadlines.close();
      await client.end({ timeout: 5 });
    },
  };
}

/**
 * Runs `attempt` with the milliseconds left until `deadline`, and once more
 * when it fails as `unavailable` with time still left: after a connection is
 * terminated, postgres.js 3.4.9 fails the next use of that pool slot once
 * with the old termination error. Callers retry only what is safe to repeat.
 */
async function againIfStale<T>(
  deadline: number,
  attempt: (leftMs: number) => Promise<T>,
): Promise<T> {
  try {
    return await attempt(Math.max(1, deadline - performance.now()));
  } catch (error) {
    const left = deadline - performance.now();
    if (!(error instanceof DatabaseError) || error.kind !== "unavailable" || left < 1) {
      throw error;
    }
    return await attempt(left);
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
