/**
 * A deadline that really stops a statement running in PGlite.
 *
 * PGlite runs Postgres as WASM on the calling thread, one protocol message
 * at a time, synchronously (`execProtocolRawSync`); Postgres's own
 * `statement_timeout` never fires there (it needs a timer signal), so
 * `SELECT pg_sleep(600)` or a runaway `WITH RECURSIVE` would hold the thread
 * for as long as it likes. And a Web Worker cannot be stopped from outside:
 * Deno 2.9's `Worker.terminate()` leaves a worker busy in JS or WASM running
 * (denoland/deno PR #35657).
 *
 * What does stop it is V8's own termination, which Deno exposes as the
 * `timeout` of `node:vm`'s `Script.runInContext`: a watchdog terminates
 * whatever is executing once the time is up, WASM frames included, and the
 * call throws. {@linkcode guardDeadline} runs each of PGlite's protocol
 * messages inside such a call, with the time left before the deadline.
 *
 * A statement cut this way leaves Postgres's memory mid-statement (no error
 * recovery ran), so the instance is then marked `interrupted` and refuses
 * all further work: its owner must discard it and start a fresh one.
 *
 * @module
 */
import vm from "node:vm";
import type { PGlite } from "@electric-sql/pglite";
import { DatabaseError } from "./sql_source.ts";

/** The deadline guard of one PGlite instance. */
export interface DeadlineGuard {
  /**
   * Runs `work` with every statement it sends to the database stopped at
   * `deadlineAt` (a `performance.now()` time). A statement cut there
   * rejects with a `timeout` {@linkcode DatabaseError} and leaves the
   * instance `interrupted`.
   */
  run<T>(deadlineAt: number, work: () => Promise<T>): Promise<T>;
  /** True once a statement was cut: the instance must not be used again. */
  readonly interrupted: boolean;
}

/** What Postgres says when `statement_timeout` cuts a statement, and its SQLSTATE. */
const TIMEOUT_MESSAGE = "canceling statement due to statement timeout";
const QUERY_CANCELED = "57014";

/**
 * Frontend messages that run no statement, plan nothing and call no
 * function: Describe, Sync, Flush, Close. (Parse, Bind — where planning may
 * evaluate functions — Execute, Query and anything else are guarded.)
 */
const BOOKKEEPING = new Set(["D", "S", "H", "C"].map((c) => c.charCodeAt(0)));

/**
 * Whether `buffer` holds only {@linkcode BOOKKEEPING} messages. PGlite sends
 * one message per call, so half of a query's calls skip the watchdog (each
 * arming costs ~10 µs).
 */
function onlyBookkeeping(buffer: Uint8Array): boolean {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let at = 0;
  while (at < buffer.length) {
    if (!BOOKKEEPING.has(buffer[at]) || at + 5 > buffer.length) return false;
    const length = view.getInt32(at + 1);
    if (length < 4) return false;
    at += 1 + length;
  }
  return at === buffer.length && buffer.length > 0;
}

/**
 * Puts `db`'s protocol calls under a deadline (see the module doc). Calls
 * made outside {@linkcode DeadlineGuard.run} run unguarded; runs must not
 * overlap.
 *
 * @example A sleep is cut at the deadline, and the instance is retired
 * ```ts
 * import { guardDeadline } from "./pglite_deadline.ts";
 * import { startPglite } from "./pglite.ts";
 * import assert from "node:assert/strict";
 *
 * const db = await startPglite();
 * const guard = guardDeadline(db);
 * const started = performance.now();
 * await assert.rejects(
 *   guard.run(performance.now() + 300, () => db.query("SELECT pg_sleep(600)")),
 *   /statement timeout/,
 * );
 * assert.ok(performance.now() - started < 5000);
 * assert.equal(guard.interrupted, true); // discard it: start a fresh instance
 * ```
 */
export function guardDeadline(db: PGlite): DeadlineGuard {
  const unguarded = db.execProtocolRawSync.bind(db);
  // One context and one script, reused: the script only calls back into
  // `step`, which runs the message we are about to send.
  let step: (() => Uint8Array) | undefined;
  const context = vm.createContext({ step: () => step!() });
  const script = new vm.Script("step()");
  let deadlineAt = Infinity;
  let running = false;
  let interrupted = false;

  const cut = () => {
    interrupted = true;
    return new DatabaseError("timeout", TIMEOUT_MESSAGE, QUERY_CANCELED);
  };

  db.execProtocolRawSync = (message: Uint8Array): Uint8Array => {
    if (interrupted) throw cut();
    if (deadlineAt === Infinity) return unguarded(message);
    const left = Math.ceil(deadlineAt - performance.now());
    // Past the deadline between two messages: a transaction is open, and the
    // rollback would be past it too. Retire the instance all the same.
    if (left <= 0) throw cut();
    if (onlyBookkeeping(message)) return unguarded(message);
    step = () => unguarded(message);
    try {
      return script.runInContext(context, { timeout: left }) as Uint8Array;
    } catch (error) {
      // The error comes from the vm's own realm: match its code, not its class.
      if ((error as { code?: unknown })?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") throw cut();
      throw error;
    } finally {
      step = undefined;
    }
  };

  return {
    async run<T>(at: number, work: () => Promise<T>): Promise<T> {
      if (interrupted) throw cut();
      // One deadline at a time: the instance runs one statement at a time.
      if (running) throw new Error("A guarded run is already in progress on this instance");
      running = true;
      deadlineAt = at;
      try {
        return await work();
      } finally {
        deadlineAt = Infinity;
        running = false;
      }
    },
    get interrupted() {
      return interrupted;
    },
  };
}
