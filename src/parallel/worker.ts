/**
 * A worker's side of `WORKERS` > 1: builds the same app as the primary from
 * the environment it was handed, listens on the same port (SO_REUSEPORT, so
 * the kernel spreads connections over the isolates), and sends its log lines
 * to the primary, which writes them. Rate limits count in the tables shared
 * with every isolate; a scrape of `/metrics` that lands here asks the
 * primary for the others' counts.
 *
 * @module
 */
import { type App, createApp } from "../app.ts";
import { parseConfig } from "../config/env.ts";
import { createStreamSink, type Sink } from "../observability/logger.ts";
import { aggregateMetrics, type FromWorker, type MetricsJson, type ToWorker } from "./messages.ts";
import type { WorkerInit } from "./messages.ts";
import type { Tool } from "../tools/define.ts";

/** Whether this code runs in a Web Worker (the program's main module takes the worker branch). */
export function inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: new () => unknown }).WorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope;
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
}

/**
 * Runs the worker: waits for `init`, then serves until `shutdown`. `tools`
 * replaces the built-ins, as `createApp`'s option does (the primary must pass
 * the same).
 */
export function runWorker(options: { tools?: readonly Tool[] } = {}): void {
  const scope = globalThis as unknown as WorkerScope;
  const post = (message: FromWorker) => scope.postMessage(message);
  const gathering = new Map<number, (metrics: MetricsJson[]) => void>();
  let nextId = 1;
  let app: App | undefined;
  let server: Deno.HttpServer | undefined;
  let sink: (Sink & AsyncDisposable) | undefined;

  async function start(init: WorkerInit): Promise<void> {
    const config = parseConfig(init.env);
    const decoder = new TextDecoder();
    const lines = createStreamSink(
      new WritableStream<Uint8Array>({
        write(chunk) {
          post({ type: "log", text: decoder.decode(chunk) });
        },
      }),
      config.logFormat,
    );
    sink = lines;
    // Which isolate wrote a line, for whoever reads the logs.
    const tagged =
      ((record) =>
        lines({ ...record, properties: { ...record.properties, isolate: init.index } })) as Sink;
    app = await createApp({
      config,
      logSinks: [tagged],
      env: init.toolsEnv,
      tools: options.tools,
      // Process metrics describe the whole process: the primary reports them once.
      processMetrics: false,
      shared: {
        isolate: init.index,
        rateLimitTable: init.rateLimitTable,
        authFailureTable: init.authFailureTable,
        metricsText: async () => {
          const others = await new Promise<MetricsJson[]>((resolve) => {
            const id = nextId++;
            gathering.set(id, resolve);
            post({ type: "gather", id });
          });
          return await aggregateMetrics([
            await app!.metrics.registry.getMetricsAsJSON(),
            ...others,
          ]);
        },
      },
    });
    const built = app;
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      reusePort: true,
      ...init.tls,
      onListen: () => {
        post({ type: "listening" });
        built.warmUp().catch(() => {/* the first scrape loads the process metrics itself */});
      },
    }, built.handler);
  }

  async function stop(graceMs: number): Promise<void> {
    if (server) {
      // In-flight requests finish, up to the grace period (the primary then terminates us).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.shutdown(),
        new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    }
    await app?.close();
    await sink?.[Symbol.asyncDispose]();
    post({ type: "stopped" });
  }

  scope.onmessage = async (event) => {
    const message = event.data;
    switch (message.type) {
      case "init":
        try {
          await start(message.init);
        } catch (error) {
          post({ type: "failed", error: error instanceof Error ? error.message : String(error) });
        }
        break;
      case "metrics":
        post({
          type: "metrics",
          id: message.id,
          metrics: app ? await app.metrics.registry.getMetricsAsJSON() : [],
        });
        break;
      case "gathered":
        gathering.get(message.id)?.(message.metrics);
        gathering.delete(message.id);
        break;
      case "reload":
        if (app) {
          void app.reloadTools();
          void app.reloadKeys();
        }
        break;
      case "shutdown":
        await stop(message.graceMs);
        break;
    }
  };
}
