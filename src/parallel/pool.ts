/**
 * The primary isolate's side of `WORKERS` > 1: starts the other HTTP
 * listeners as Web Workers running this same program, relays their log
 * lines to the primary's sinks (one writer per output, so lines from
 * different isolates never interleave mid-line), gathers their metrics for a
 * scrape, and passes on reloads and the shutdown.
 *
 * Why isolates and not one: a request's own work (auth, rate limit,
 * validation, metrics, the audit line, Deno's HTTP plumbing) keeps one
 * isolate's thread busy at ~27 µs of CPU per no-op call here, so one isolate
 * tops out near 37k calls/s while the machine has cores to spare; two
 * listeners on one port serve ~61k (docs/BENCHMARKS.md).
 *
 * @module
 */
import type { FromWorker, MetricsJson, ToWorker, WorkerInit } from "./messages.ts";

/** The running workers. */
export interface WorkerPool {
  /** Every worker's registry (except `except`'s), for a scrape. */
  metricsFrom(except?: Worker): Promise<MetricsJson[]>;
  /** Asks every worker to re-read its tools file and keys file (SIGHUP). */
  reload(): void;
  /** Stops every worker: in-flight requests finish, up to `graceMs`; then they are terminated. */
  shutdown(graceMs: number): Promise<void>;
  /** Settles with the reason when a worker fails after the start. */
  readonly failed: Promise<string>;
}

/** How to start the pool. */
export interface PoolOptions {
  /** Workers to start (WORKERS - 1: the primary serves too). */
  readonly count: number;
  /** The program's main module: each worker runs it and takes the worker branch. */
  readonly entry: string;
  readonly init: Omit<WorkerInit, "index">;
  /** Log text a worker formatted (whole lines). */
  onLog(text: string): void;
  /** The primary's own registry, for a worker's scrape. */
  ownMetrics(): Promise<MetricsJson>;
  /** How long a worker may take to listen. */
  readonly startTimeoutMs?: number;
}

/** Starts the workers; resolves once every one listens, rejects (all terminated) if any cannot. */
export async function startWorkers(options: PoolOptions): Promise<WorkerPool> {
  const workers: Worker[] = [];
  const pending = new Map<number, (metrics: MetricsJson) => void>();
  const stopped = new Map<Worker, () => void>();
  let nextId = 1;
  let stopping = false;
  let shuttingDown: Promise<void> | undefined;
  let reportFailure!: (reason: string) => void;
  const failed = new Promise<string>((resolve) => reportFailure = resolve);

  const post = (worker: Worker, message: ToWorker) => worker.postMessage(message);

  function metricsFrom(except?: Worker): Promise<MetricsJson[]> {
    return Promise.all(
      workers.filter((w) => w !== except).map((worker) =>
        new Promise<MetricsJson>((resolve) => {
          const id = nextId++;
          pending.set(id, resolve);
          post(worker, { type: "metrics", id });
        })
      ),
    );
  }

  const listening = Array.from({ length: options.count }, (_, i) => {
    const index = i + 1;
    const worker = new Worker(options.entry, { type: "module", name: `http-${index}` });
    workers.push(worker);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker ${index} did not listen within the start timeout`)),
        options.startTimeoutMs ?? 30_000,
      );
      worker.onerror = (event) => {
        event.preventDefault();
        const reason = `worker ${index}: ${event.message}`;
        clearTimeout(timer);
        reject(new Error(reason));
        if (!stopping) reportFailure(reason);
      };
      worker.onmessage = async (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        switch (message.type) {
          case "listening":
            clearTimeout(timer);
            resolve();
            break;
          case "failed":
            clearTimeout(timer);
            reject(new Error(message.error));
            if (!stopping) reportFailure(`worker ${index}: ${message.error}`);
            break;
          case "log":
            options.onLog(message.text);
            break;
          case "metrics":
            pending.get(message.id)?.(message.metrics);
            pending.delete(message.id);
            break;
          case "gather": {
            const metrics = [await options.ownMetrics(), ...await metricsFrom(worker)];
            post(worker, { type: "gathered", id: message.id, metrics });
            break;
          }
          case "stopped":
            stopped.get(worker)?.();
            break;
        }
      };
      post(worker, { type: "init", init: { ...options.init, index } });
    });
  });
  try {
    await Promise.all(listening);
  } catch (error) {
    stopping = true;
    for (const worker of workers) worker.terminate();
    throw error;
  }

  return {
    metricsFrom,
    failed,
    reload() {
      for (const worker of workers) post(worker, { type: "reload" });
    },
    shutdown(graceMs) {
      return shuttingDown ??= stopAll(graceMs);
    },
  };

  async function stopAll(graceMs: number): Promise<void> {
    stopping = true;
    await Promise.all(workers.map((worker) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs + 1_000);
        stopped.set(worker, () => {
          clearTimeout(timer);
          resolve();
        });
        post(worker, { type: "shutdown", graceMs });
      })
    ));
    for (const worker of workers) worker.terminate();
  }
}
