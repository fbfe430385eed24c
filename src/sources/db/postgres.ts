/**
 * PostgreSQL through postgres.js: a source whose every connection starts
 * read-only, with the pool's statement timeout and the literal rules the
 * statement guard parses by, and which runs a statement the way its origin
 * asks (never a flag of the tool author's):
 *
 * - SQL the server's code or its operator wrote: one extended-protocol round
 *   trip with a row limit on `Execute`, so the database stops at the cap;
 * - SQL a caller wrote: a `READ ONLY` transaction whose statement timeout is
 *   the caller's remaining deadline, read in batches that stop at the byte
 *   cap, rolled back, and the session reset after it.
 *
 * With identity settings (row-level security, `identitySettings`) every
 * statement, trusted or not, runs the second way: `BEGIN READ ONLY`, one
 * `SELECT set_config($1, $2, true), …` with names and values bound, the
 * statement, `ROLLBACK`. Transaction-local on purpose: the settings die
 * with the transaction whatever happens to the call (cancelled, timed out,
 * connection lost mid-way), so no later caller on the pooled connection
 * can ever run under this caller's identity. Session-level settings reset
 * afterwards would save the `BEGIN`, but a reset lost to a failure would
 * leak one user's identity to the next. Such statements never share a
 * connection (`pipelineDepth`), or another call's statement could land
 * inside the transaction.
 *
 * Both are watched: a connection whose steps never settle is destroyed and
 * its slot returned. The pool itself is pool.ts.
 *
 * @module
 */
