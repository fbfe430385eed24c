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
 * on a connection lent to the call alone.
 *
 * The pool is ours: one postgres.js client per connection (see `openPostgres`
 * for why), lent under the permits of permits.ts, which also count what
 * `poolStats()` reports.
 *
 * @module
 */
import postgres from "postgres";
import { createDeadlineQueue } from "../../timing/deadlines.ts";
import { Permits } from "./permits.ts";
import { batchSize, capRows, type ResultLimits, RowCollector } from "./result_caps.ts";
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
  /**
   * Statements one connection may carry at once, when every one of them is
   * a trusted statement known to be fast and no caller waits (default 1:
   * never shared). See `share`.
   */
  readonly pipelineDepth?: number;
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
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || SYSTEM_ERROR.test(code))) {
    return new DatabaseError("unavailable", message, code, { cause: error });
  }
  // Anything else failed on our side of the wire (a value the driver could
  // not encode, a bug): a fault to log, not an outage to retry.
  return new DatabaseError("query", message, typeof code === "string" ? code : undefined, {
    cause: error,
  });
}

/** A socket error's code (`ECONNRESET`, `EPIPE`, …). */
const SYSTEM_ERROR = /^E[A-Z]+$/;

/**
 * Type handlers that pass a caller's text to PostgreSQL unchanged, so the
 * server checks it. postgres.js's own serialize a value PostgreSQL inferred
 * as a date or timestamp with `new Date(value).toISOString()`, which throws
 * inside its protocol handler on an impossible date (the pipelined steps
 * then never settle) and silently turns `2024-02-30` into `2024-03-01`; and
 * a boolean as `value === true ? "t" : "f"`, so `"yes"` became false.
 */
const STRICT_TYPES = {
  date: {
    to: 1184,
    from: [1082, 1114, 1184],
    serialize: (x: unknown) =>
      x instanceof Date ? (Number.isNaN(x.getTime()) ? "invalid" : x.toISOString()) : String(x),
    parse: (x: string) => new Date(x),
  },
  boolean: {
    to: 16,
    from: [16],
    serialize: (x: unknown) => typeof x === "boolean" ? (x ? "t" : "f") : String(x),
    parse: (x: string) => x === "t",
  },
};

/**
 * What the session is reset with after SQL a caller wrote, before anyone
 * else gets its connection: `DISCARD ALL` without `DEALLOCATE ALL` (the
 * driver keeps its own prepared statements on the connection). `RESET ALL`
 * returns every setting to the connection's startup values (read-only
 * default, statement timeout, `standard_conforming_strings`).
 */
const RESET_SESSION = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; " +
  "SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES";

/**
 * How long past its statement timeout a call's steps may stay unsettled
 * before the watchdog destroys the connection: a server that answers stops
 * the statement at the timeout, so only a lost or wedged connection (or a
 * driver that never settles) gets here.
 */
export const WATCHDOG_MARGIN_MS = 2_000;

/**
 * One connection of the pool: a postgres.js client of its own with at most
 * one connection, created on first use. Only the caller holding it sends
 * statements to it.
 */
class Slot {
  #client: postgres.Sql | undefined;
  /** Its connection answered a statement and has not closed since. */
  open = false;
  /** Lent to a call now. */
  lent = false;
  /** Statements out on it now, and how many of them are not known to be fast. */
  inFlight = 0;
  slowAhead = 0;
  /**
   * The session's `statement_timeout` as this pool last set it; undefined
   * when unknown (a statement setting it failed). A new connection starts
   * at the pool's own (its startup parameter).
   */
  sessionTimeoutMs: number | undefined;

  constructor(
    /** Kept open for steady load (the first `poolSize`), or an overflow one. */
    readonly core: boolean,
    private readonly connect: (slot: Slot) => postgres.Sql,
    readonly startupTimeoutMs: number,
  ) {
    this.sessionTimeoutMs = startupTimeoutMs;
  }

  get client(): postgres.Sql {
    return this.#client ??= this.connect(this);
  }

  async end(): Promise<void> {
    await this.#client?.end({ timeout: 5 });
    this.open = false;
  }

