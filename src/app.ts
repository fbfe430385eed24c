/**
 * The composition root: builds everything from the config and returns the
 * request handler and a `close()`. No module-level state, so tests build as
 * many apps as they like.
 *
 * @module
 */
import type { Config } from "./config/env.ts";
import type { RequestContext } from "./http/context.ts";
import { auth } from "./http/middleware/auth.ts";
import { clientAddress, createRateLimitPolicy } from "./http/middleware/rate_limit.ts";
import { createRateLimiter } from "./ratelimit/limiter.ts";
import { sharedMemoryLimiter } from "./ratelimit/shared_counters.ts";
import { createConcurrencyLimit, defaultConcurrencyLimit } from "./ratelimit/concurrency.ts";
import { createToolCache, type ToolCache } from "./cache/response_cache.ts";
import { createMemoryCache } from "./cache/memory_cache.ts";
import { hostOrigin } from "./http/middleware/host_origin.ts";
import { cors } from "./http/middleware/cors.ts";
import { jsonResponse } from "./http/responses.ts";
import { openApiDocument } from "./http/openapi.ts";
import { docsPage } from "./http/docs.ts";
import { restDoor } from "./http/rest_door.ts";
import { routes } from "./http/routes.ts";
import { createProxyTrust } from "./http/trusted_proxies.ts";
import { batchResponses, type ServeHandler } from "./http/response_batching.ts";
import { mcpDoor } from "./mcp/door.ts";
import { createKernel } from "./http/kernel.ts";
import { createReloads } from "./reloads.ts";
import { createAdmission } from "./http/admission.ts";
import { healthHandlers } from "./observability/health.ts";
import { watchedSources } from "./observability/source_health.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { metricsRoute } from "./http/metrics_route.ts";
import { createLogger, type Logger, type Sink } from "./observability/logger.ts";
import { openPostgres } from "./sources/db/postgres.ts";
import { postgresOptions } from "./sources/db/postgres_options.ts";
import type { PgParser } from "./sources/db/pg_parser.ts";
import type { SqlSource } from "./sources/db/sql_source.ts";
import { redactUrl } from "./config/redact.ts";
import { deploymentNamespace } from "./config/deployment_namespace.ts";
import { API_TOOLS, SQL_TOOLS } from "./tools/builtin/mod.ts";
import { type DemoUpstream, startDemoUpstream } from "./sources/http/demo_upstream.ts";
import { createUpstream, type Upstream } from "./sources/http/upstream.ts";
import { upstreamOptions } from "./sources/http/upstream_options.ts";
import type { Tool } from "./tools/define.ts";
import { invokeTool } from "./tools/invoke.ts";
import { createCursorCodec, type CursorCodec, cursorSecret } from "./tools/result_cursor.ts";
import { createDeadlineQueue } from "./timing/deadlines.ts";
import { createKeyRing } from "./auth/key_ring.ts";
import { openTokenAuth } from "./auth/token_auth.ts";
import { METADATA_PATH } from "./auth/protected_resource.ts";
import { resourceMetadataRoute } from "./http/resource_metadata_route.ts";
import type { FileKey } from "./auth/keys_file.ts";
import { createRegistry, liveRegistry, type Registry } from "./tools/registry.ts";
import type { BuildContext, MaskSource } from "./tools/file/build.ts";
import type { ToolsFileSpec } from "./tools/file/spec.ts";
import { selectToolset } from "./tools/file/toolset.ts";
import { planDemo } from "./tools/demo_plan.ts";
import { SERVER_NAME, SERVER_VERSION } from "./version.ts";
import { loadRagServer } from "./rag/load.ts";
import { configForIsolate } from "./parallel/pool_share.ts";
import type { RagService } from "./rag/server.ts";
import { releaseMemoryWhenIdle } from "./runtime/idle_memory.ts";

