/**
 * The PostgreSQL source's connection pool: a fixed set of slots, each one
 * postgres.js client with at most one connection, lent to one call at a time,
 * or, up to `depth`, to statements known to be fast, pipelined together;
 * callers beyond it wait in one line (waiting_line.ts). Idle slots are taken
 * last-in first-out, open ones first, the pool's own before overflow ones.
 * It knows nothing of SQL: the source decides what runs on a slot, and
 * tells it which statements are known to be fast
 * (statement_timings.ts).
 *
 * @module
 */
import type postgres from "postgres";
import { createDeadlineQueue, type DeadlineQueue } from "../../timing/deadlines.ts";
import { DatabaseError, type PoolStats } from "./sql_source.ts";
import { WaitingLine } from "./waiting_line.ts";

/**
 * One connection of the pool: a postgres.js client of its own with at most
 * one connection, created on first use. Only the caller holding it sends
 * statements to it.
 */
export class Slot {
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

/** What {@linkcode createConnectionPool} takes. */
export interface ConnectionPoolOptions {
  /** Slots kept for steady load. */
  readonly coreSize: number;
  /** More slots for bursts; their connections close when idle. */
  readonly overflowSize: number;
  /** Statements one connection may carry at once when all are known to be fast (1: never shared). */
  readonly depth: number;
  /** The session's statement timeout a new connection starts with. */
  readonly startupTimeoutMs: number;
  /** Makes a slot's client (called on the slot's first use, and after `destroy()`). */
  readonly connect: (slot: Slot) => postgres.Sql;
}

/** A pool made by {@linkcode createConnectionPool}. */
export interface ConnectionPool {
  /** The app's deadline queue for this pool (waits, and the source's watchdogs). */
  readonly deadlines: DeadlineQueue;
  /**
   * Runs `work` on a slot lent to it, within `waitMs` of waiting for one
   * (else a `busy` DatabaseError), giving the slot back once the work has
   * ended. `fast`: the statement is known to be fast, so it may share a
   * connection with other such statements. `callerAnswers`: the caller
   * answers its own caller when `signal` aborts, so no race is needed here.
   */
  onSlot<R>(
    signal: AbortSignal | undefined,
    waitMs: number,
    work: (slot: Slot, deadline: number) => Promise<R>,
    fast?: boolean,
    callerAnswers?: boolean,
  ): Promise<R>;
  /** The slot the next call will be lent, when one is idle. */
  nextIdle(): Slot | undefined;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  stats(): PoolStats;
  close(): Promise<void>;
}

/** Makes the pool; no connection opens until a slot is first used. */
export function createConnectionPool(options: ConnectionPoolOptions): ConnectionPool {
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
   * Here a statement not known to be fast gets a connection of its own;
   * known-fast ones are pipelined together (see `place`); callers wait in
   * one line, first come, first served (waiting_line.ts); idle connections
   * are taken last-in first-out, open ones first, the pool's own before
   * overflow ones: the ones not needed stay unused and close. A client with
   * one connection never leaves a hole (its one idle connection is always
   * the last).
   */
  const size = options.coreSize + options.overflowSize;
  let closed = false;
  const slots = Array.from(
    { length: size },
    (_, i) => new Slot(i < options.coreSize, options.connect, options.startupTimeoutMs),
  );
  // Stacks of idle slots: the top is taken next (the first slot first, at start).
  const idleCore = slots.filter((s) => s.core).reverse();
  const idleOverflow = slots.filter((s) => !s.core).reverse();
  const deadlines = createDeadlineQueue();
  const line = new WaitingLine<boolean, Slot>(deadlines, serveWaiting);
  const depth = options.depth;

  /**
   * A slot for a statement now, or undefined when it must wait.
   *
   * A known-fast statement joins a busy connection that carries only such
   * statements, up to `depth`, before it takes an idle one: a statement that
   * costs the database little costs more in its round trip (a socket write
   * that wakes a backend, a read) than in its work, and one round trip
   * carries every statement pipelined together. (Measured at 50 callers:
   * PostgreSQL's CPU per `SELECT 1` less than half, the server's a third
   * less, against one statement per connection; docs/BENCHMARKS.md, session
   * 15.) Any other statement gets an idle connection of its own, so on a
   * connection nothing slow ever runs ahead of a fast one.
   */
  function place(fast: boolean): Slot | undefined {
    if (fast && depth > 1) {
      const shared = share();
      if (shared) return shared;
    }
    const slot = takeIdle(idleCore) ?? takeIdle(idleOverflow);
    if (!slot) return undefined;
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

  /** The open busy slot running only known-fast statements with the fewest in flight, under `depth`. */
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
    if (--slot.inFlight === 0) {
      slot.lent = false;
      (slot.core ? idleCore : idleOverflow).push(slot);
    }
    serveWaiting();
  }

  /**
   * Serves the line from its front for as long as the caller there can be
   * placed. A caller who cannot (a slow statement while every connection is
   * busy) holds up those behind it: nobody joins a busy connection ahead of
   * it, so one drains and it is served next.
   */
  function serveWaiting(): void {
    for (let ask = line.first(); ask !== undefined; ask = line.first()) {
      const slot = place(ask);
      if (!slot) return;
      line.grant(slot);
    }
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
    // Nobody is overtaken: with callers waiting, a newcomer joins the line.
    let slot = line.waiting === 0 ? place(fast) : undefined;
    if (!slot) {
      // A slot within `waitMs` (else a `busy` DatabaseError) or the signal's
      // reason. A caller that answers on abort itself needs no abort listener
      // while it waits: its turn comes within `waitMs`, and it then gives the
      // connection straight back, having sent nothing.
      slot = await line.wait(fast, callerAnswers ? undefined : signal, waitMs);
      if (callerAnswers && signal?.aborted) {
        giveBack(slot, fast);
        throw signal.reason;
      }
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

  return {
    deadlines,
    onSlot,
    nextIdle: () => idleCore.at(-1) ?? idleOverflow.at(-1),
    get closed() {
      return closed;
    },
    stats(): PoolStats {
      let inUse = 0;
      let idle = 0;
      for (const slot of slots) {
        if (slot.lent) inUse++;
        else if (slot.open) idle++;
      }
      return { inUse, idle, waiting: line.waiting };
    },
    async close(): Promise<void> {
      closed = true;
      deadlines.close();
      await Promise.all(slots.map((slot) => slot.end()));
    },
  };
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
