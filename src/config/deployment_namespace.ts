/**
 * The namespace that scopes what a deployment keeps in a shared store (the
 * Redis response cache and rate-limit counters): `DEPLOYMENT_NAME` plus a
 * digest of what defines the deployment's data. Two deployments sharing one
 * Redis used to serve each other's cached results and share each other's
 * counters, since a key named only the API key id (`primary`); now two whose
 * data differs never share an entry, and the replicas of one deployment
 * (same config) still do.
 *
 * What goes into the digest: the database (`DB_URL`, or the embedded
 * database's folder), the upstream (`API_BASE_URL` and its credential, which
 * may pick the tenant whose data it serves), the RAG store when RAG is on,
 * the toolset, and the tools file as checked (its `${NAME}` references
 * resolved, so one file read under two environments differs). Database
 * passwords are left out (a PostgreSQL role sees the same data whatever its
 * password): the digest sits in Redis key names, and a truncated hash of a
 * weak password beside otherwise known text could be guessed offline. So a
 * password rotation keeps the namespace; an upstream token rotation starts a
 * new one (entries are not shared across it, the safe side).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Config } from "./env.ts";

/**
 * What of a tools file's checked spec the digest reads: its sources and
 * tools (plain data; parsed from the file in its order, so replicas with
 * the same file agree).
 */
export interface ToolsFileIdentity {
  readonly sources: Readonly<Record<string, unknown>>;
  readonly tools: Readonly<Record<string, unknown>>;
}

/**
 * `<DEPLOYMENT_NAME>:<16 hex digits>`: the scope of this deployment's
 * entries in a shared store.
 *
 * @example Replicas agree; another database is another namespace
 * ```ts
 * import { deploymentNamespace } from "./deployment_namespace.ts";
 * import { parseConfig } from "./env.ts";
 * import assert from "node:assert/strict";
 *
 * const a = parseConfig({ DB_URL: "postgres://app:one@db-a/sales" });
 * const replica = parseConfig({ DB_URL: "postgres://app:two@db-a/sales" });
 * const b = parseConfig({ DB_URL: "postgres://app:one@db-b/sales" });
 * assert.equal(deploymentNamespace(a), deploymentNamespace(replica));
 * assert.notEqual(deploymentNamespace(a), deploymentNamespace(b));
 * assert.match(deploymentNamespace(a), /^default:[0-9a-f]{16}$/);
 * ```
 */
export function deploymentNamespace(config: Config, toolsFile?: ToolsFileIdentity): string {
  const material = JSON.stringify([
    config.db.url === undefined
      ? `embedded:${config.db.pgliteDataDir ?? "(memory)"}`
      : withoutPassword(config.db.url),
    config.upstream.baseUrl ?? "(none)",
    config.upstream.auth ?? "(none)",
    !config.enableRag
      ? "(off)"
      : config.rag.dbUrl === undefined
      ? `embedded:${config.rag.pgliteDir}`
      : withoutPassword(config.rag.dbUrl),
    config.toolset ?? "(all)",
    toolsFile === undefined ? "(none)" : {
      sources: Object.fromEntries(
        Object.entries(toolsFile.sources).map(([name, source]) => [name, withoutSecrets(source)]),
      ),
      tools: toolsFile.tools,
    },
  ]);
  const digest = createHash("sha256").update(material).digest("hex").slice(0, 16);
  return `${config.deploymentName}:${digest}`;
}

/** A tools-file source with its database password left out (see the module doc). */
function withoutSecrets(source: unknown): unknown {
  if (source === null || typeof source !== "object") return source;
  const out: Record<string, unknown> = { ...source as Record<string, unknown> };
  if (out.kind === "postgres" && typeof out.url === "string") out.url = withoutPassword(out.url);
  return out;
}

/**
 * A PostgreSQL URL without its password (in the user info, or the
 * `password` / `sslpassword` query parameters); everything that picks the
 * data (host, port, database, user, `options` such as a search_path) stays.
 */
function withoutPassword(raw: string): string {
  try {
    const u = new URL(raw);
    u.password = "";
    u.searchParams.delete("password");
    u.searchParams.delete("sslpassword");
    return u.toString();
  } catch {
    // Not a WHATWG URL (a tools-file source; it then fails to open anyway):
    // the user info dropped as text, so two such URLs still differ by host.
    return raw.replace(/\/\/[^/@]*@/, "//").replace(/[?].*$/, "");
  }
}