/** What {@linkcode createApp} takes. */
export interface AppOptions {
  readonly config: Config;
  /** Where log records go (the process's stdout sink, or a test's memory sink). */
  readonly logSinks: readonly Sink[];
  /** A ready SQL source (the app does not close it); default: from config. */
  readonly sql?: SqlSource;
  /** The tools to serve; default: the built-ins (REST ones only with an upstream). */
  readonly tools?: readonly Tool[];
  /** Where the tools file's `${NAME}` references are looked up (main passes the process env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Add prom-client's process/runtime metrics (default true; tests turn them off). */
  readonly processMetrics?: boolean;
  /** With `WORKERS` > 1: what this isolate shares with the others (src/parallel/). */
  readonly shared?: SharedState;
}

/** State one isolate shares with the others of its process. */
export interface SharedState {
  /**
   * Which isolate this is (0: the primary). Its config's pool sizes become
   * its part of the process's budget (src/parallel/pool_share.ts).
   */
  readonly isolate: number;
  /** Counters for the per-key rate limit and the auth-failure limit (memory storage). */
  readonly rateLimitTable: SharedArrayBuffer;
  readonly authFailureTable: SharedArrayBuffer;
  /** `/metrics`: every isolate's registry, summed. */
  metricsText(): Promise<string>;
}