  /**
   * Drops the connection at once (its unsettled steps fail) and gives the
   * slot a fresh client for its next use.
   */
  destroy(): void {
    const client = this.#client;
    this.#client = undefined;
    this.open = false;
    this.sessionTimeoutMs = this.startupTimeoutMs;
    client?.end({ timeout: 0 }).catch(() => {});
  }
}

/** Below this average time alone on a connection, a trusted statement may share one. */
export const FAST_STATEMENT_MS = 5;

/**
 * How far short of the pool's statement timeout a caller's deadline must be
 * before a trusted statement lowers its session's timeout to it.
 */
const TIMEOUT_TOLERANCE_MS = 250;

/** Options of a statement: extended protocol, so never two statements. */
const PREPARED = { prepare: true, simple: false } as postgres.UnsafeQueryOptions;
const UNPREPARED = { prepare: false, simple: false } as postgres.UnsafeQueryOptions;

/** The PostgreSQL source: a {@linkcode SqlSource} that can open its first connection early. */
export interface PostgresSource extends SqlSource {
  /**
   * Opens the connection the next call will take, and checks that it
   * answers, without holding it (the server calls this at start). A call
   * that comes meanwhile takes that same connection, its statement queued
   * behind the check, instead of opening a second one beside it: at start
   * that was ~7 ms of the first call (two backends starting at once on two
   * cores, each connection also fetching its array types).
   */
  connect(): Promise<void>;
}

