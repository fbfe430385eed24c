/**
 * Turns a checked tools file into tools: opens its sources and builds one
 * `Tool` per entry, so file tools share the registry and the pipeline with
 * code tools (validation, deadline, read-only SQL with caps, the upstream
 * client's retries and breaker, audit line, metrics).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../../cache/response_cache.ts";
import type { Config } from "../../config/env.ts";
import type { Logger } from "../../observability/logger.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { NamedSource } from "../../observability/source_health.ts";
import { openPostgres } from "../../sources/db/postgres.ts";
import { postgresOptions } from "../../sources/db/postgres_options.ts";
import { DatabaseError, makeSqlQuery, type SqlSource } from "../../sources/db/sql_source.ts";
import { apiPath, encodeSegment } from "../../sources/http/path.ts";
import { createUpstream, type Upstream } from "../../sources/http/upstream.ts";
import { defineTool, type Tool, type ToolContext, type ToolSources } from "../define.ts";
import { ToolError } from "../errors.ts";
import { type CursorCodec, MAX_CURSOR_LENGTH } from "../result_cursor.ts";
import { poolShare } from "../../parallel/pool_share.ts";
import type { CheckedStatement, ToolsFile } from "./load.ts";
import { identityBindings, inputSchema, parameterSchema, type ToolSpec } from "./spec.ts";
import { callerKey, claimText } from "../../auth/principal.ts";

/** Tools built from a file, and what closes the sources they opened. */
export interface BuiltTools {
  readonly tools: readonly Tool[];
  /** The file's sources by name, for `/health` (an embedded one may be the server's own database). */
  readonly sources: readonly NamedSource[];
  /** Closes the sources this file opened (not the server's own). */
  close(): Promise<void>;
}

/** What building needs from the server. */
export interface BuildContext {
  readonly config: Config;
  /** The server's own database (DB_URL or the embedded one). */
  readonly sql: SqlSource;
  /** The server's own upstream (API_BASE_URL or the demo), when there is one. */
  readonly upstream: Upstream | undefined;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** The RAG store and its search, when `ENABLE_RAG` is on (vector_search tools need it). */
  readonly rag?: {
    readonly store: SqlSource;
    search(
      reader: ToolContext["sql"],
      request: { query: string; topK: number; source?: string; signal?: AbortSignal },
    ): Promise<unknown>;
  };
  /** Opens an embedded database (only called when the server's own is not embedded). */
  readonly openEmbedded: () => Promise<SqlSource>;
  /** Cursors continuing a truncated SELECT result; without it, results do not continue. */
  readonly cursors?: CursorCodec;
}