/** A built server. */
export interface App {
  readonly handler: ServeHandler;
  readonly registry: Registry;
  readonly log: Logger;
  readonly sql: SqlSource;
  readonly metrics: Metrics;
  /**
   * Reads `TOOLS_FILE` again and serves its tools. A bad file changes
   * nothing (the old tools keep serving) and its problems are returned and
   * logged. Calls in flight finish on the tools they started with.
   */
  reloadTools(): Promise<{ ok: true; tools: string[] } | { ok: false; error: string }>;
  /**
   * Reads `API_KEYS_FILE` again: its keys replace the file's previous ones at
   * once (the environment keys stay). A bad file changes nothing.
   */
  reloadKeys(): Promise<{ ok: true; keys: number } | { ok: false; error: string }>;
  /**
   * Loads what the first scrape would otherwise wait for (prom-client's
   * process metrics). Call it once the server listens: the port opens
   * sooner, and nothing waits later.
   */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the SQL source the config asks for. */
async function openSqlSource(config: Config, log: Logger): Promise<SqlSource> {
  if (config.db.url === undefined) return await openEmbedded(config, log, config.db.pgliteDataDir);
  const source = openPostgres(postgresOptions(config.db, { url: config.db.url }));
  // Start anyway when the database is down: health says so, SQL tools answer
  // 503 retry, and the pool reconnects on its own when it is back.
  // The connect is bounded by postgres.js's connect timeout, the check by
  // the session's statement timeout.
  source.connect().then(
    () => log.info("database connected", { database: redactUrl(config.db.url!) }),
    (error) =>
      log.warn("database unreachable at start; serving anyway", {
        database: redactUrl(config.db.url!),
        error: error instanceof Error ? error.message : String(error),
      }),
  );
  return source;
}

/**
 * The key of `hash` columns: `SQL_HASH_KEY`, else derived like the cursor
 * secret (from the API keys, random per process without them) but never the
 * same key as it.
 */
function columnHashKey(config: Config): string | Uint8Array {
  if (config.db.columnPolicies.hashKey !== undefined) return config.db.columnPolicies.hashKey;
  const derived = cursorSecret({ cursors: { secret: undefined }, apiKeys: config.apiKeys }).secret;
  return typeof derived === "string" ? `column-hash\0${derived}` : derived;
}

/**
 * Column policies for any SQL source of the server: the server's own
 * database (`SQL_COLUMN_POLICIES`) and a tools file's sources. Loads the
 * masking code and the parser only when some source has policies.
 */
function columnPolicies(
  config: Config,
  log: Logger,
  sharedParser: () => Promise<PgParser>,
): MaskSource {
  let warned = false;
  return async (source, columns, setting, liftedBy = config.db.columnPolicies.liftedBy) => {
    if (columns.length === 0) return source;
    if (
      !warned && config.db.columnPolicies.hashKey === undefined &&
      columns.some((c) => c.kind === "hash")
    ) {
      warned = true;
      log.info(
        "hashed columns are keyed from the API keys: set SQL_HASH_KEY to keep hashes stable",
      );
    }
    const { openColumnPolicies } = await import("./sources/db/column_policies_open.ts");
    return await openColumnPolicies(source, {
      columns,
      liftedBy,
      hashKey: columnHashKey(config),
      parser: sharedParser,
      setting,
      log,
    });
  };
}

/**
 * The upstream REST API the REST tools read: `API_BASE_URL`, or in
 * development without it, the in-process demo upstream over the demo data.
 * In staging and production without `API_BASE_URL` there is none, and the
 * REST tools are not served (said once in the start log).
 */
function openUpstream(
  config: Config,
  sql: SqlSource,
  log: Logger,
  metrics: Metrics,
  apiToolNames: readonly string[],
): { upstream?: Upstream; demo?: DemoUpstream } {
  let baseUrl = config.upstream.baseUrl;
  let demo: DemoUpstream | undefined;
  if (baseUrl === undefined) {
    if (apiToolNames.length === 0) return {};
    if (config.environment !== "development") {
      log.warn("REST tools disabled: API_BASE_URL is not set", { tools: apiToolNames });
      return {};
    }
    demo = startDemoUpstream({ sql, log });
    baseUrl = demo.url;
    log.info("demo upstream started: REST tools read the demo data through the real client", {
      upstream: demo.url,
      tools: apiToolNames,
      hint: "set API_BASE_URL to use your API",
    });
  }
  const upstream = createUpstream({
    ...upstreamOptions(config.upstream, { name: "api", baseUrl, auth: config.upstream.auth }),
    log,
    observe: { attempt: metrics.upstreamAttempt, circuit: metrics.upstreamCircuit },
  });
  return { upstream, demo };
}

/**
 * The embedded database, in a worker that stops each statement at its
 * deadline: the demo data in memory, or the database kept in `directory`.
 */
async function openEmbedded(config: Config, log: Logger, directory?: string): Promise<SqlSource> {
  // Loaded only when used: the embedded database carries ~20 MB of WASM and data.
  const { openPgliteWorker } = await import("./sources/db/pglite_worker.ts");
  return await openPgliteWorker({
    limits: { maxRows: config.db.maxRows, maxBytes: config.db.maxResultBytes },
    queryTimeoutMs: config.db.queryTimeoutSeconds * 1000,
    directory,
    onRestart: (reason) => log.warn("embedded database restarted", { reason }),
  });
}

/**
 * The response cache `CACHE_STORAGE` asks for (none when `off`). Only tools
 * with `cacheTtlSeconds` use it.
 */
async function openResponseCache(
  config: Config,
  log: Logger,
  metrics: Metrics,
  namespace: string,
): Promise<ToolCache | undefined> {
  const c = config.cache;
  if (c.storage === "off") return undefined;
  const store = c.storage === "redis"
    ? (await import("./cache/redis_cache.ts")).createRedisCache({
      url: c.redisUrl!,
      // Shared by every deployment on that Redis: scoped to this one (see deployment_namespace.ts).
      prefix: `${c.redisPrefix}${namespace}:`,
      maxEntryBytes: c.maxEntryBytes,
      log,
    })
    : createMemoryCache({
      maxEntries: c.maxEntries,
      maxBytes: c.maxBytes,
      maxEntryBytes: c.maxEntryBytes,
    });
  return createToolCache({ store, log, metrics, storeName: c.storage });
}

/**
 * The opt-in tools that run SQL a caller writes or names (`sql_query`, the
 * database toolset), sharing one guard with the real PostgreSQL parser.
 */
async function callerSqlTools(
  config: Config,
  sql: SqlSource,
  cursors: CursorCodec,
  parser: () => Promise<PgParser>,
): Promise<Tool[]> {
  const wanted = [
    config.sqlQuery.enabled && "ENABLE_SQL_QUERY_TOOL",
    config.dbSchema.enabled && "ENABLE_DB_SCHEMA_TOOLS",
  ].filter((name) => name !== false);
  if (wanted.length === 0) return [];
  if (!sql.stopsAtDeadline) {
    // The caller writes the SQL: a pg_sleep or a runaway aggregate must be
    // stopped at its deadline, not merely abandoned while it runs on.
    throw new Error(
      `Cannot start: ${
        wanted.join(" and ")
      } needs a database that stops a statement at its deadline; this ${sql.kind} source does not`,
    );
  }
  const [{ createCallerGuard }, { createSqlQueryTool }, { createDbSchemaTools }] = await Promise
    .all([
      import("./sources/db/caller_guard.ts"),
      import("./tools/builtin/sql_query.ts"),
      import("./tools/builtin/db_schema/mod.ts"),
    ]);
  const guard = await createCallerGuard(config.sqlQuery, parser);
  const limits = { maxRows: config.db.maxRows, maxBytes: config.db.maxResultBytes };
  return [
    ...(config.sqlQuery.enabled ? [createSqlQueryTool({ guard, cursors, ...limits })] : []),
    ...(config.dbSchema.enabled
      ? createDbSchemaTools({
        guard,
        allowedTables: config.sqlQuery.allowedTables,
        columnPolicies: config.db.columnPolicies,
        ...limits,
      })
      : []),
  ];
}

/** Builds the app. Throws `RegistryError` for bad tools, `Error` for sources that cannot open. */
export async function createApp(options: AppOptions): Promise<App> {
  // Several isolates: this one opens its part of the connection budget.
  const config = options.shared
    ? configForIsolate(options.config, options.shared.isolate)
    : options.config;
  const log = createLogger({ level: config.logLevel, sinks: options.logSinks });
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? true });
  // One parser (a WASM instance) for whatever needs one: column policies, the
  // caller SQL guard, each load of the tools file.
  let parsing: Promise<PgParser> | undefined;
  const parser = () =>
    parsing ??= import("./sources/db/pg_parser.ts").then((m) => m.createPgParser());
  // A tools file is checked with it: started now, its module loads and its
  // WASM is compiled (off this thread) while the rest of the start runs. A
  // failure is the load's to report, when it awaits the same promise.
  if (config.toolsFile !== undefined) parser().catch(() => {});
  // Read before anything opens: a bad keys file stops the start with nothing to close.
  const keyRing = createKeyRing(
    config.apiKeys,
    config.apiKeysFile === undefined ? [] : await readKeys(config.apiKeysFile, log, "loaded"),
  );
  // Tokens beside (or instead of) keys; a bad JWKS file stops the start here too.
  const tokenAuth = await openTokenAuth(config);
  // Demo tools only with the demo; no demo database in production unless asked for.
  const demoPlan = await planDemo(config);
  const ownsSql = options.sql === undefined;
  const maskSource = columnPolicies(config, log, parser);
  const rawSql = options.sql ?? await openSqlSource(config, log);
  let sql: SqlSource;
  try {
    sql = await maskSource(rawSql, config.db.columnPolicies.columns, "SQL_COLUMN_POLICIES");
  } catch (error) {
    if (ownsSql) await rawSql.close();
    throw error instanceof Error && error.name === "ColumnPolicyError"
      ? new Error(`Cannot start: ${error.message}`)
      : error;
  }
  metrics.observeDbPool(() => sql.poolStats?.());
  let tools = [...(options.tools ?? (demoPlan.demoTools ? [...SQL_TOOLS, ...API_TOOLS] : []))];
  if (options.tools === undefined) {
    log.info(demoPlan.demoTools ? "demo tools served" : "demo tools not served", {
      reason: demoPlan.reason,
    });
  }
  const apiToolNames = tools.filter((t) => API_TOOLS.includes(t)).map((t) => t.name);
  const { upstream, demo } = openUpstream(config, sql, log, metrics, apiToolNames);
  if (!upstream) tools = tools.filter((t) => !API_TOOLS.includes(t));
  // Cursors of truncated SQL results; any replica with the same secret continues them.
  const cursorKey = cursorSecret(config);
  const cursors = await createCursorCodec({
    secret: cursorKey.secret,
    ttlSeconds: config.cursors.ttlSeconds,
  });
  if (!cursorKey.shared) {
    log.info("result cursors open only on this process: set CURSOR_SECRET to share them");
  }
  tools.push(...await callerSqlTools(config, sql, cursors, parser));
  // RAG: loaded only when on (it needs its own permission profile; see src/rag/).
  let rag: RagService | undefined;
  let reservedDocuments: readonly string[] = [];
  if (config.enableRag) {
    try {
      // What the tools file's vector_search tools reserve, read on each call (reloads change it).
      rag = await (await loadRagServer(config.rag)).openRag(config, log, () => reservedDocuments);
    } catch (error) {
      upstream?.close();
      await demo?.close();
      if (ownsSql) await sql.close();
      throw error;
    }
    tools.push(rag.tool);
  }
  if (config.conformanceFixtures) {
    // Test only (the config allows it on loopback in development alone).
    const { CONFORMANCE_TOOLS } = await import("./mcp/conformance_fixtures.ts");
    tools.push(...CONFORMANCE_TOOLS);
    log.warn(
      "MCP_CONFORMANCE_FIXTURES is on: TEST ONLY. Requests without Authorization are served as principal conformance",
      { tools: CONFORMANCE_TOOLS.map((t) => t.name) },
    );
  }
  const codeTools = tools;

  // The tools file: its tools join the code tools in one registry. A reload
  // (SIGHUP) swaps the registry's contents; calls already running keep the
  // tools they started with.
  const buildContext: BuildContext = {
    config,
    sql,
    upstream,
    rag: rag && { store: rag.store, search: (reader, request) => rag!.search(reader, request) },
    log,
    metrics,
    openEmbedded: () => openEmbedded(config, log),
    cursors,
    maskSource,
    parser,
  };
  const env = options.env ?? {};
  // The tools file loader (and the YAML parser under it) loads only when a
  // tools file is configured.
  const toolsFiles = config.toolsFile === undefined
    ? undefined
    : await import("./tools/file/tools_file.ts");
  const fileTools = toolsFiles && config.toolsFile !== undefined
    ? await toolsFiles.openToolsFile(config.toolsFile, env, buildContext)
    : undefined;
  const buildRegistry = (file: typeof fileTools) =>
    createRegistry(
      selectToolset([...codeTools, ...(file?.tools ?? [])], file?.file, config.toolset),
    );
  let initial: Registry;
  try {
    initial = buildRegistry(fileTools);
  } catch (error) {
    await fileTools?.close();
    throw error;
  }
  const registry = liveRegistry(initial);
  reservedDocuments = reservedDocumentsOf(fileTools?.file.spec);
  if (fileTools) {
    log.info("tools file loaded", {
      file: config.toolsFile,
      tools: fileTools.tools.map((t) => t.name),
      toolset: config.toolset,
    });
  }

  // What this deployment keeps in a shared Redis is scoped to it: another
  // deployment on the same Redis (other data) never shares an entry or a
  // count, and this one's replicas (same config) do. Fixed at start: a
  // reload of the tools file keeps it, or replicas reloading at different
  // moments would split their counts (cached results of a changed tool are
  // kept apart by its cacheVersion).
  const namespace = deploymentNamespace(config, fileTools?.file.spec);
  if (config.rateLimit.storage === "redis" || config.cache.storage === "redis") {
    log.info("shared store namespace", { namespace });
  }
  // ioredis is loaded only when a Redis is configured.
  const redis = config.rateLimit.storage === "redis"
    ? (await import("./ratelimit/redis_client.ts")).openRedis(config.rateLimit.redisUrl!, log)
    : undefined;
  const limiterOptions = {
    windowSeconds: config.rateLimit.windowSeconds,
    storage: config.rateLimit.storage,
    redis,
    failMode: config.rateLimit.failMode,
    log,
  };
  // Several isolates (WORKERS > 1) count in shared memory, unless Redis
  // already shares the counts with other replicas.
  const sharedOr = (table: SharedArrayBuffer | undefined, prefix: string) =>
    table && config.rateLimit.storage === "memory"
      ? sharedMemoryLimiter(table, { ...limiterOptions, prefix })
      : createRateLimiter({ ...limiterOptions, prefix });
  const rateLimit = createRateLimitPolicy({
    limiter: sharedOr(options.shared?.rateLimitTable, `mcp:rl:${namespace}`),
    rpm: config.rateLimitRpm,
    keyRpm: config.rateLimit.keyRpm,
    userRpm: config.rateLimit.userRpm,
    toolCosts: config.rateLimit.toolCosts,
    onLimited: (clientId, tools) => {
      metrics.rateLimitHit(clientId);
      for (const tool of tools) metrics.toolRateLimited(tool);
    },
  });
  const proxies = createProxyTrust(config.trustedProxies);
  const authFailures = {
    limiter: sharedOr(options.shared?.authFailureTable, `mcp:authfail:${namespace}`),
    limit: config.rateLimit.authFailuresPerWindow,
    address: (req: Request, ctx: RequestContext) => clientAddress(req, ctx, proxies),
    onLocked: () => metrics.authLockoutHit(),
  };

  // One key's slow calls in parallel must not hold the whole pool (the rate
  // limit counts calls, not how long they hold a connection). The pool size
  // is this isolate's share with WORKERS > 1, and so is the default bound.
  const concurrency = createConcurrencyLimit({
    limit: config.rateLimit.maxConcurrentCallsPerKey ?? defaultConcurrencyLimit(config.db.poolSize),
    onLimited: (keyId) => metrics.concurrencyLimitHit(keyId),
  });
  if (concurrency.limit >= config.db.poolSize) {
    log.warn(
      "MAX_CONCURRENT_CALLS_PER_KEY is not below the database pool: one key can hold it all",
      {
        max_concurrent_calls_per_key: concurrency.limit,
        db_pool_size: config.db.poolSize,
      },
    );
  }

  const cache = await openResponseCache(config, log, metrics, namespace);
  const deadlines = createDeadlineQueue();
  const deps = {
    sql,
    upstream,
    defaultTimeoutSeconds: config.toolTimeoutSeconds,
    metrics,
    cache,
    deadlines,
  };
  // Built at the first request for it (~2 ms of zod-to-JSON-Schema work that
  // no tool call needs, so not on the way to the first call), then rebuilt
  // only when a reload changed the tools.
  let openApi: { for: unknown; doc: ReturnType<typeof openApiDocument> } | undefined;
  const currentOpenApi = () => {
    if (openApi?.for !== registry.descriptors) {
      openApi = {
        for: registry.descriptors,
        doc: openApiDocument(registry, { title: SERVER_NAME, version: SERVER_VERSION }),
      };
    }
    return openApi.doc;
  };
  const invoke = (tool: Tool, input: unknown, call: Parameters<typeof invokeTool>[3]) =>
    invokeTool(deps, tool, input, call);

  const bodyDeadline = { queue: deadlines, timeoutMs: config.http.bodyTimeoutSeconds * 1000 };
  // One gate for both doors and both MCP eras: lookup, cost, scopes, concurrency.
  const admission = createAdmission({
    registry,
    rateLimit,
    concurrency,
    resourceMetadataUrl: tokenAuth?.metadataUrl,
  });
  const mcp = mcpDoor({
    registry,
    invoke,
    maxBodyBytes: config.maxBodyBytes,
    bodyDeadline,
    serverInfo: { name: SERVER_NAME, version: SERVER_VERSION },
    admission,
  });
  const table = routes({
    guard: {
      hostOrigin: hostOrigin({
        bindHost: config.host,
        allowedHosts: config.allowedHosts,
        allowedOrigins: [...config.allowedOrigins, ...config.corsOrigins],
        proxies,
      }),
      auth: auth({
        keys: keyRing,
        failures: authFailures,
        anonymous: config.conformanceFixtures ? { id: "conformance" } : undefined,
        tokens: tokenAuth,
      }),
    },
    resourceMetadata: config.oauth && {
      handler: resourceMetadataRoute(config.oauth, registry),
      paths: [...new Set([METADATA_PATH, new URL(tokenAuth!.metadataUrl).pathname])],
    },
    rest: restDoor({
      registry,
      invoke,
      maxBodyBytes: config.maxBodyBytes,
      bodyDeadline,
      admission,
    }),
    mcp,
    health: healthHandlers({
      sources: () =>
        watchedSources({ sql, upstream, file: fileTools?.sources, tools: registry.tools }),
      log,
    }),
    metrics: metricsRoute(metrics, config.metricsToken, options.shared?.metricsText),
    openApi: () => Promise.resolve(jsonResponse(currentOpenApi())),
    docs: docsPage({ title: `${SERVER_NAME} API` }),
  });
  // SIGHUP: the tools file and the keys file read again (see reloads.ts).
  const reloads = createReloads({
    config,
    log,
    env,
    toolsFiles,
    buildContext,
    fileTools,
    buildRegistry,
    registry,
    onToolsFile: (spec) => reservedDocuments = reservedDocumentsOf(spec),
    keyRing,
    readKeys: (file) => readKeys(file, log, "reloaded"),
  });
  const handler = createKernel({
    routes: table,
    log,
    metrics,
    cors: cors(config.corsOrigins),
    clientAddress: (req, ctx) => clientAddress(req, ctx, proxies),
  });

  // Responses finished in the same event-loop turn are written together (see response_batching.ts).
  const batched = batchResponses(handler);
  // After a load, the heap goes back to what is live (runtime/idle_memory.ts;
  // needs --expose-gc, which the binary and the server tasks pass). Requests
  // are counted to tell an idle server from a busy one.
  let served = 0;
  const idleMemory = releaseMemoryWhenIdle({
    activity: () => served,
    onRelease: (before, after) =>
      log.debug("heap released after a load", {
        before_mb: Math.round(before / 1048576),
        after_mb: Math.round(after / 1048576),
      }),
  });

  return {
    handler: (req, info) => {
      served++;
      return batched(req, info);
    },
    registry,
    log,
    sql,
    metrics,
    reloadTools: reloads.reloadTools,
    // The MCP SDK is not loaded here: an ordinary session never needs it
    // (see mcp/door.ts), and the first message that does loads it then.
    warmUp: () => metrics.loadProcessMetrics(),
    reloadKeys: reloads.reloadKeys,
    async close() {
      idleMemory?.stop();
      deadlines.close();
      await reloads.close();
      redis?.disconnect();
      await cache?.close();
      upstream?.close();
      await demo?.close();
      await rag?.close();
      if (ownsSql) await sql.close();
    },
  };
}