import postgres from "postgres";
import { claimText } from "../../auth/principal.ts";
import { createConnectionPool, type Slot } from "./pool.ts";
import { batchSize, capRows, type ResultLimits, RowCollector } from "./result_caps.ts";
import { StatementTimings } from "./statement_timings.ts";
import {
  DatabaseError,
  databaseErrorKind,
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
   * Statements one connection may carry at once, pipelined, when every one
   * of them is a trusted statement known to be fast (default 1: never
   * shared; the server's configuration defaults to 8). See pool.ts `place`.
   */
  readonly pipelineDepth?: number;
  readonly limits: ResultLimits;
  /** More startup parameters for every connection (e.g. pgvector's `hnsw.ef_search`). */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Row-level security: setting name (`app.user_id`) → the claim of the
   * caller's verified identity it takes (`sub`). Set transaction-locally,
   * values bound, before every statement; a claim the caller lacks is the
   * empty string, so a policy comparing with it matches nothing.
   */
  readonly identitySettings?: Readonly<Record<string, string>>;
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
 * How far short of the pool's statement timeout a caller's deadline must be
 * before a trusted statement lowers its session's timeout to it.
 */
const TIMEOUT_TOLERANCE_MS = 250;

/** The probe of the database's clock around a measured statement: seconds since the epoch, to the microsecond. */
const CLOCK_SQL = "SELECT extract(epoch FROM pg_catalog.clock_timestamp())::float8 AS t";

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
  // One postgres.js client per connection, lent by our own pool: see pool.ts.
  const pool = createConnectionPool({
    coreSize: options.poolSize,
    overflowSize: options.poolMaxOverflow,
    depth: options.pipelineDepth ?? 1,
    startupTimeoutMs: Math.ceil(options.queryTimeoutMs),
    connect,
  });
  const { deadlines, onSlot } = pool;
  const timings = new StatementTimings();
  const depth = options.pipelineDepth ?? 1;
  const identitySettings = options.identitySettings ?? {};
  const identityNames = Object.keys(identitySettings);
  // Our own text, built from a count: placeholders only, never a name or a value.
  const identitySql = "SELECT " +
    identityNames.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(", ");

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
    // A connection that never opened: the slot's next use starts a fresh
    // client. postgres.js would reconnect the same one only after a backoff
    // that grows with each failure (up to 20 s), so after an outage the first
    // calls would outwait their deadline instead of finding the database back.
    else if (!slot.open) slot.destroy();
    return mapped;
  }

  /** The database's clock, read by a statement of its own on `conn` (prepared once per connection). */
  function clock(conn: Slot["client"]): Promise<number> {
    const read = conn.unsafe(CLOCK_SQL, [], PREPARED).execute() as unknown as Promise<
      { t: number }[]
    >;
    const ms = read.then((rows) => rows[0].t * 1000);
    // Its failure is the statement's (reported there), never a rejection left unhandled.
    ms.catch(() => {});
    return ms;
  }

  /** Records the time between two clock reads around a statement, once both came back. */
  function timed(text: string, before: Promise<number>, after: Promise<number>): void {
    Promise.all([before, after]).then(
      ([start, end]) => timings.record(text, end - start),
      // A lost connection or a failed statement: nothing measured.
      () => {},
    );
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
   * came back). (Not postgres.js's `reserve()`: it builds a reserved `sql`
   * instance and arms a timer per call.)
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
    // Open when sent: a connection lost now was lost under this statement.
    const wasOpen = slot.open;
    // Within the tolerance the caller is answered at its deadline anyway,
    // and the statement ends at the session's timeout a little later: not
    // worth a `SET` on every call when the tool's deadline and the pool's
    // timeout are about the same.
    const wanted = timeoutMs < slot.startupTimeoutMs - TIMEOUT_TOLERANCE_MS
      ? timeoutMs
      : slot.startupTimeoutMs;
    let set: Promise<unknown> | undefined;
    if (slot.sessionTimeoutMs !== wanted) {
      // Recorded as sent: a connection runs its statements in order, so the
      // ones pipelined behind this `SET` run under it (it fails only with
      // the connection, and a new connection starts at its startup value).
      slot.sessionTimeoutMs = wanted;
      // deno-lint-ignore sql-safety/no-sql-interpolation -- our own text, built from a number
      set = conn.unsafe(`SET statement_timeout = ${wanted}`).execute();
    }
    // Measured (when sharing is on) between two probes of the database's
    // clock pipelined around it (see statement_timings.ts); only on an open
    // connection, so a connect that fails has no more steps queued behind it.
    const before = depth > 1 && wasOpen && timings.shouldMeasure(query.text)
      ? clock(conn)
      : undefined;
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
      if (before) timed(query.text, before, clock(conn));
      if (set) {
        // Both awaited together, so the statement's failure is handled too
        // when the SET fails first (a connection that will not open).
        rows = (await Promise.all([set, statement]))[1] as unknown as R[];
      } else {
        rows = await statement as unknown as R[];
      }
    } catch (error) {
      // Whether its `SET` took is unknown now: the next statement sets it again.
      if (set) slot.sessionTimeoutMs = undefined;
      const mapped = failure(slot, error);
      // Not tried again: a statement that brought its backend down (or ran
      // into a restart or a kill) is not run twice.
      if (wasOpen && mapped.kind === "unavailable") lostMidStatement.add(mapped);
      throw mapped;
    }
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
    // Caller-written text is a one-off: kept prepared, it would stay cached on the connection.
    const extended = opts.prepare === false || opts.callerWritten ? UNPREPARED : PREPARED;
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
    const identity = identityStep(conn, opts.identity);
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
    const steps = identity
      ? [begin, identity, rowsStep, conn.unsafe("ROLLBACK").execute()]
      : [begin, rowsStep, conn.unsafe("ROLLBACK").execute()];
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
   * The statement that sets the identity settings for this transaction:
   * `SELECT set_config($1, $2, true), …`, every name and value bound.
   */
  function identityStep(
    conn: Slot["client"],
    claims: QueryOptions["identity"],
  ): Promise<unknown> | undefined {
    if (identityNames.length === 0) return undefined;
    const values: string[] = [];
    for (const name of identityNames) {
      values.push(name, claimText({ id: "", claims }, identitySettings[name]) ?? "");
    }
    return conn.unsafe(identitySql, values, PREPARED).execute();
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
          opts.callerWritten || identityNames.length > 0
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
        depth > 1 && !opts.callerWritten && identityNames.length === 0 &&
          timings.knownFast(query.text),
        opts.callerAnswersOnAbort,
      );
    },
    connect(): Promise<void> {
      if (pool.closed) {
        return Promise.reject(new DatabaseError("unavailable", "The database pool is closed"));
      }
      const slot = pool.nextIdle();
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
    poolStats: () => pool.stats(),
    close: () => pool.close(),
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
