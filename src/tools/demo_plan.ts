/**
 * Demo tools only with the demo. The built-in tools (`get_top_customers`,
 * `lookup_customer`, `get_customer`, `get_orders`) read the demo schema: on
 * a real database they would be offered to the model and answer 500
 * (`relation "orders" does not exist`), and the demo upstream would query
 * that database. So, with `DEMO_TOOLS=auto` (the default), they are served
 * only when every source is the demo's: no `DB_URL`, no `API_BASE_URL`, and
 * no tools-file source of kind `postgres` or `http`.
 *
 * And in staging and production the embedded demo database serves only when
 * asked for by name (`DB_EMBEDDED=true` or `PGLITE_DATA_DIR`): a tools file
 * without a database of its own, or whose SQL tools would read the embedded
 * one, stops the start (the environment-only cases are `parseConfig`'s).
 *
 * The tools file is read here for its sources only (raw YAML, nothing
 * checked): the real load, later, reports every problem it has.
 *
 * @module
 */
import { type Config, ConfigError } from "../config/env.ts";

/** What {@linkcode planDemo} decided. */
export interface DemoPlan {
  /** Serve the built-in demo tools (and, without `API_BASE_URL`, the demo upstream). */
  readonly demoTools: boolean;
  /** Why, for the start log. */
  readonly reason: string;
}

/** Reads a file as text; injectable for tests. */
export type ReadText = (path: string) => Promise<string>;

interface RawToolsFile {
  /** Source name → kind (a map: a source may be named `__proto__`). */
  sources: Map<string, string>;
  sqlTools: { name: string; source: string | undefined }[];
}

/**
 * Decides whether the demo tools are served; throws {@linkcode ConfigError}
 * when staging or production would serve the embedded demo database without
 * being asked to.
 *
 * @example Your own database: only your tools
 * ```ts
 * import { planDemo } from "./demo_plan.ts";
 * import { parseConfig } from "../config/env.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal((await planDemo(parseConfig({}))).demoTools, true);
 * const own = parseConfig({ DB_URL: "postgres://db.internal/app" });
 * assert.equal((await planDemo(own)).demoTools, false);
 * ```
 */
export async function planDemo(
  config: Config,
  readText: ReadText = Deno.readTextFile,
): Promise<DemoPlan> {
  const file = config.toolsFile === undefined
    ? undefined
    : await readRaw(config.toolsFile, readText);
  const ownSources = [...(file?.sources ?? new Map<string, string>())]
    .filter(([, kind]) => kind === "postgres" || kind === "http")
    .map(([name]) => name);

  const production = config.environment !== "development";
  const embeddedAskedFor = config.db.embedded || config.db.pgliteDataDir !== undefined;
  if (production && config.db.url === undefined && !embeddedAskedFor) {
    const problems: string[] = [];
    if (config.demoTools === "true") {
      problems.push(
        "DEMO_TOOLS: the demo tools read the server's own database: set DB_URL " +
          "(or DB_EMBEDDED=true for the embedded demo database)",
      );
    }
    if (file !== undefined) {
      if (![...file.sources.values()].includes("postgres")) {
        problems.push(
          `DB_URL: is required in "${config.environment}" when the tools file ` +
            `${config.toolsFile} has no postgres source; DB_EMBEDDED=true serves the embedded ` +
            "demo database on purpose",
        );
      }
      const embedded = file.sqlTools.filter((t) =>
        t.source === undefined || file.sources.get(t.source) === "embedded"
      );
      if (embedded.length > 0) {
        problems.push(
          `DB_URL: tools file tools ${
            embedded.map((t) => `"${t.name}"`).join(", ")
          } would read the embedded demo database in "${config.environment}": ` +
            "give them a postgres source, or set DB_URL (or DB_EMBEDDED=true)",
        );
      }
    }
    if (problems.length > 0) throw new ConfigError(problems);
  }

  if (config.demoTools !== "auto") {
    return { demoTools: config.demoTools === "true", reason: `DEMO_TOOLS=${config.demoTools}` };
  }
  if (config.db.url !== undefined) return { demoTools: false, reason: "DB_URL is set" };
  if (config.upstream.baseUrl !== undefined) {
    return { demoTools: false, reason: "API_BASE_URL is set" };
  }
  if (ownSources.length > 0) {
    return {
      demoTools: false,
      reason: `the tools file has sources of its own: ${ownSources.join(", ")}`,
    };
  }
  return { demoTools: true, reason: "every source is the demo's" };
}

/** The tools file's source kinds and SQL tools, or undefined when it cannot be read or parsed. */
async function readRaw(path: string, readText: ReadText): Promise<RawToolsFile | undefined> {
  // Loaded only with a tools file, like the loader itself. Outside the try: a
  // parser that fails to load is a fault, not an unreadable file (which would
  // serve the demo tools).
  const { parse } = await import("../config/yaml.ts");
  let doc: unknown;
  try {
    doc = parse(await readText(path));
  } catch {
    return undefined;
  }
  const record = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? value as Record<string, unknown>
      : {};
  const sources = new Map<string, string>();
  for (const [name, spec] of Object.entries(record(record(doc).sources))) {
    const kind = record(spec).kind;
    if (typeof kind === "string") sources.set(name, kind);
  }
  const sqlTools: RawToolsFile["sqlTools"] = [];
  for (const [name, spec] of Object.entries(record(record(doc).tools))) {
    const { kind, source } = record(spec);
    if (kind === "sql") {
      sqlTools.push({ name, source: typeof source === "string" ? source : undefined });
    }
  }
  return { sources, sqlTools };
}