/**
 * The document sources the tools file's vector_search tools reserve with
 * `documents:`, whether or not the toolset serves them: `search_documents`
 * never returns them, or a tool's `documents:` and `scopes:` would be no
 * boundary.
 */
function reservedDocumentsOf(spec: ToolsFileSpec | undefined): readonly string[] {
  const roots = new Set<string>();
  for (const tool of Object.values(spec?.tools ?? {})) {
    if (tool.kind === "vector_search" && tool.documents !== undefined) roots.add(tool.documents);
  }
  return Object.freeze([...roots]);
}

/** Reads the keys file and says what it holds (ids, never hashes); throws for a bad file. */
async function readKeys(file: string, log: Logger, what: string): Promise<FileKey[]> {
  // Loaded only with API_KEYS_FILE set (it brings the YAML parser).
  const { readKeysFile } = await import("./auth/keys_file.ts");
  const keys = await readKeysFile(file);
  const now = Date.now();
  const expired = keys.filter((k) => k.expiresAt !== undefined && k.expiresAt <= now);
  log.info(`API keys file ${what}`, { file, keys: keys.length });
  if (expired.length > 0) {
    log.warn("API keys file lists expired keys; they are refused", {
      file,
      key_ids: expired.map((k) => k.id),
    });
  }
  return keys;
}
