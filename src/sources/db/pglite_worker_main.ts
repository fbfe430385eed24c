/**
 * The embedded database's worker: runs PGlite off the server's thread, one
 * message at a time, every statement under a deadline that really stops it
 * (`pglite_deadline.ts`).
 *
 * The server never loads this file as a module (a worker from a file needs
 * read permission on it, and `deno bundle` leaves workers out). It is built
 * into one self-contained script, `pglite_worker_bundle.txt`, by
 * `deno task pglite-worker` (`scripts/build_pglite_worker.ts`); the host
 * (`pglite_worker.ts`) imports that text and starts it from a `blob:` URL,
 * then posts it PGlite's compiled WASM and data, since the worker itself
 * reads no file. A test fails when the committed bundle is stale.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { type DeadlineGuard, guardDeadline } from "./pglite_deadline.ts";
import { classifyPgliteError, runPgliteQuery } from "./pglite_query.ts";
import type { DatabaseErrorKind, SqlQuery, Truncation } from "./sql_source.ts";

/** What the host sends; the host waits for each answer before sending more. */
export type ToWorker =
  | {
    readonly type: "start";
    readonly pgliteWasmModule: WebAssembly.Module;
    readonly initdbWasmModule: WebAssembly.Module;
    /** PGlite's file-system bundle (`pglite.data`). */
    readonly fsBundle: Uint8Array;
    /** A data directory tarball to start from (the demo snapshot). */
    readonly snapshot?: Uint8Array;
    /** Keep the database's files in this folder instead of memory. */
    readonly directory?: string;
    /** SQL run once after start, before any query (test fixtures). */
    readonly setupSql?: string;
    /** Past this much WASM memory (it never shrinks), ask to be replaced. */
    readonly recycleAboveBytes: number;
  }
  | {
    readonly type: "query";
    readonly id: number;
    readonly text: string;
    readonly values: readonly unknown[];
    readonly maxRows: number;
    readonly maxBytes: number;
    /** The most bytes one row can have (see `QueryOptions.rowCap`). */
    readonly rowCap?: number;
    /** The statement's deadline, from when the worker receives it. */
    readonly timeoutMs: number;
  }
  | { readonly type: "ping"; readonly id: number; readonly timeoutMs: number }
  | { readonly type: "close"; readonly id: number };

/**
 * Why this worker's PGlite must be replaced: a statement was cut mid-way
 * (its state is unknown), its WASM memory grew past the limit (WASM memory
 * is never given back), or the WASM itself trapped.
 */
export type RetireReason = "deadline" | "memory" | "crash";

/** What the worker answers. */
export type FromWorker =
  | { readonly type: "started" }
  | {
    readonly type: "result";
    readonly id: number;
    readonly rows: unknown[];
    readonly truncated?: Truncation;
    readonly retire?: RetireReason;
  }
  | {
    readonly type: "failed";
    /** The query or ping that failed; none when the start failed. */
    readonly id?: number;
    readonly kind: DatabaseErrorKind;
    readonly message: string;
    readonly code?: string;
    readonly retire?: RetireReason;
  }
  | { readonly type: "closed"; readonly id: number };

/** The part of the worker's global scope used here. */
export interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

/** Serves the host's messages on `scope`, one at a time. */
export function serveWorker(scope: WorkerScope): void {
  let db: PGlite | undefined;
  let guard: DeadlineGuard | undefined;
  let recycleAboveBytes = Infinity;
  let crashed = false;
  let chain = Promise.resolve();

  /** Whether this instance should be replaced after the call just answered. */
  function retireReason(): RetireReason | undefined {
    if (guard?.interrupted) return "deadline";
    if (crashed) return "crash";
    if ((db?.Module.HEAPU8.byteLength ?? 0) > recycleAboveBytes) return "memory";
    return undefined;
  }

  async function handle(message: ToWorker): Promise<FromWorker> {
    if (message.type === "start") {
      try {
        db = await PGlite.create({
          pgliteWasmModule: message.pgliteWasmModule,
          initdbWasmModule: message.initdbWasmModule,
          fsBundle: new Blob([message.fsBundle as Uint8Array<ArrayBuffer>]),
          loadDataDir: message.snapshot
            ? new Blob([message.snapshot as Uint8Array<ArrayBuffer>])
            : undefined,
          dataDir: message.directory,
          // In memory there is nothing to make durable.
          relaxedDurability: message.directory === undefined,
        });
        if (message.setupSql) await db.exec(message.setupSql);
        guard = guardDeadline(db);
        recycleAboveBytes = message.recycleAboveBytes;
        return { type: "started" };
      } catch (error) {
        return { type: "failed", kind: "unavailable", message: describe(error) };
      }
    }
    if (message.type === "close") {
      // An instance cut mid-statement is not closed: its state is unknown, and
      // Postgres recovers a data directory on the next start.
      if (db && !db.closed && !guard?.interrupted) await db.close().catch(() => {});
      return { type: "closed", id: message.id };
    }
    if (!db || !guard) {
      return {
        type: "failed",
        id: message.id,
        kind: "unavailable",
        message: "The embedded database has not started",
      };
    }
    const deadlineAt = performance.now() + message.timeoutMs;
    const open = db;
    try {
      if (message.type === "ping") {
        await guard.run(deadlineAt, () => open.query("SELECT 1"));
        return { type: "result", id: message.id, rows: [], retire: retireReason() };
      }
      const query: SqlQuery = { text: message.text, values: message.values };
      const result = await guard.run(
        deadlineAt,
        () =>
          runPgliteQuery(
            open,
            query,
            { maxRows: message.maxRows, maxBytes: message.maxBytes },
            message.rowCap,
          ),
      );
      return {
        type: "result",
        id: message.id,
        rows: result.rows,
        truncated: result.truncated,
        retire: retireReason(),
      };
    } catch (error) {
      // A trap (out of bounds, unreachable) leaves Postgres's memory unusable.
      crashed ||= error instanceof WebAssembly.RuntimeError;
      const failure = classifyPgliteError(error);
      return {
        type: "failed",
        id: message.id,
        kind: crashed ? "unavailable" : failure.kind,
        message: failure.message,
        code: failure.code,
        retire: retireReason(),
      };
    }
  }

  scope.onmessage = (event) => {
    chain = chain.then(async () => {
      const answer = await handle(event.data);
      try {
        scope.postMessage(answer);
      } catch (error) {
        // A row the structured clone cannot copy (none of PGlite's types): say so.
        if (answer.type !== "result") throw error;
        scope.postMessage({
          type: "failed",
          id: answer.id,
          kind: "query",
          message: `The result could not be passed on: ${describe(error)}`,
          retire: answer.retire,
        });
      }
    });
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Started as a worker (the bundle): serve. Imported anywhere else: nothing happens.
if ("WorkerGlobalScope" in globalThis) serveWorker(globalThis as unknown as WorkerScope);
