/**
 * Which sources `/health` checks, and which of them readiness depends on.
 *
 * Every source is reported by name: the server's own database (`DB_URL` or
 * the embedded one) as `database`, its own upstream (`API_BASE_URL` or the
 * demo one) as `upstream_api`, and each tools-file source under its name in
 * the file. The rule for readiness:
 *
 * - a source that at least one served tool uses is **required**: while it is
 *   down, `/health` and `/health/ready` answer 503;
 * - a source no served tool uses (a tools-file source whose tools `TOOLSET`
 *   left out, the server's database when only other sources' tools are
 *   served) is reported, and never fails readiness;
 * - a tools-file source marked `optional: true` is reported, and never fails
 *   readiness either: its own tools answer 503/502 while it is down, the
 *   others keep being served.
 *
 * A tool with its own source uses that one. A tool without (code tools)
 * uses the server's: the built-in REST tools its upstream, the built-in SQL
 * tools and `sql_query` its database, any other code tool both.
 *
 * @module
 */
import type { SqlSource } from "../sources/db/sql_source.ts";
import type { Upstream } from "../sources/http/upstream.ts";
import { API_TOOLS, SQL_TOOLS } from "../tools/builtin/mod.ts";
import type { Tool } from "../tools/define.ts";

/** How long one source's check may take before it counts as failed. */
export const CHECK_TIMEOUT_MS = 5000;

/** A source the server opened, as health sees it. */
export interface NamedSource {
  readonly name: string;
  /** Reported but never fails readiness (a tools file's `optional: true`). */
  readonly optional?: boolean;
  readonly sql?: SqlSource;
  readonly api?: Upstream;
}

/** One source to check. */
export interface WatchedSource {
  readonly name: string;
  /** `server`: `DB_URL`/`API_BASE_URL` (or their demo stand-ins); `tools_file`: a file's source. */
  readonly origin: "server" | "tools_file";
  readonly type: "database" | "api";
  /** Whether readiness fails while it is down (see the module doc). */
  readonly required: boolean;
  /** Resolves true when the source answers within `signal`. */
  check(signal: AbortSignal): Promise<boolean>;
}

/**
 * The sources to check now: the server's own and the tools file's, each
 * marked required when a served tool uses it.
 *
 * @example A tools-file source no served tool uses is not required
 * ```ts
 * import assert from "node:assert/strict";
 * import { watchedSources } from "./source_health.ts";
 * import type { SqlSource } from "../sources/db/sql_source.ts";
 *
 * const db = { kind: "postgres", ping: () => Promise.resolve() } as unknown as SqlSource;
 * const spare = { kind: "postgres", ping: () => Promise.resolve() } as unknown as SqlSource;
 * const watched = watchedSources({
 *   sql: db,
 *   upstream: undefined,
 *   file: [{ name: "spare", sql: spare }],
 *   tools: [],
 * });
 * assert.deepEqual(watched.map((s) => [s.name, s.required]), [["database", false], ["spare", false]]);
 * ```
 */
export function watchedSources(options: {
  readonly sql: SqlSource;
  readonly upstream: Upstream | undefined;
  /** The tools file's sources (none without a tools file). */
  readonly file: readonly NamedSource[] | undefined;
  /** The tools served now. */
  readonly tools: readonly Tool[];
}): WatchedSource[] {
  const used = new Set<SqlSource | Upstream>();
  for (const tool of options.tools) {
    for (const source of sourcesOf(tool, options.sql, options.upstream)) used.add(source);
  }
  const watched: WatchedSource[] = [{
    name: "database",
    origin: "server",
    type: "database",
    required: used.has(options.sql),
    check: (signal) => options.sql.ping(signal).then(() => true),
  }];
  if (options.upstream) {
    const upstream = options.upstream;
    watched.push({
      name: "upstream_api",
      origin: "server",
      type: "api",
      required: used.has(upstream),
      check: (signal) => upstreamResponds(upstream.baseUrl.href, signal),
    });
  }
  for (const source of options.file ?? []) {
    const handle = source.sql ?? source.api;
    // An embedded tools-file source may be the server's own database: checked once, as `database`.
    if (handle === undefined || handle === options.sql) continue;
    watched.push({
      name: source.name,
      origin: "tools_file",
      type: source.sql ? "database" : "api",
      required: used.has(handle) && source.optional !== true,
      check: source.sql
        ? (signal) => source.sql!.ping(signal).then(() => true)
        : (signal) => upstreamResponds(source.api!.baseUrl.href, signal),
    });
  }
  return watched;
}

/** The sources one tool reads (see the module doc for tools without their own). */
function sourcesOf(
  tool: Tool,
  sql: SqlSource,
  upstream: Upstream | undefined,
): (SqlSource | Upstream)[] {
  if (tool.sources) {
    return [tool.sources.sql, tool.sources.api].filter((s) => s !== undefined);
  }
  if (API_TOOLS.includes(tool)) return upstream ? [upstream] : [];
  if (SQL_TOOLS.includes(tool) || tool.name === "sql_query") return [sql];
  return upstream ? [sql, upstream] : [sql];
}

/**
 * A light request to an upstream API: any answer below 500 means it is
 * there (a 401 or 404 on its root still proves it responds).
 */
async function upstreamResponds(baseUrl: string, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(baseUrl, { method: "HEAD", redirect: "manual", signal });
    await res.body?.cancel();
    return res.status < 500;
  } catch {
    return false;
  }
}