/** Opens the pool (lazily: nothing connects until the first query or `connect()`). */
export function openPostgres(options: PostgresOptions): PostgresSource {
  const size = options.poolSize + options.poolMaxOverflow;
  let closed = false;

  const connect = (slot: Slot) =>
    postgres(options.url, {
      max: 1,
      // The pool's own connections stay for steady load; overflow ones close
      // when idle. (An idle timeout also costs a timer re-armed per statement.)
      idle_timeout: slot.core ? 0 : options.idleTimeoutSeconds,
      max_lifetime: options.recycleSeconds > 0 ? options.recycleSeconds : null,
      connect_timeout: options.connectTimeoutSeconds,
      prepare: true,
      // Keep the default fetch_types (a catalog query per new connection):
      // array columns are parsed with the types it fetches.
      // Startup parameters: the session itself is read-only and time-limited,
      // beneath the per-transaction settings.
      connection: {
        ...options.settings,
        application_name: "mcp-tool-server",
        default_transaction_read_only: true,
        statement_timeout: Math.ceil(options.queryTimeoutMs),
        // The statement guard's parser reads string literals this way; a
        // database set to `off` would read the same text differently.
        standard_conforming_strings: "on",
      },
      types: STRICT_TYPES,
      // Notices would go to the console; nothing a caller needs.
      onnotice: () => {},
      // Every close: idle timeout, lifetime, server gone, failed connect.
      onclose: () => {
        slot.open = false;
        // postgres.js reconnects in the same client: a new session, with the
        // startup parameters again.
        slot.sessionTimeoutMs = slot.startupTimeoutMs;
      },
    });

  /**
   * Why one client per connection, and not one postgres.js pool of `size`:
   * - postgres.js 3.4.9 sends a query to an idle connection, else opens one,
   *   else pipelines it behind another on a busy one, where one slow
   *   statement holds up everything queued after it;
   * - its idle queue is FIFO, so under steady load every connection a burst
   *   opened stays in use and none ever reaches its idle timeout;
   * - and that queue leaks: taking a connection leaves a hole at its front,
   *   cleared only when the last idle connection is taken, and finding a
   *   connection there is a scan over every hole. With more connections open
   *   than statements in flight (after any burst), each statement adds a
   *   hole and costs more than the last: `SELECT 1` at three callers went
   *   from 17.5k to 7.2k calls/s in 80 s here.
   * Here the permits (permits.ts) keep statements out at no more than the
   * connections, each goes to a connection of its own (unless
   * `pipelineDepth` lets known-fast ones share: see `share`), and idle
   * connections are taken last-in first-out, open ones first, the pool's own
   * before overflow ones: the ones not needed stay unused and close. A client with one connection
   * never leaves a hole (its one idle connection is always the last).
   */
  const slots = Array.from(
    { length: size },
    (_, i) => new Slot(i < options.poolSize, connect, Math.ceil(options.queryTimeoutMs)),
  );
  // Stacks of idle slots: the top is taken next (the first slot first, at start).
  const idleCore = slots.filter((s) => s.core).reverse();
  const idleOverflow = slots.filter((s) => !s.core).reverse();
  const deadlines = createDeadlineQueue();
  const permits = new Permits(size, deadlines);
  const depth = options.pipelineDepth ?? 1;

  /**
   * A slot for a caller who holds a permit (so one is idle): the most recently
   * used one with an open connection, so a connection the server closed while
   * idle is not reopened while another is ready.
   */
  function lend(fast: boolean): Slot {
    const slot = takeIdle(idleCore) ?? takeIdle(idleOverflow)!;
    slot.lent = true;
    slot.inFlight = 1;
    slot.slowAhead = fast ? 0 : 1;
    return slot;
  }

  function takeIdle(stack: Slot[]): Slot | undefined {
    const top = stack.length - 1;
    if (top < 0 || stack[top].open) return stack.pop();
    for (let i = top - 1; i >= 0; i--) {
      if (stack[i].open) return stack.splice(i, 1)[0];
    }
    return stack.pop();
  }

  /**
   * Sharing a busy connection (`DB_PIPELINE_DEPTH` above 1), for a trusted
   * statement known to be fast, when every slot is busy and nobody waits for
   * one. postgres.js pipelines on a busy connection, so whatever runs there
   * first delays what follows: hence only behind known-fast statements, and
   * while a caller waits (for a slow statement, or because all slots are
   * full) nothing joins a busy slot, so slots drain and waiters are served
   * first come, first served. Letting any statement share (fewest in flight
   * first, up to 4) took `SELECT 1` from 27 to 153 ms at p99 beside
   * `get_top_customers` traffic. This way, at 50 callers on 15 connections:
   * `SELECT 1` alone +8–12% calls/s, the primary-key lookup +5%; beside
   * `get_top_customers`, `SELECT 1` −11% and +5 ms at p99. So it is off by
   * default: for pools that serve small statements only.
   */
  function share(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of slots) {
      if (slot.lent && slot.open && slot.slowAhead === 0 && slot.inFlight < depth) {
        if (!best || slot.inFlight < best.inFlight) best = slot;
      }
    }
    if (best) best.inFlight++;
    return best;
  }

  function giveBack(slot: Slot, fast: boolean): void {
    if (!fast) slot.slowAhead--;
    if (--slot.inFlight > 0) return;
    slot.lent = false;
    (slot.core ? idleCore : idleOverflow).push(slot);
    permits.release();
  }

  /**
   * Per statement text, a moving average of its time from send to answer
   * when it ran alone on its connection, and how often that was measured. A
   * statement is known to be fast after 20 such runs averaging under
   * {@linkcode FAST_STATEMENT_MS}. (Bounded: past 1,000 texts it starts over.)
   */
  const timings = new Map<string, { ms: number; runs: number }>();
  function knownFast(text: string): boolean {
    const timing = timings.get(text);
    return timing !== undefined && timing.runs >= 20 && timing.ms < FAST_STATEMENT_MS;
  }
  function learn(text: string, ms: number): void {
    let timing = timings.get(text);
    if (!timing) {
      if (timings.size >= 1000) timings.clear();
      timings.set(text, timing = { ms, runs: 0 });
    }
    timing.ms += (ms - timing.ms) / 8;
    timing.runs++;
  }

  /** Runs `work` on a slot, giving it back once the work has ended. */
  async function onSlot<R>(
    signal: AbortSignal | undefined,
    waitMs: number,
    work: (slot: Slot, deadline: number) => Promise<R>,
    fast = false,
    callerAnswers = false,
  ): Promise<R> {
    // After close(), a slot never used would open a connection of its own.
    if (closed) throw new DatabaseError("unavailable", "The database pool is closed");
    const deadline = performance.now() + waitMs;
    let slot = fast && depth > 1 && permits.waiting === 0 &&
        idleCore.length + idleOverflow.length === 0
      ? share()
      : undefined;
    if (!slot) {
      // A slot within `waitMs` (else a `busy` DatabaseError) or the signal's
      // reason; nothing to await when one is idle and nobody waits before us.
      // A caller that answers on abort itself needs no abort listener while it
      // waits: its turn comes within `waitMs`, and it then gives the
      // connection straight back, having sent nothing.
      const waited = permits.acquire(callerAnswers ? undefined : signal, waitMs);
      if (waited) {
        await waited;
        if (callerAnswers && signal?.aborted) {
          permits.release();
          throw signal.reason;
        }
      }
      slot = lend(fast);
    }
    const lent = slot;
    // Awaited here rather than through `running` below: one async frame
    // fewer per statement on the common path.
    if (!signal || callerAnswers) {
      try {
        return await work(lent, deadline);
      } finally {
        giveBack(lent, fast);
      }
    }
    const running = (async () => {
      try {
        return await work(lent, deadline);
      } finally {
        giveBack(lent, fast);
      }
    })();
    // A caller that gives up (deadline, client gone) is answered now; the
    // work ends (bounded by the statement timeout) before its slot is back.
    running.catch(() => {});
    return await abortable(running, signal);
  }

  /** Marks the slot open when its statement reached the server, and maps failures. */
  async function answered<T>(slot: Slot, statement: Promise<T>): Promise<T> {
    try {
      const result = await statement;
      slot.open = true;
      return result;
    } catch (error) {
      throw failure(slot, error);
    }
  }

  /** A statement's failure as a DatabaseError; one the server answered means it is open. */
  function failure(slot: Slot, error: unknown): DatabaseError {
    const mapped = classifyPostgresError(error);
    if (mapped.kind !== "unavailable") slot.open = true;
    return mapped;
  }

  /**
   * SQL the server's code or its operator wrote: one statement on the slot's
   * connection, as one extended-protocol round trip (Parse/Bind/Execute/Sync,
   * prepared once per connection). Its session is read-only and carries the
   * pool's statement timeout, so no `BEGIN`, `SET` or cursor is needed; only
   * when the caller's deadline is well short of that timeout is the
   * session's lowered (one `SET`, sent with the statement), and raised again
   * by the next statement that needs it. The row limit rides on the protocol's
   * `Execute`, so the database stops one row past the cap; the text is trusted
   * not to make rows wider than its data (the byte cap is applied to what
   * came back). (A lent connection
   * per call through postgres.js's `reserve()` cost ~10 µs of CPU per call
   * for building a reserved `sql` instance and arming a timer.)
   */
  async function trustedOnce<R>(
    slot: Slot,
    query: SqlQuery,
    opts: QueryOptions,
    limits: ResultLimits,
    timeoutMs: number,
  ): Promise<SqlResult<R>> {
    let rows: R[];
    const conn = slot.client;
    // Within the tolerance the caller is answered at its deadline anyway,
    // and the statement ends at the session's timeout a little later: not
    // worth a `SET` on every call when the tool's deadline and the pool's
    // timeout are about the same.
    const wanted = timeoutMs < slot.startupTimeoutMs - TIMEOUT_TOLERANCE_MS
      ? timeoutMs
      : slot.startupTimeoutMs;
    let set: Promise<unknown> | undefined;
    if (slot.sessionTimeoutMs !== wanted) {
      slot.sessionTimeoutMs = undefined;
      // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
      set = conn.unsafe(`SET statement_timeout = ${wanted}`).execute();
    }
    // Its own time, learnt only when sharing is on: nothing ahead of it, and
    // no connect (a new connection's first statement also waits for it).
    const alone = depth > 1 && slot.inFlight === 1 && slot.open;
    const sent = performance.now();
    try {
      const statement = conn.unsafe(
        query.text,
        query.values as postgres.ParameterOrJSON<never>[],
        {
          prepare: opts.prepare !== false,
          simple: false,
          // The server stops one row past the cap (our postgres.js patch:
          // vendor/postgres/PATCHES.md), so a statement without a LIMIT of
          // its own is not produced whole to be cut here.
          maxRows: limits.maxRows + 1,
        } as postgres.UnsafeQueryOptions,
      ).execute();
      if (set) {
        // Both awaited together, so the statement's failure is handled too
        // when the SET fails first (a connection that will not open).
        rows = (await Promise.all([set, statement]))[1] as unknown as R[];
        slot.sessionTimeoutMs = wanted;
      } else {
        rows = await statement as unknown as R[];
      }
    } catch (error) {
      throw failure(slot, error);
    }
    if (alone) learn(query.text, performance.now() - sent);
    slot.open = true;
    return capRows(rows, limits);
  }

  /** `trustedOnce`, and once more on a stale connection (see `againIfStale`; inlined: the hot path). */
  async function trusted<R>(
    slot: Slot,
    query: SqlQuery,
    opts: QueryOptions,
    limits: ResultLimits,
    timeoutMs: number,
    deadline: number,
  ): Promise<SqlResult<R>> {
    try {
      return await trustedOnce<R>(slot, query, opts, limits, timeoutMs);
    } catch (error) {
      if (!isStale(error, deadline)) throw error;
      return await trustedOnce<R>(slot, query, opts, limits, timeoutMs);
    }
  }

  /**
   * The statement in its own `READ ONLY` transaction, ended by `ROLLBACK`
   * (a read-only transaction has nothing to commit, and functions with side
   * effects, such as large objects, are undone). `BEGIN` and the statement
   * are sent at once; the rows come back in batches (the extended
   * protocol's row count on `Execute`, which suspends the portal), each
   * sized from the bytes left under the cap, and the portal is closed as
   * soon as the caps are reached, so the database stops early and the
   * result never holds much more than its byte cap. This works for any
   * statement that returns rows, so nothing here guesses from its text.
   * After SQL a caller wrote, the session is reset before anyone else gets
   * the connection.
   */
  async function inTransaction<R>(
    slot: Slot,
    query: SqlQuery,
    opts: QueryOptions,
    limits: ResultLimits,
    timeoutMs: number,
  ): Promise<SqlResult<R>> {
    const conn = slot.client;
    // Never the simple protocol for the tool's text: it would run "a; b" as
    // two statements. (`simple` is honoured by postgres.js, missing from its types.)
    const extended = opts.prepare === false ? UNPREPARED : PREPARED;
    const values = query.values as postgres.ParameterOrJSON<never>[];
    // Our own text, built from a number: the one simple-protocol message.
    // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
    const begin = conn.unsafe(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${timeoutMs}`)
      .execute();
    // On a connection not known to be open, the rest waits until it is:
    // steps queued behind a failed connect would each try to connect again,
    // with postgres.js's backoff growing each time (~20 s for four steps).
    if (!slot.open) await answered(slot, begin);
    const collector = new RowCollector<R>(limits);
    const rowCap = opts.rowCap;
    const statement = conn.unsafe(query.text, values, extended);
    // postgres.js sends each next `Execute` with the query's `cursorRows`,
    // read when the previous batch has been handed over: set here, it sizes
    // the next batch.
    const batches = statement as unknown as { cursorRows: number };
    let handed: unknown;
    const take = (rows: readonly unknown[]) => {
      handed = rows;
      for (const row of rows) {
        if (!collector.add(row as R)) return conn.CLOSE;
      }
      batches.cursorRows = batchSize(limits, collector, rowCap);
    };
    const rowsStep =
      (statement.cursor(batchSize(limits, collector, rowCap), take) as unknown as Promise<
        readonly unknown[]
      >)
        // postgres.js hands over the last batch only when its command tag
        // counts rows (`SELECT n`): a `SHOW` or `EXPLAIN` batch arrives here.
        .then((last) => {
          if (last !== handed) take(last);
        });
    const steps = [begin, rowsStep, conn.unsafe("ROLLBACK").execute()];
    if (opts.callerWritten) steps.push(conn.unsafe(RESET_SESSION).execute());
    // The work always runs to its end. The statement timeout is the call's
    // remaining deadline, so the server itself cancels a statement at the
    // deadline. (No client-side cancel: postgres.js 3.4.9 mishandles
    // cancelling a pipelined query that has not started.)
    const settled = await Promise.allSettled(steps);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) {
      // A session that could not be reset is not lent again.
      if (opts.callerWritten && settled.at(-1)!.status === "rejected") slot.destroy();
      const error = failure(slot, (failed as PromiseRejectedResult).reason);
      // The connection was there when the statement started: it was lost
      // while the statement ran (killed, server gone), not stale before it.
      if (settled[0].status === "fulfilled") lostMidStatement.add(error);
      throw error;
    }
    slot.open = true;
    // RESET ALL put the session's timeout back to its startup value.
    if (opts.callerWritten) slot.sessionTimeoutMs = slot.startupTimeoutMs;
    return collector.truncated
      ? { rows: collector.rows, truncated: collector.truncated }
      : { rows: collector.rows };
  }

  /**
   * `work` on `slot`, bounded by a watchdog: steps still unsettled
   * {@linkcode WATCHDOG_MARGIN_MS} past the statement timeout (and the
   * connect timeout, on a connection not yet open) mean a connection that
   * will not answer, or a driver that will never settle them. The connection
   * is destroyed, so the slot comes back instead of leaking, and the call
   * fails as `unavailable`.
   */
  function watched<T>(slot: Slot, timeoutMs: number, work: Promise<T>): Promise<T> {
    const limit = timeoutMs + WATCHDOG_MARGIN_MS +
      (slot.open ? 0 : options.connectTimeoutSeconds * 1000);
    return new Promise<T>((resolve, reject) => {
      const watchdog = deadlines.add(limit, () => {
        slot.destroy();
        reject(
          new DatabaseError(
            "unavailable",
            `The database connection did not settle within ${limit} ms; it was closed`,
          ),
        );
      });
      work.then(
        (value) => {
          deadlines.cancel(watchdog);
          resolve(value);
        },
        (error) => {
          deadlines.cancel(watchdog);
          reject(error);
        },
      );
    });
  }

  return {
    kind: "postgres",
    stopsAtDeadline: true,
    query<R>(query: SqlQuery, opts: QueryOptions = {}): Promise<SqlResult<R>> {
      const signal = opts.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
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
      // The text ends where a NUL starts in the protocol's strings: the
      // server would read a cut statement and then fail the connection.
      if (query.text.includes("\0")) {
        return Promise.reject(
          new DatabaseError("query", "The SQL text contains a NUL character", "22021"),
        );
      }
      // Read-only either way, so running it again on a fresh connection is safe.
      return onSlot(
        signal,
        waitMs,
        (slot, deadline) =>
          opts.callerWritten
            ? againIfStale(
              deadline,
              () =>
                watched(slot, timeoutMs, inTransaction<R>(slot, query, opts, limits, timeoutMs)),
            )
            : watched(
              slot,
              Math.max(timeoutMs, slot.sessionTimeoutMs ?? options.queryTimeoutMs),
              trusted<R>(slot, query, opts, limits, timeoutMs, deadline),
            ),
        depth > 1 && !opts.callerWritten && knownFast(query.text),
        opts.callerAnswersOnAbort,
      );
    },
    connect(): Promise<void> {
      if (closed) {
        return Promise.reject(new DatabaseError("unavailable", "The database pool is closed"));
      }
      // The top of the idle stack is the slot the next call is lent.
      const slot = idleCore.at(-1) ?? idleOverflow.at(-1);
      if (!slot) return this.ping();
      return answered(slot, slot.client.unsafe("SELECT 1")).then(() => {});
    },
    ping(signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const timeoutMs = options.connectTimeoutSeconds * 1000;
      return onSlot(signal, timeoutMs, async (slot) => {
        await watched(slot, timeoutMs, answered(slot, slot.client.unsafe("SELECT 1")));
      });
    },
    poolStats(): PoolStats {
      let inUse = 0;
      let idle = 0;
      for (const slot of slots) {
        if (slot.lent) inUse++;
        else if (slot.open) idle++;
      }
      return { inUse, idle, waiting: permits.waiting };
    },
    async close(): Promise<void> {
      closed = true;
      deadlines.close();
      await Promise.all(slots.map((slot) => slot.end()));
    },
  };
}

/**
 * Runs `attempt`, and once more when it fails as `unavailable` before
 * `deadline`: after a connection is terminated, postgres.js 3.4.9 fails the
 * next use of that client once with the old termination error. Callers retry
 * only what is safe to repeat.
 */
async function againIfStale<T>(deadline: number, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (!isStale(error, deadline)) throw error;
    return await attempt();
  }
}

/** A failure worth one more try: the connection was gone, and time is left. */
function isStale(error: unknown, deadline: number): boolean {
  return error instanceof DatabaseError && error.kind === "unavailable" &&
    !lostMidStatement.has(error) && deadline - performance.now() >= 1;
}

/**
 * Failures of a connection lost while its statement ran: not tried again, so
 * a statement that brought its backend down (or ran into a restart) is not
 * run twice.
 */
const lostMidStatement = new WeakSet<DatabaseError>();

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