const SqlOutput = z.object({
  rows: z.array(z.record(z.string(), z.unknown())),
  row_count: z.int(),
  truncated: z.unknown().optional(),
  cursor: z.string().optional(),
});

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
        sources.set(name, { sql: source });
        named.push({ name, optional: spec.optional, sql: source });
      } else if (spec.kind === "embedded") {
        let source = ctx.sql;
        if (source.kind !== "pglite") {
          source = await ctx.openEmbedded();
          opened.push(source);
        }
        sources.set(name, { sql: source });
        named.push({ name, optional: spec.optional, sql: source });
      } else {
        const u = config.upstream;
        const upstream = createUpstream({
          name,
          baseUrl: spec.base_url,
          attemptTimeoutMs: (spec.timeout_seconds ?? u.timeoutSeconds) * 1000,
          maxRetries: spec.max_retries ?? u.maxRetries,
          backoff: {
            initialMs: u.backoffInitialSeconds * 1000,
            factor: u.backoffFactor,
            maxMs: u.backoffMaxSeconds * 1000,
          },
          maxConnections: spec.max_connections ?? u.maxConnections,
          circuitFailures: u.circuitFailures,
          circuitMinCallers: u.circuitMinCallers,
          circuitCooldownMs: u.circuitCooldownSeconds * 1000,
          maxResponseBytes: u.maxResponseBytes,
          headers: spec.headers,
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
    const tools = Object.entries(file.spec.tools).map(([name, spec]) => {
      // Without a source of its own a tool reads the server's (named, so
      // /health knows what each tool depends on).
      const own = spec.kind === "vector_search"
        ? undefined
        : spec.source !== undefined
        ? sources.get(spec.source)
        : spec.kind === "sql"
        ? { sql: ctx.sql }
        : ctx.upstream && { api: ctx.upstream };
      if (spec.kind === "sql") {
        return sqlTool(
          name,
          spec,
          file.sqlStatements.get(name)!,
          config.db.maxRows,
          own,
          ctx.cursors,
        );
      }
      if (spec.kind === "http") {
        if (own === undefined && ctx.upstream === undefined) {
          throw new Error(
            `Tool "${name}": an http tool without a source needs API_BASE_URL (or give it a source)`,
          );
        }
        return httpTool(name, spec, file.httpPaths.get(name)!, own);
      }
      if (ctx.rag === undefined) {
        throw new Error(`Tool "${name}": a vector_search tool needs ENABLE_RAG=true`);
      }
      return vectorTool(name, spec, ctx.rag);
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

function common(name: string, spec: ToolSpec) {
  const identity = identityBindings(spec.parameters);
  return {
    name,
    description: spec.description,
    input: inputSchema(spec.parameters),
    timeoutSeconds: spec.timeout_seconds,
    rateLimitCost: spec.cost,
    deprecated: spec.deprecated,
    scopes: spec.scopes,
    ...(identity ? { identity } : {}),
  };
}

/**
 * The call's values: the validated arguments plus each identity-bound
 * parameter from the verified claims (checked against the parameter's own
 * bounds). Admission already refused a caller without the claims; this is
 * the same refusal, kept where the values are used.
 */
function callValues(spec: ToolSpec, input: unknown, ctx: ToolContext): Record<string, unknown> {
  const values = { ...(input as Record<string, unknown>) };
  for (const [name, p] of Object.entries(spec.parameters)) {
    if (p.from === undefined) continue;
    const claim = p.from.slice("claim ".length);
    const value = claimText(ctx.principal, claim);
    if (value === undefined || !parameterSchema(p).safeParse(value).success) {
      throw identityMissing(claim);
    }
    values[name] = value;
  }
  return values;
}

/** The refusal of a call whose caller's identity lacks a claim a bound parameter needs. */
function identityMissing(claim: string): ToolError {
  return new ToolError(
    "forbidden",
    `This tool acts for a signed-in user: the caller's token has no usable "${claim}" claim`,
  );
}

function sqlTool(
  name: string,
  spec: Extract<ToolSpec, { kind: "sql" }>,
  checked: CheckedStatement,
  serverMaxRows: number,
  sources: ToolSources | undefined,
  cursors: CursorCodec | undefined,
): Tool {
  const maxRows = Math.min(spec.max_rows ?? Infinity, serverMaxRows);
  // A SELECT's truncated result continues with a cursor (result_cursor.ts).
  const pages = checked.statement === "select" ? cursors : undefined;
  if (pages && "cursor" in spec.parameters) {
    throw new Error(
      `Tool "${name}": a sql tool's parameter may not be named "cursor" (it continues a truncated result)`,
    );
  }
  const input = inputSchema(spec.parameters);
  // The next page re-runs the statement after the rows already returned.
  const paged = `SELECT * FROM (\n${checked.text}\n) AS mcp_page OFFSET $${
    checked.order.length + 1
  }`;
  return defineTool({
    ...common(name, spec),
    input: pages
      ? input.extend({
        cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional().describe(
          "The cursor of a truncated result, to get its next page (with the same other arguments).",
        ),
      })
      : input,
    output: SqlOutput,
    annotations: { readOnlyHint: true, openWorldHint: false, ...spec.annotations },
    sources,
    async handler(input, ctx) {
      const { cursor, ...args } = input as Record<string, unknown>;
      // A cursor is bound to the caller (and its end user) and the model's arguments.
      const call = { principal: callerKey(ctx.principal), tool: name, args };
      const offset = pages && typeof cursor === "string" ? await pages.open(cursor, call) : 0;
      const values = callValues(spec, args, ctx);
      // An optional parameter left out binds SQL NULL.
      const bound = checked.order.map((n) => values[n] ?? null);
      let result;
      try {
        result = await ctx.sql.query(
          offset === 0
            ? makeSqlQuery(checked.text, bound)
            : makeSqlQuery(paged, [...bound, offset]),
          { name, maxRows },
        );
      } catch (error) {
        // SQLSTATE class 22 (data exception: a date that does not exist, a
        // number out of range) comes from a value the caller sent. The
        // database's text may quote table data, so it is not passed on.
        if (error instanceof DatabaseError && error.code?.startsWith("22")) {
          throw new ToolError("invalid_input", "Invalid input: the database refused a value", {
            cause: error,
          });
        }
        throw error;
      }
      const next = pages && result.truncated && result.rows.length > 0
        ? await pages.issue(call, offset + result.rows.length)
        : undefined;
      return {
        rows: result.rows,
        row_count: result.rows.length,
        ...(result.truncated ? { truncated: result.truncated } : {}),
        ...(next !== undefined && { cursor: next }),
      };
    },
  });
}

function httpTool(
  name: string,
  spec: Extract<ToolSpec, { kind: "http" }>,
  template: { parts: string[]; names: string[] },
  sources: ToolSources | undefined,
): Tool {
  const strings = Object.assign([...template.parts], { raw: [...template.parts] });
  const placeholder = (value: string) => /^\{([a-z][a-z0-9_]{0,63})\}$/.exec(value)?.[1];
  return defineTool({
    ...common(name, spec),
    annotations: { readOnlyHint: true, openWorldHint: true, ...spec.annotations },
    sources,
    async handler(input, ctx) {
      const values = callValues(spec, input, ctx);
      // Each path value is one encoded segment (apiPath). Checked one by one
      // first, so a value that cannot be a segment (empty, dots only) is
      // refused naming its parameter. Path parameters are never optional
      // (refused at load), so no value here is undefined.
      const segments = template.names.map((n) => {
        const value = String(values[n]);
        try {
          encodeSegment(value);
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          throw new ToolError("invalid_input", "Invalid input", {
            details: [{ field: n, message: error.message }],
          });
        }
        return value;
      });
      const path = apiPath(strings as unknown as TemplateStringsArray, ...segments);
      const query: Record<string, string | undefined> = {};
      for (const [key, value] of Object.entries(spec.query)) {
        const ref = placeholder(value);
        query[key] = ref === undefined
          ? value
          : values[ref] === undefined
          ? undefined
          : String(values[ref]);
      }
      const options = { query, notFound: spec.not_found ?? "Not found" };
      if (spec.method === "POST") {
        return await ctx.api.post(path, fillBody(spec.body ?? {}, values, placeholder), options);
      }
      return await ctx.api.get(path, options);
    },
  });
}

function vectorTool(
  name: string,
  spec: Extract<ToolSpec, { kind: "vector_search" }>,
  rag: NonNullable<BuildContext["rag"]>,
): Tool {
  return defineTool({
    name,
    description: spec.description,
    input: z.strictObject({
      query: z.string().min(1).max(2000).describe("What to look for, in natural language"),
      top_k: z.int().min(1).max(spec.max_top_k).default(spec.top_k)
        .describe(`How many passages to return (1-${spec.max_top_k})`),
    }),
    timeoutSeconds: spec.timeout_seconds,
    rateLimitCost: spec.cost,
    deprecated: spec.deprecated,
    scopes: spec.scopes,
    annotations: {
      readOnlyHint: true,
      openWorldHint: false,
      idempotentHint: true,
      ...spec.annotations,
    },
    sources: { sql: rag.store },
    handler: ({ query, top_k }, ctx) =>
      rag.search(ctx.sql, { query, topK: top_k, source: spec.documents, signal: ctx.signal }),
  });
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

/** The body template with every exact `"{name}"` string replaced by that parameter's value. */
function fillBody(
  template: unknown,
  values: Record<string, unknown>,
  placeholder: (s: string) => string | undefined,
): unknown {
  if (typeof template === "string") {
    const ref = placeholder(template);
    return ref === undefined ? template : (values[ref] ?? null);
  }
  if (Array.isArray(template)) return template.map((v) => fillBody(v, values, placeholder));
  if (template && typeof template === "object") {
    return Object.fromEntries(
      Object.entries(template).map(([k, v]) => [k, fillBody(v, values, placeholder)]),
    );
  }
  return template;
}
