/**
 * Turns a checked tools file into tools: opens its sources and builds one
 * `Tool` per entry through its kind (`kinds/`), so file tools share the registry and the pipeline with
 * code tools (validation, deadline, read-only SQL with caps, the upstream
 * client's retries and breaker, audit line, metrics).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../../cache/response_cache.ts";
import type { Logger } from "../../observability/logger.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { NamedSource } from "../../observability/source_health.ts";
import { openPostgres } from "../../sources/db/postgres.ts";
import { postgresOptions } from "../../sources/db/postgres_options.ts";
import type { ColumnPolicy } from "../../config/column_policies.ts";
import type { PgParser } from "../../sources/db/pg_parser.ts";
import type { SqlSource } from "../../sources/db/sql_source.ts";
import { createUpstream } from "../../sources/http/upstream.ts";
import { upstreamOptions } from "../../sources/http/upstream_options.ts";
import type { Tool, ToolSources } from "../define.ts";
import { poolShare } from "../../parallel/pool_share.ts";
import type { KindSpec, ServerParts } from "./kinds/kind.ts";
import { toolKind } from "./kinds/mod.ts";
import type { ToolsFile } from "./load.ts";

/** Tools built from a file, and what closes the sources they opened. */
export interface BuiltTools {
  readonly tools: readonly Tool[];
  /** The file's sources by name, for `/health` (an embedded one may be the server's own database). */
  readonly sources: readonly NamedSource[];
  /** Closes the sources this file opened (not the server's own). */
  close(): Promise<void>;
}

/**
 * Puts a source behind column policies (`setting` names where they were
 * written; `liftedBy` defaults to `SQL_COLUMN_POLICIES_LIFTED_BY`); no
 * policies: the source itself. Throws `ColumnPolicyError` for a policy that
 * names no table or column.
 */
export type MaskSource = (
  source: SqlSource,
  columns: readonly ColumnPolicy[],
  setting: string,
  liftedBy?: string,
) => Promise<SqlSource>;

/** What building needs from the server. */
export interface BuildContext extends ServerParts {
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Opens an embedded database (only called when the server's own is not embedded). */
  readonly openEmbedded: () => Promise<SqlSource>;
  /** Column policies for a `postgres` source's `column_policies`; absent: such a file is refused. */
  readonly maskSource?: MaskSource;
  /** The server's one SQL parser (each load checks the file's statements with it). */
  readonly parser?: () => Promise<PgParser>;
}

/** Opens the file's sources and builds its tools. */
export async function buildTools(file: ToolsFile, ctx: BuildContext): Promise<BuiltTools> {
  const opened: { close(): Promise<void> | void }[] = [];
  const sources = new Map<string, ToolSources>();
  const named: NamedSource[] = [];
  const { config } = ctx;
  try {
    for (const [name, spec] of Object.entries(file.spec.sources)) {
      if (spec.kind === "postgres") {
        const source = openPostgres(postgresOptions({ ...config.db, identitySettings: undefined }, {
          url: spec.url,
          identitySettings: spec.identity_settings,
          // A file's pool_size is the server's budget too, like DB_POOL_SIZE.
          poolSize: spec.pool_size === undefined
            ? undefined
            : poolShare(spec.pool_size, config.workers, config.isolate),
          queryTimeoutSeconds: spec.query_timeout_seconds,
        }));
        opened.push(source);
        let sql: SqlSource = source;
        if (spec.column_policies !== undefined && spec.column_policies.length > 0) {
          if (!ctx.maskSource) {
            throw new Error(`sources.${name}.column_policies: not supported here`);
          }
          sql = await ctx.maskSource(
            source,
            spec.column_policies,
            `sources.${name}.column_policies`,
            spec.column_policies_lifted_by,
          );
        }
        sources.set(name, { sql });
        named.push({ name, optional: spec.optional, sql });
      } else if (spec.kind === "embedded") {
        let source = ctx.sql;
        if (source.kind !== "pglite") {
          source = await ctx.openEmbedded();
          opened.push(source);
        }
        sources.set(name, { sql: source });
        named.push({ name, optional: spec.optional, sql: source });
      } else {
        const upstream = createUpstream({
          ...upstreamOptions(config.upstream, {
            name,
            baseUrl: spec.base_url,
            timeoutSeconds: spec.timeout_seconds,
            maxRetries: spec.max_retries,
            maxConnections: spec.max_connections,
            headers: spec.headers,
          }),
          log: ctx.log,
          observe: ctx.metrics
            ? { attempt: ctx.metrics.upstreamAttempt, circuit: ctx.metrics.upstreamCircuit }
            : undefined,
        });
        opened.push(upstream);
        sources.set(name, { api: upstream });
        named.push({ name, optional: spec.optional, api: upstream });
      }
    }
    const tools = [...file.tools].map(([name, { spec, checked }]) => {
      const entry: KindSpec = spec;
      const source = entry.source === undefined ? undefined : sources.get(entry.source);
      return toolKind(spec.kind).build(name, spec, checked, { ...ctx, source });
    });
    return {
      tools: tools.map((tool) => withCache(tool, file.spec)),
      sources: named,
      async close() {
        await Promise.allSettled(opened.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.allSettled(opened.map((s) => s.close()));
    throw error;
  }
}

/**
 * A tool with `cache_ttl_seconds` gets it, and a `cacheVersion` hashed from
 * its own entry and its source's: a reload that changes either never serves
 * results cached for the old definition.
 */
function withCache(tool: Tool, spec: ToolsFile["spec"]): Tool {
  const entry = spec.tools[tool.name];
  if (entry?.cache_ttl_seconds === undefined) return tool;
  const source = "source" in entry && entry.source !== undefined
    ? spec.sources[entry.source]
    : undefined;
  const cacheVersion = createHash("sha256").update(canonicalJson({ entry, source }))
    .digest("base64url").slice(0, 22);
  return Object.freeze({ ...tool, cacheTtlSeconds: entry.cache_ttl_seconds, cacheVersion });
}
