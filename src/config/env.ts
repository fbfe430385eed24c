/**
 * The server's configuration: every environment variable it reads, parsed and
 * validated once at start into one frozen, typed object that is passed down.
 * Nothing else in the program reads `Deno.env`.
 *
 * @module
 */
import { z } from "zod";
import { SCOPE_PATTERN } from "../auth/scope_names.ts";
import { normalizeCidr } from "../net/ip_ranges.ts";
import { type ColumnPolicy, parseColumnPolicies } from "./column_policies.ts";

/** Deployment environment; `staging` and `production` refuse to start without a key. */
export type Environment = "development" | "staging" | "production";
/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** One accepted API key. `id` is what logs and metrics name; `key` never leaves the auth check. */
export interface ApiKey {
  readonly id: string;
  readonly key: string;
  /** `API_KEY_<ID>_SCOPES`; absent: the key may call every tool. */
  readonly scopes?: readonly string[];
}

/**
 * Which credentials a request may present (`AUTH_MODE`): API keys, OAuth
 * bearer tokens (JWT access tokens), or either.
 */
export type AuthMode = "keys" | "tokens" | "both";

/** Asymmetric JWS algorithms a token may be signed with; `none` and HS* never. */
export const TOKEN_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

/** The OAuth 2.1 resource-server settings (`OAUTH_*`), present when tokens are accepted. */
export interface OAuthConfig {
  /** `OAUTH_ISSUER`: the `iss` every token must carry, exactly. */
  readonly issuer: string;
  /**
   * `OAUTH_RESOURCE`: this server's resource URL (RFC 8707/9728), the `aud`
   * every token must name. A token for another resource is refused.
   */
  readonly resource: string;
  /** `OAUTH_JWKS_URL`: the issuer's key set, fetched and cached. */
  readonly jwksUrl: string | undefined;
  /** `OAUTH_JWKS_FILE`: a static key set (a backend that mints its own tokens). */
  readonly jwksFile: string | undefined;
  /** `OAUTH_ALGORITHMS`: the allow-list (asymmetric only). */
  readonly algorithms: readonly string[];
  /** `OAUTH_CLOCK_SKEW_SECONDS`: tolerance on `exp`, `nbf` and `iat`. */
  readonly clockSkewSeconds: number;
  /** `OAUTH_USER_CLAIM`: the claim naming the end user (default `sub`). */
  readonly userClaim: string;
  /** `OAUTH_CLIENT_CLAIM`: the claim naming the client (default `client_id`, then `azp`). */
  readonly clientClaim: string;
  /**
   * `OAUTH_SCOPE_MAP`: token scope → tool scopes. Absent: a token's scopes are
   * taken by name; present: only mapped token scopes count.
   */
  readonly scopeMap: Readonly<Record<string, readonly string[]>> | undefined;
  /** `OAUTH_AUTHORIZATION_SERVERS`: what the metadata lists (default: the issuer). */
  readonly authorizationServers: readonly string[];
  /** JWKS fetch: per-fetch timeout, the least time between refreshes, how long keys are kept. */
  readonly jwksTimeoutSeconds: number;
  readonly jwksCooldownSeconds: number;
  readonly jwksCacheSeconds: number;
}

/** The parsed, validated configuration. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /**
   * HTTP listeners, one isolate each, sharing the port (SO_REUSEPORT). Above
   * 1 the process serves from as many cores; see src/parallel/.
   */
  readonly workers: number;
  /**
   * Which isolate this config serves (0: the primary). Above 1 isolate, the
   * pool sizes are this isolate's part of the budget: see
   * src/parallel/pool_share.ts.
   */
  readonly isolate: number;
  readonly environment: Environment;
  /**
   * Names this deployment in shared stores (Redis cache and rate-limit keys),
   * together with a digest of its data (src/config/deployment_namespace.ts).
   */
  readonly deploymentName: string;
  readonly logLevel: LogLevel;
  readonly logFormat: "json" | "text";
  readonly logFile: string | undefined;
  readonly apiKeys: readonly ApiKey[];
  /** More keys, hashed, with scopes, limits and expiry (re-read on SIGHUP). */
  readonly apiKeysFile: string | undefined;
  /** `AUTH_MODE`: keys, tokens or both (default keys). */
  readonly authMode: AuthMode;
  /** The token settings; present exactly when `authMode` accepts tokens. */
  readonly oauth: OAuthConfig | undefined;
  readonly db: {
    readonly url: string | undefined;
    /**
     * `DB_EMBEDDED`: the embedded demo database was asked for by name. In
     * staging and production a start without `DB_URL` needs it (or
     * `PGLITE_DATA_DIR`), so a mistyped `DB_URL` never serves the demo.
     */
    readonly embedded: boolean;
    /** Where the embedded database keeps its files (without `url`); unset: in memory. */
    readonly pgliteDataDir: string | undefined;
    readonly poolSize: number;
    readonly poolMaxOverflow: number;
    readonly poolRecycleSeconds: number;
    readonly queryTimeoutSeconds: number;
    readonly connectTimeoutSeconds: number;
    readonly idleTimeoutSeconds: number;
    /** Statements one connection may carry at once when all are known to be fast (1: never shared). */
    readonly pipelineDepth: number;
    /** Row and byte caps on every query result. */
    readonly maxRows: number;
    readonly maxResultBytes: number;
    /**
     * `DB_IDENTITY_SETTINGS` (`app.user_id=sub,…`): settings made
     * transaction-local before every statement on `DB_URL`'s database, each
     * from a claim of the caller's verified token, for row-level security.
     */
    readonly identitySettings: Readonly<Record<string, string>> | undefined;
    /**
     * `SQL_COLUMN_POLICIES`: what callers see of sensitive columns of this
     * database, whichever tool reads them (see `column_policy.ts`).
     */
    readonly columnPolicies: {
      readonly columns: readonly ColumnPolicy[];
      /** `SQL_COLUMN_POLICIES_LIFTED_BY`: a caller with this scope sees the columns as they are. */
      readonly liftedBy: string | undefined;
      /** `SQL_HASH_KEY`: the HMAC key of `hash` columns; unset: derived like the cursor secret. */
      readonly hashKey: string | undefined;
    };
  };
  /** The opt-in `sql_query` tool. */
  readonly sqlQuery: {
    readonly enabled: boolean;
    /** Tables it may read; empty: any the database role may read. */
    readonly allowedTables: readonly string[];
    /** Functions it may call beyond the built-in analyst allow-list. */
    readonly allowedFunctions: readonly string[];
  };
  /**
   * The opt-in database toolset (`list_schemas`, `list_tables`,
   * `describe_table`, `sample_rows`, `explain_query`) on the server's own
   * database; it honours `sqlQuery.allowedTables` and `allowedFunctions`.
   */
  readonly dbSchema: { readonly enabled: boolean };
  /** Cursors that continue a capped SQL result (`sql_query`, tools-file SQL tools). */
  readonly cursors: {
    /** HMAC key material shared by every replica; unset: derived from the API keys. */
    readonly secret: string | undefined;
    /** How long a cursor may be used after the page that carried it. */
    readonly ttlSeconds: number;
  };
  readonly upstream: {
    readonly baseUrl: string | undefined;
    /** Per attempt; the tool's deadline bounds the whole call. */
    readonly timeoutSeconds: number;
    readonly maxRetries: number;
    /** Retry n waits up to `backoffInitialSeconds × backoffFactor^(n−1)`, capped by `backoffMaxSeconds`. */
    readonly backoffFactor: number;
    readonly backoffInitialSeconds: number;
    readonly backoffMaxSeconds: number;
    readonly maxConnections: number;
    readonly maxResponseBytes: number;
    readonly circuitFailures: number;
    /** Different callers (principals) whose failures open the circuit for everyone. */
    readonly circuitMinCallers: number;
    readonly circuitCooldownSeconds: number;
    /** Header and full value that authenticate us to the upstream. */
    readonly auth: { readonly header: string; readonly value: string } | undefined;
  };
  readonly rateLimitRpm: number;
  readonly rateLimit: {
    /** Window length; the limit is `rateLimitRpm` per window (60 s: per minute). */
    readonly windowSeconds: number;
    readonly storage: "memory" | "redis";
    readonly redisUrl: string | undefined;
    readonly failMode: "open" | "closed";
    /** Points a call of each tool costs (default 1). */
    readonly toolCosts: Readonly<Record<string, number>>;
    /** Per-key limits overriding `rateLimitRpm`, by key id. */
    readonly keyRpm: Readonly<Record<string, number>>;
    /**
     * `RATE_LIMIT_USER_RPM`: each end user's own budget inside their
     * client's, so one user cannot spend it all; unset: half the client's.
     */
    readonly userRpm: number | undefined;
    /** Failed authentications allowed per client address per window. */
    readonly authFailuresPerWindow: number;
    /**
     * Tool calls one key may have running at once in this isolate
     * (`MAX_CONCURRENT_CALLS_PER_KEY`); unset: half the database pool, at
     * least 1, so one key cannot hold every connection.
     */
    readonly maxConcurrentCallsPerKey: number | undefined;
  };
  /** The response cache of tools that opt in with `cacheTtlSeconds` / `cache_ttl_seconds`. */
  readonly cache: {
    /** `off`: nothing is cached, whatever the tools ask. */
    readonly storage: "off" | "memory" | "redis";
    /** `CACHE_REDIS_URL`, else `REDIS_URL`. */
    readonly redisUrl: string | undefined;
    /** Put before every Redis key. */
    readonly redisPrefix: string;
    /** Memory store bounds: entries, and bytes of JSON (least recently used out first). */
    readonly maxEntries: number;
    readonly maxBytes: number;
    /** Results whose JSON is longer are not cached (both stores). */
    readonly maxEntryBytes: number;
  };
  /**
   * `DEMO_TOOLS`: the built-in demo tools (and the demo upstream). `auto`:
   * served only when every source is the demo's (no `DB_URL`, no
   * `API_BASE_URL`, no tools-file source of kind postgres or http); `true`:
   * always (a database seeded with the demo schema); `false`: never.
   */
  readonly demoTools: "auto" | "true" | "false";
  /** A tools file (YAML or JSON) whose tools are served beside the built-ins. */
  readonly toolsFile: string | undefined;
  /** Serve only this toolset of the tools file (built-ins it lists included). */
  readonly toolset: string | undefined;
  readonly enableRag: boolean;
  /** RAG: the embedding model, the document store, chunking (`ENABLE_RAG` and `ingest`). */
  readonly rag: RagConfig;
  readonly toolTimeoutSeconds: number;
  readonly maxBodyBytes: number;
  /** Limits on the HTTP connection itself. */
  readonly http: {
    /**
     * `HTTP_BODY_TIMEOUT_SECONDS`: how long a request body may take to
     * arrive once a door reads it; later, the request is a 408. Deno.serve
     * has no header or idle timeout: see docs/DEPLOYMENT.md, "Timeouts and
     * connection limits" for what the proxy in front must bound.
     */
    readonly bodyTimeoutSeconds: number;
  };
  readonly allowedOrigins: readonly string[];
  /** PEM certificate chain and key for native HTTPS; both or neither. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Origins a browser may call the REST door and the docs from (CORS); empty: off. */
  readonly corsOrigins: readonly string[];
  readonly allowedHosts: readonly string[];
  /**
   * `TRUSTED_PROXIES`: the peers whose `X-Forwarded-For` and
   * `X-Forwarded-Host` count, as canonical CIDR blocks (`10.0.0.0/8`,
   * `::1/128`); empty: those headers are never read.
   */
  readonly trustedProxies: readonly string[];
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
  /**
   * TEST ONLY (`MCP_CONFORMANCE_FIXTURES`): serve the MCP conformance suite's
   * fixture tools, and treat requests WITHOUT an Authorization header as the
   * principal `conformance`. Refused unless bound to loopback in development.
   */
  readonly conformanceFixtures: boolean;
}

/** The RAG settings: `search_documents` (with `ENABLE_RAG`) and the `ingest` command. */
export interface RagConfig {
  /** The local model folder (`config.json`, `tokenizer*.json`, `onnx/model.onnx`). */
  readonly modelDir: string;
  /** The hub model id fetched into `modelDir` when `allowDownload` is on. */
  readonly model: string;
  /** Fetch `model` from the Hugging Face hub when it is not in `modelDir` yet (default off). */
  readonly allowDownload: boolean;
  /** PostgreSQL with pgvector holding the documents; unset: the embedded store in `pgliteDir`. */
  readonly dbUrl: string | undefined;
  /** Where the embedded store (PGlite + pgvector) keeps its files. */
  readonly pgliteDir: string;
  /** Chunk size and overlap in characters. */
  readonly chunkSize: number;
  readonly chunkOverlap: number;
  /** Chunks embedded (and written) per batch. */
  readonly batchSize: number;
}

/** Thrown by {@linkcode parseConfig}; `problems` holds one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Names of variables whose values are secrets: never echoed in any message. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  "API_KEY_PRIMARY",
  "API_KEY_SECONDARY",
  "DB_URL",
  "API_BASE_URL",
  "API_AUTH_TOKEN",
  "REDIS_URL",
  "CACHE_REDIS_URL",
  "METRICS_TOKEN",
  "RAG_DB_URL",
]);

const int = (min: number, max: number, fallback: number) =>
  z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return fallback;
    const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: "custom",
        message: `expected an integer from ${min} to ${max}`,
      });
      return z.NEVER;
    }
    return n;
  });

const seconds = (min: number, max: number, fallback: number) =>
  z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return fallback;
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) {
      ctx.addIssue({
        code: "custom",
        message: `expected a number of seconds from ${min} to ${max}`,
      });
      return z.NEVER;
    }
    return n;
  });

const optionalText = z.string().trim().optional().transform((v) => v === "" ? undefined : v);

const decimal = (min: number, max: number, fallback: number) =>
  z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return fallback;
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) {
      ctx.addIssue({ code: "custom", message: `expected a number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

// Headers the client sets itself or that would redirect the request.
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "accept",
  "x-request-id",
  "traceparent",
]);
const headerName = optionalText.transform((raw, ctx) => {
  const name = raw ?? "Authorization";
  if (
    !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(name) || RESERVED_HEADERS.has(name.toLowerCase())
  ) {
    ctx.addIssue({
      code: "custom",
      message: "expected an HTTP header name other than Host, Accept, X-Request-ID, traceparent",
    });
    return z.NEVER;
  }
  return name;
});

// A header value: visible ASCII and inner spaces, so it cannot split the header.
const headerValue = z.string().optional().transform((raw, ctx) => {
  if (raw === undefined || raw === "") return undefined;
  if (raw.length > 8192 || !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(raw)) {
    ctx.addIssue({
      code: "custom",
      message: "expected up to 8192 printable ASCII characters, no leading or trailing space",
    });
    return z.NEVER;
  }
  return raw;
});

const bool = (fallback: boolean) =>
  z.string().trim().toLowerCase().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return fallback;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    ctx.addIssue({ code: "custom", message: "expected true or false" });
    return z.NEVER;
  });

const oneOf = <T extends string>(values: readonly [T, ...T[]], fallback: T) =>
  z.string().trim().toLowerCase().optional().transform((raw, ctx): T => {
    if (raw === undefined || raw === "") return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    ctx.addIssue({ code: "custom", message: `expected one of ${values.join(", ")}` });
    return z.NEVER;
  });

const list = z.string().optional().transform((raw) =>
  (raw ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
);

/** `name:number,name:number` → a record; names are tool names or key ids. */
const pairs = (shape: string, min: number, max: number) =>
  z.string().optional().transform((raw, ctx) => {
    const out: Record<string, number> = {};
    for (const item of (raw ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const m = /^([a-z][a-z0-9_]{0,63}):(\d+)$/.exec(item);
      const n = m ? Number(m[2]) : NaN;
      if (!m || n < min || n > max) {
        ctx.addIssue({
          code: "custom",
          message: `expected a comma-separated list of ${shape} with numbers from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      out[m[1]] = n;
    }
    return out;
  });

// Keys shorter than this are guessable; the generated development key is 43 chars.
const MIN_KEY_LENGTH = 16;
/** Why `raw` cannot be an API key, or undefined when it can (also `hash-key`'s check). */
export function apiKeyProblem(raw: string): string | undefined {
  return raw.length < MIN_KEY_LENGTH || raw.length > 512 || !/^[\x21-\x7e]+$/.test(raw)
    ? `expected ${MIN_KEY_LENGTH} to 512 printable ASCII characters without spaces`
    : undefined;
}
const apiKey = z.string().optional().transform((raw, ctx) => {
  if (raw === undefined || raw === "") return undefined;
  const problem = apiKeyProblem(raw);
  if (problem) {
    ctx.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  }
  return raw;
});

// A scope list: present means "only these"; an empty one would lock the key out, so it is refused.
const scopes = optionalText.transform((raw, ctx) => {
  if (raw === undefined) return undefined;
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = items.filter((s) => !SCOPE_PATTERN.test(s));
  if (items.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message:
        `expected comma-separated scopes like tools:read,sql:query (each ${SCOPE_PATTERN.source})`,
    });
    return z.NEVER;
  }
  return [...new Set(items)];
});

const url = (protocols: readonly string[], expected: string) =>
  optionalText.transform((raw, ctx) => {
    if (raw === undefined) return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !protocols.includes(parsed.protocol)) {
      ctx.addIssue({ code: "custom", message: `expected ${expected}` });
      return z.NEVER;
    }
    return raw;
  });

const origins = list.transform((items, ctx) => {
  for (const item of items) {
    let ok = false;
    try {
      const u = new URL(item);
      ok = (u.protocol === "http:" || u.protocol === "https:") && u.origin === item;
    } catch {
      ok = false;
    }
    if (!ok) {
      ctx.addIssue({
        code: "custom",
        message: "expected a comma-separated list of origins like https://app.example.com",
      });
      return z.NEVER;
    }
  }
  return items;
});

/** A custom PostgreSQL setting: `prefix.name`, lower case (the prefix keeps it off built-ins). */
export const SETTING_NAME = /^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$/;
/** A JWT claim name, as `OAUTH_USER_CLAIM` and identity settings take it. */
export const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/;

/** `app.user_id=sub,app.tenant=tenant_id` → setting → claim. */
const identitySettings = optionalText.transform((raw, ctx) => {
  if (raw === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [name, claim, ...rest] = item.split("=").map((s) => s.trim());
    if (rest.length > 0 || !SETTING_NAME.test(name ?? "") || !CLAIM_NAME.test(claim ?? "")) {
      ctx.addIssue({
        code: "custom",
        message: "expected setting=claim pairs like app.user_id=sub,app.tenant=tenant_id",
      });
      return z.NEVER;
    }
    out[name] = claim;
  }
  return Object.keys(out).length > 0 ? out : undefined;
});

/** `token_scope=tool_scope tool_scope,...` → a record of scope lists. */
const scopeMap = optionalText.transform((raw, ctx) => {
  if (raw === undefined) return undefined;
  const out: Record<string, string[]> = {};
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^([\x21-\x7e]{1,128})=([^=]+)$/.exec(item);
    const targets = m ? m[2].trim().split(/\s+/) : [];
    if (!m || m[1].includes(",") || !targets.every((t) => SCOPE_PATTERN.test(t))) {
      ctx.addIssue({
        code: "custom",
        message: "expected token_scope=tool_scope[ tool_scope],... like mcp.read=tools:read",
      });
      return z.NEVER;
    }
    out[m[1]] = [...new Set([...(out[m[1]] ?? []), ...targets])];
  }
  return out;
});

const claimName = (fallback: string) =>
  optionalText.transform((v, ctx) => {
    if (v !== undefined && !CLAIM_NAME.test(v)) {
      ctx.addIssue({ code: "custom", message: "expected a JWT claim name like sub or email" });
      return z.NEVER;
    }
    return v ?? fallback;
  });

const algorithms = optionalText.transform((raw, ctx) => {
  const items = (raw ?? "RS256,PS256,ES256,EdDSA").split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  );
  const allowed = TOKEN_ALGORITHMS as readonly string[];
  if (items.length === 0 || !items.every((a) => allowed.includes(a))) {
    ctx.addIssue({
      code: "custom",
      message: `expected asymmetric JWS algorithms from ${allowed.join(", ")} (never none or HS*)`,
    });
    return z.NEVER;
  }
  return [...new Set(items)];
});

const EnvSchema = z.object({
  HOST: optionalText.transform((v) => v ?? "127.0.0.1"),
  PORT: int(0, 65535, 8000),
  WORKERS: int(1, 64, 1),
  ENVIRONMENT: oneOf(["development", "staging", "production"], "development"),
  DEPLOYMENT_NAME: optionalText.transform((v, ctx) => {
    if (v !== undefined && !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(v)) {
      ctx.addIssue({
        code: "custom",
        message:
          "expected 1 to 64 lowercase letters, digits and _ . - (starting with a letter or digit)",
      });
      return z.NEVER;
    }
    return v ?? "default";
  }),
  LOG_LEVEL: oneOf(["debug", "info", "warning", "error"], "info"),
  LOG_FORMAT: oneOf(["json", "text"], "json"),
  LOG_FILE: optionalText,
  API_KEY_PRIMARY: apiKey,
  API_KEY_SECONDARY: apiKey,
  API_KEY_PRIMARY_SCOPES: scopes,
  API_KEY_SECONDARY_SCOPES: scopes,
  API_KEYS_FILE: optionalText,
  AUTH_MODE: oneOf(["keys", "tokens", "both"], "keys"),
  OAUTH_ISSUER: url(["https:", "http:"], "an https:// URL (the token issuer, exactly as in iss)"),
  OAUTH_RESOURCE: url(["https:", "http:"], "an https:// URL naming this server (the audience)"),
  OAUTH_JWKS_URL: url(["https:", "http:"], "an https:// URL of the issuer's JWKS"),
  OAUTH_JWKS_FILE: optionalText,
  OAUTH_ALGORITHMS: algorithms,
  OAUTH_CLOCK_SKEW_SECONDS: int(0, 300, 30),
  OAUTH_USER_CLAIM: claimName("sub"),
  OAUTH_CLIENT_CLAIM: claimName("client_id"),
  OAUTH_SCOPE_MAP: scopeMap,
  OAUTH_AUTHORIZATION_SERVERS: list,
  OAUTH_JWKS_TIMEOUT_SECONDS: seconds(0.1, 60, 5),
  OAUTH_JWKS_COOLDOWN_SECONDS: seconds(1, 3600, 30),
  OAUTH_JWKS_CACHE_SECONDS: seconds(1, 86_400, 600),
  DB_URL: url(["postgres:", "postgresql:"], "a postgres:// or postgresql:// URL"),
  DB_EMBEDDED: bool(false),
  PGLITE_DATA_DIR: optionalText,
  DB_POOL_SIZE: int(1, 1000, 10),
  DB_POOL_MAX_OVERFLOW: int(0, 1000, 5),
  DB_POOL_RECYCLE_SECONDS: int(0, 86_400, 1800),
  DB_QUERY_TIMEOUT_SECONDS: seconds(0.001, 3600, 10),
  DB_CONNECT_TIMEOUT_SECONDS: int(1, 300, 5),
  DB_IDLE_TIMEOUT_SECONDS: int(1, 86_400, 60),
  DB_PIPELINE_DEPTH: int(1, 16, 8),
  DB_IDENTITY_SETTINGS: identitySettings,
  MAX_ROWS: int(1, 1_000_000, 1000),
  MAX_RESULT_BYTES: int(1024, 1024 * 1024 * 1024, 10 * 1024 * 1024),
  ENABLE_SQL_QUERY_TOOL: bool(false),
  SQL_QUERY_ALLOWED_TABLES: list.transform((items) => items.map((t) => t.toLowerCase())),
  SQL_QUERY_ALLOWED_FUNCTIONS: list.refine(
    (items) => items.every((name) => /^[a-z_][a-z0-9_$]*$/.test(name)),
    "must be comma-separated lower-case function names without schema",
  ),
  ENABLE_DB_SCHEMA_TOOLS: bool(false),
  SQL_COLUMN_POLICIES: optionalText.transform((raw, ctx) => {
    try {
      return parseColumnPolicies(raw ?? "");
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  SQL_COLUMN_POLICIES_LIFTED_BY: optionalText.refine(
    (v) => v === undefined || SCOPE_PATTERN.test(v),
    `must be one scope (${SCOPE_PATTERN.source})`,
  ),
  SQL_HASH_KEY: optionalText.refine(
    (v) => v === undefined || v.length >= 32,
    "must be at least 32 characters (e.g. openssl rand -base64 32)",
  ),
  CURSOR_SECRET: optionalText.refine(
    (v) => v === undefined || v.length >= 32,
    "must be at least 32 characters (e.g. openssl rand -base64 32)",
  ),
  CURSOR_TTL_SECONDS: int(10, 86_400, 900),
  API_BASE_URL: url(["http:", "https:"], "an http:// or https:// URL"),
  API_TIMEOUT_SECONDS: seconds(0.001, 3600, 10),
  API_MAX_RETRIES: int(0, 10, 3),
  API_BACKOFF_FACTOR: decimal(1, 10, 2),
  API_BACKOFF_INITIAL_SECONDS: decimal(0, 60, 0.5),
  API_BACKOFF_MAX_SECONDS: decimal(0, 3600, 10),
  API_MAX_CONNECTIONS: int(1, 10_000, 50),
  API_MAX_RESPONSE_BYTES: int(1024, 1024 * 1024 * 1024, 10 * 1024 * 1024),
  API_CIRCUIT_FAILURES: int(1, 1000, 5),
  API_CIRCUIT_MIN_CALLERS: int(1, 1000, 2),
  API_CIRCUIT_COOLDOWN_SECONDS: seconds(0.001, 3600, 30),
  API_AUTH_HEADER: headerName,
  API_AUTH_TOKEN: headerValue,
  RATE_LIMIT_RPM: int(1, 1_000_000, 100),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 3600, 60),
  RATE_LIMIT_STORAGE: oneOf(["memory", "redis"], "memory"),
  REDIS_URL: url(["redis:", "rediss:"], "a redis:// or rediss:// URL"),
  RATE_LIMIT_FAIL_MODE: oneOf(["open", "closed"], "open"),
  RATE_LIMIT_TOOL_COSTS: pairs("tool_name:cost", 1, 1_000_000),
  RATE_LIMIT_KEY_RPM: pairs("key_id:rpm", 1, 1_000_000),
  RATE_LIMIT_USER_RPM: optionalText.pipe(int(1, 1_000_000, 0)).transform((n) =>
    n === 0 ? undefined : n
  ),
  AUTH_FAILURE_LIMIT: int(1, 1_000_000, 20),
  MAX_CONCURRENT_CALLS_PER_KEY: optionalText.pipe(int(1, 100_000, 0)).transform((n) =>
    n === 0 ? undefined : n
  ),
  CACHE_STORAGE: oneOf(["off", "memory", "redis"], "memory"),
  CACHE_REDIS_URL: url(["redis:", "rediss:"], "a redis:// or rediss:// URL"),
  CACHE_REDIS_PREFIX: optionalText.transform((v, ctx) => {
    if (v !== undefined && !/^[A-Za-z0-9:_.-]{1,64}$/.test(v)) {
      ctx.addIssue({
        code: "custom",
        message: "expected 1 to 64 characters of letters, digits and : _ . -",
      });
      return z.NEVER;
    }
    return v ?? "mcp:cache:";
  }),
  CACHE_MAX_ENTRIES: int(1, 10_000_000, 10_000),
  CACHE_MAX_BYTES: int(1024, 4 * 1024 * 1024 * 1024, 64 * 1024 * 1024),
  CACHE_MAX_ENTRY_BYTES: int(1, 512 * 1024 * 1024, 1024 * 1024),
  DEMO_TOOLS: oneOf(["auto", "true", "false"], "auto"),
  TOOLS_FILE: optionalText,
  TOOLSET: optionalText.transform((v, ctx) => {
    if (v !== undefined && !/^[a-z][a-z0-9_]{0,63}$/.test(v)) {
      ctx.addIssue({
        code: "custom",
        message: "expected a toolset name like ^[a-z][a-z0-9_]{0,63}$",
      });
      return z.NEVER;
    }
    return v;
  }),
  ENABLE_RAG: bool(false),
  RAG_MODEL_DIR: optionalText.transform((v) => v ?? "models/embedding"),
  RAG_MODEL: optionalText.transform((v, ctx) => {
    if (v !== undefined && !/^[A-Za-z0-9][\w.-]{0,95}(\/[\w.-]{1,96})?$/.test(v)) {
      ctx.addIssue({
        code: "custom",
        message: "expected a hub model id like Xenova/all-MiniLM-L6-v2",
      });
      return z.NEVER;
    }
    return v ?? "Xenova/all-MiniLM-L6-v2";
  }),
  RAG_ALLOW_DOWNLOAD: bool(false),
  RAG_DB_URL: url(["postgres:", "postgresql:"], "a postgres:// or postgresql:// URL"),
  RAG_PGLITE_DIR: optionalText.transform((v) => v ?? "data/rag"),
  RAG_CHUNK_SIZE: int(100, 100_000, 1000),
  RAG_CHUNK_OVERLAP: int(0, 50_000, 200),
  RAG_BATCH_SIZE: int(1, 1024, 32),
  TOOL_TIMEOUT_SECONDS: seconds(0.001, 3600, 30),
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024, 1024 * 1024),
  HTTP_BODY_TIMEOUT_SECONDS: seconds(0.001, 3600, 30),
  ALLOWED_ORIGINS: origins,
  CORS_ORIGINS: origins,
  TLS_CERT_FILE: optionalText,
  TLS_KEY_FILE: optionalText,
  ALLOWED_HOSTS: list.transform((items) => items.map((h) => h.toLowerCase())),
  TRUSTED_PROXIES: list.transform((items, ctx) => {
    const blocks = items.map(normalizeCidr);
    if (blocks.some((b) => b === undefined)) {
      ctx.addIssue({
        code: "custom",
        message:
          "expected a comma-separated list of IP addresses or CIDR blocks like 127.0.0.1,10.0.0.0/8,fd00::/8",
      });
      return z.NEVER;
    }
    return [...new Set(blocks as string[])];
  }),
  // Replaced by TRUSTED_PROXIES: "true" trusted X-Forwarded-For from any
  // peer. Still read, so that a deployment that sets it is told, not ignored.
  TRUST_PROXY: bool(false).transform((on, ctx) => {
    if (on) {
      ctx.addIssue({
        code: "custom",
        message:
          "no longer supported: it trusted X-Forwarded-For from any peer. List the proxies' addresses in TRUSTED_PROXIES (e.g. 127.0.0.1,::1 for a proxy on this host) and remove TRUST_PROXY",
      });
      return z.NEVER;
    }
    return on;
  }),
  METRICS_TOKEN: apiKey,
  MCP_CONFORMANCE_FIXTURES: bool(false),
});

/**
 * Every variable {@linkcode parseConfig} reads, by name (a secret one may also
 * come as `NAME_FILE`, see `secret_files.ts`). Deployment files are checked
 * against it, since the parser ignores names it does not know.
 *
 * @example A deployment's names, checked
 * ```ts
 * import { CONFIG_VARIABLES } from "./env.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(CONFIG_VARIABLES.has("RATE_LIMIT_STORAGE"));
 * assert.ok(!CONFIG_VARIABLES.has("RATE_LIMIT_STORE"));
 * ```
 */
export const CONFIG_VARIABLES: ReadonlySet<string> = new Set(Object.keys(EnvSchema.shape));

/**
 * Parses the environment into a frozen {@linkcode Config}.
 *
 * Throws {@linkcode ConfigError} listing every bad variable at once (not just
 * the first), each line naming the variable and what is expected. Values are
 * never echoed, so a secret cannot leak through an error message.
 *
 * @example Defaults with no configuration at all
 * ```ts
 * import { parseConfig } from "./env.ts";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig({});
 * assert.equal(config.port, 8000);
 * assert.equal(config.environment, "development");
 * ```
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const result = EnvSchema.safeParse(env, { jitless: true });
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(`${issue.path.join(".") || "environment"}: ${issue.message}`);
    }
  }
  problems.push(...crossChecks(env));
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const e = result.data;
  const apiKeys: ApiKey[] = [];
  if (e.API_KEY_PRIMARY) {
    apiKeys.push({
      id: "primary",
      key: e.API_KEY_PRIMARY,
      ...(e.API_KEY_PRIMARY_SCOPES && { scopes: e.API_KEY_PRIMARY_SCOPES }),
    });
  }
  if (e.API_KEY_SECONDARY) {
    apiKeys.push({
      id: "secondary",
      key: e.API_KEY_SECONDARY,
      ...(e.API_KEY_SECONDARY_SCOPES && { scopes: e.API_KEY_SECONDARY_SCOPES }),
    });
  }

  return deepFreeze({
    host: e.HOST,
    port: e.PORT,
    workers: e.WORKERS,
    isolate: 0,
    environment: e.ENVIRONMENT,
    deploymentName: e.DEPLOYMENT_NAME,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    logFile: e.LOG_FILE,
    apiKeys,
    apiKeysFile: e.API_KEYS_FILE,
    authMode: e.AUTH_MODE,
    oauth: e.AUTH_MODE === "keys" ? undefined : {
      issuer: e.OAUTH_ISSUER!,
      resource: e.OAUTH_RESOURCE!,
      jwksUrl: e.OAUTH_JWKS_URL,
      jwksFile: e.OAUTH_JWKS_FILE,
      algorithms: e.OAUTH_ALGORITHMS,
      clockSkewSeconds: e.OAUTH_CLOCK_SKEW_SECONDS,
      userClaim: e.OAUTH_USER_CLAIM,
      clientClaim: e.OAUTH_CLIENT_CLAIM,
      scopeMap: e.OAUTH_SCOPE_MAP,
      authorizationServers: e.OAUTH_AUTHORIZATION_SERVERS.length > 0
        ? e.OAUTH_AUTHORIZATION_SERVERS
        : [e.OAUTH_ISSUER!],
      jwksTimeoutSeconds: e.OAUTH_JWKS_TIMEOUT_SECONDS,
      jwksCooldownSeconds: e.OAUTH_JWKS_COOLDOWN_SECONDS,
      jwksCacheSeconds: e.OAUTH_JWKS_CACHE_SECONDS,
    },
    db: {
      url: e.DB_URL,
      embedded: e.DB_EMBEDDED,
      pgliteDataDir: e.PGLITE_DATA_DIR,
      poolSize: e.DB_POOL_SIZE,
      poolMaxOverflow: e.DB_POOL_MAX_OVERFLOW,
      poolRecycleSeconds: e.DB_POOL_RECYCLE_SECONDS,
      queryTimeoutSeconds: e.DB_QUERY_TIMEOUT_SECONDS,
      connectTimeoutSeconds: e.DB_CONNECT_TIMEOUT_SECONDS,
      idleTimeoutSeconds: e.DB_IDLE_TIMEOUT_SECONDS,
      pipelineDepth: e.DB_PIPELINE_DEPTH,
      maxRows: e.MAX_ROWS,
      maxResultBytes: e.MAX_RESULT_BYTES,
      identitySettings: e.DB_IDENTITY_SETTINGS,
      columnPolicies: {
        columns: e.SQL_COLUMN_POLICIES,
        liftedBy: e.SQL_COLUMN_POLICIES_LIFTED_BY,
        hashKey: e.SQL_HASH_KEY,
      },
    },
    sqlQuery: {
      enabled: e.ENABLE_SQL_QUERY_TOOL,
      allowedTables: e.SQL_QUERY_ALLOWED_TABLES,
      allowedFunctions: e.SQL_QUERY_ALLOWED_FUNCTIONS,
    },
    dbSchema: { enabled: e.ENABLE_DB_SCHEMA_TOOLS },
    cursors: { secret: e.CURSOR_SECRET, ttlSeconds: e.CURSOR_TTL_SECONDS },
    upstream: {
      baseUrl: e.API_BASE_URL,
      timeoutSeconds: e.API_TIMEOUT_SECONDS,
      maxRetries: e.API_MAX_RETRIES,
      backoffFactor: e.API_BACKOFF_FACTOR,
      backoffInitialSeconds: e.API_BACKOFF_INITIAL_SECONDS,
      backoffMaxSeconds: e.API_BACKOFF_MAX_SECONDS,
      maxConnections: e.API_MAX_CONNECTIONS,
      maxResponseBytes: e.API_MAX_RESPONSE_BYTES,
      circuitFailures: e.API_CIRCUIT_FAILURES,
      circuitMinCallers: e.API_CIRCUIT_MIN_CALLERS,
      circuitCooldownSeconds: e.API_CIRCUIT_COOLDOWN_SECONDS,
      auth: e.API_AUTH_TOKEN === undefined
        ? undefined
        : { header: e.API_AUTH_HEADER, value: e.API_AUTH_TOKEN },
    },
    rateLimitRpm: e.RATE_LIMIT_RPM,
    rateLimit: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      storage: e.RATE_LIMIT_STORAGE,
      redisUrl: e.REDIS_URL,
      failMode: e.RATE_LIMIT_FAIL_MODE,
      toolCosts: e.RATE_LIMIT_TOOL_COSTS,
      keyRpm: e.RATE_LIMIT_KEY_RPM,
      userRpm: e.RATE_LIMIT_USER_RPM,
      authFailuresPerWindow: e.AUTH_FAILURE_LIMIT,
      maxConcurrentCallsPerKey: e.MAX_CONCURRENT_CALLS_PER_KEY,
    },
    cache: {
      storage: e.CACHE_STORAGE,
      redisUrl: e.CACHE_REDIS_URL ?? e.REDIS_URL,
      redisPrefix: e.CACHE_REDIS_PREFIX,
      maxEntries: e.CACHE_MAX_ENTRIES,
      maxBytes: e.CACHE_MAX_BYTES,
      maxEntryBytes: e.CACHE_MAX_ENTRY_BYTES,
    },
    demoTools: e.DEMO_TOOLS,
    toolsFile: e.TOOLS_FILE,
    toolset: e.TOOLSET,
    enableRag: e.ENABLE_RAG,
    rag: {
      modelDir: e.RAG_MODEL_DIR,
      model: e.RAG_MODEL,
      allowDownload: e.RAG_ALLOW_DOWNLOAD,
      dbUrl: e.RAG_DB_URL,
      pgliteDir: e.RAG_PGLITE_DIR,
      chunkSize: e.RAG_CHUNK_SIZE,
      chunkOverlap: e.RAG_CHUNK_OVERLAP,
      batchSize: e.RAG_BATCH_SIZE,
    },
    toolTimeoutSeconds: e.TOOL_TIMEOUT_SECONDS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    http: { bodyTimeoutSeconds: e.HTTP_BODY_TIMEOUT_SECONDS },
    allowedOrigins: e.ALLOWED_ORIGINS,
    corsOrigins: e.CORS_ORIGINS,
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE
      ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE }
      : undefined,
    allowedHosts: e.ALLOWED_HOSTS,
    trustedProxies: e.TRUSTED_PROXIES,
    metricsToken: e.METRICS_TOKEN,
    conformanceFixtures: e.MCP_CONFORMANCE_FIXTURES,
  });
}

/**
 * Checks that relate variables to each other. They read the raw values so
 * they are reported together with any single bad variable, not after it.
 */
function crossChecks(env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  const primary = env.API_KEY_PRIMARY || undefined;
  const secondary = env.API_KEY_SECONDARY || undefined;
  const environment = (env.ENVIRONMENT ?? "").trim().toLowerCase();
  if (secondary && !primary) {
    problems.push("API_KEY_SECONDARY: set only together with API_KEY_PRIMARY");
  }
  if (primary && primary === secondary) {
    problems.push("API_KEY_SECONDARY: must differ from API_KEY_PRIMARY");
  }
  if (env.PGLITE_DATA_DIR?.trim() && env.DB_URL?.trim()) {
    problems.push("PGLITE_DATA_DIR: applies to the embedded database only; unset it or DB_URL");
  }
  const embedded = /^(true|1)$/i.test(env.DB_EMBEDDED?.trim() ?? "");
  if (embedded && env.DB_URL?.trim()) {
    problems.push("DB_EMBEDDED: asks for the embedded database, which DB_URL replaces; unset one");
  }
  // The embedded database holds the demo data: in staging and production it
  // serves only when asked for by name, never because DB_URL is missing or
  // misspelt. A tools file may bring its own database (checked when it loads).
  if (
    (environment === "staging" || environment === "production") && !env.DB_URL?.trim() &&
    !embedded && !env.PGLITE_DATA_DIR?.trim()
  ) {
    if (!env.TOOLS_FILE?.trim()) {
      problems.push(
        `DB_URL: is required in "${environment}" (or a TOOLS_FILE with its own database); ` +
          "DB_EMBEDDED=true serves the embedded demo database on purpose",
      );
    } else if (/^(true|1)$/i.test(env.ENABLE_SQL_QUERY_TOOL?.trim() ?? "")) {
      problems.push(
        `ENABLE_SQL_QUERY_TOOL: reads the server's own database, so in "${environment}" it needs ` +
          "DB_URL (or DB_EMBEDDED=true for the embedded demo database)",
      );
    }
  }
  if (env.DB_IDENTITY_SETTINGS?.trim() && !env.DB_URL?.trim()) {
    problems.push("DB_IDENTITY_SETTINGS: applies to DB_URL's PostgreSQL only; set DB_URL");
  }
  if (!!env.TLS_CERT_FILE?.trim() !== !!env.TLS_KEY_FILE?.trim()) {
    problems.push("TLS_KEY_FILE: set TLS_CERT_FILE and TLS_KEY_FILE together, or neither");
  }
  const workers = Number(env.WORKERS?.trim() || 1);
  if (Number.isInteger(workers) && workers > 1) {
    // The embedded database and an on-disk RAG store live in one isolate.
    if (!env.DB_URL?.trim()) problems.push("WORKERS: above 1 needs DB_URL (PostgreSQL)");
    if (/^(true|1)$/i.test(env.ENABLE_RAG?.trim() ?? "") && !env.RAG_DB_URL?.trim()) {
      problems.push("WORKERS: above 1 with ENABLE_RAG needs RAG_DB_URL");
    }
    // Port 0 would give each isolate a port of its own.
    if ((env.PORT?.trim() ?? "8000") === "0") problems.push("WORKERS: above 1 needs a fixed PORT");
  }
  if ((env.RATE_LIMIT_STORAGE ?? "").trim().toLowerCase() === "redis" && !env.REDIS_URL?.trim()) {
    problems.push('REDIS_URL: is required when RATE_LIMIT_STORAGE is "redis"');
  }
  if (
    (env.CACHE_STORAGE ?? "").trim().toLowerCase() === "redis" &&
    !env.CACHE_REDIS_URL?.trim() && !env.REDIS_URL?.trim()
  ) {
    problems.push('CACHE_REDIS_URL: is required (or REDIS_URL) when CACHE_STORAGE is "redis"');
  }
  const chunkSize = Number(env.RAG_CHUNK_SIZE?.trim() || 1000);
  const chunkOverlap = Number(env.RAG_CHUNK_OVERLAP?.trim() || 200);
  // Only when both are valid on their own (a bad one is reported by itself).
  const validChunking = Number.isInteger(chunkSize) && chunkSize >= 100 && chunkSize <= 100_000 &&
    Number.isInteger(chunkOverlap) && chunkOverlap >= 0 && chunkOverlap <= 50_000;
  if (validChunking && chunkOverlap * 2 > chunkSize) {
    problems.push("RAG_CHUNK_OVERLAP: must be at most half of RAG_CHUNK_SIZE");
  }
  const authMode = (env.AUTH_MODE ?? "").trim().toLowerCase() || "keys";
  if (authMode === "tokens" || authMode === "both") {
    for (const name of ["OAUTH_ISSUER", "OAUTH_RESOURCE"]) {
      if (!env[name]?.trim()) problems.push(`${name}: is required when AUTH_MODE is "${authMode}"`);
    }
    if (!env.OAUTH_JWKS_URL?.trim() === !env.OAUTH_JWKS_FILE?.trim()) {
      problems.push(
        `OAUTH_JWKS_URL: set it or OAUTH_JWKS_FILE (exactly one) when AUTH_MODE is "${authMode}"`,
      );
    }
    // Outside development every URL of the token path is https: a key set
    // fetched in clear text could be swapped for an attacker's.
    if (environment === "staging" || environment === "production") {
      for (const name of ["OAUTH_ISSUER", "OAUTH_RESOURCE", "OAUTH_JWKS_URL"]) {
        if (/^http:/i.test(env[name]?.trim() ?? "")) {
          problems.push(`${name}: must be an https:// URL in "${environment}"`);
        }
      }
    }
    if (authMode === "tokens" && (primary || env.API_KEYS_FILE?.trim())) {
      problems.push(
        'AUTH_MODE: "tokens" refuses API keys; unset API_KEY_PRIMARY and API_KEYS_FILE or use "both"',
      );
    }
  } else {
    for (const name of ["OAUTH_ISSUER", "OAUTH_RESOURCE", "OAUTH_JWKS_URL", "OAUTH_JWKS_FILE"]) {
      if (env[name]?.trim()) {
        problems.push(`${name}: applies only when AUTH_MODE is "tokens" or "both"`);
      }
    }
  }
  if (
    (environment === "staging" || environment === "production") && !primary &&
    authMode !== "tokens"
  ) {
    if (!env.API_KEYS_FILE?.trim()) {
      problems.push(`API_KEY_PRIMARY: is required in "${environment}" (or API_KEYS_FILE)`);
    }
  }
  if (env.API_KEY_PRIMARY_SCOPES?.trim() && !primary) {
    problems.push("API_KEY_PRIMARY_SCOPES: set only together with API_KEY_PRIMARY");
  }
  if (env.API_KEY_SECONDARY_SCOPES?.trim() && !secondary) {
    problems.push("API_KEY_SECONDARY_SCOPES: set only together with API_KEY_SECONDARY");
  }
  // Test only: it lets requests without a key in. Never off loopback or outside development.
  if (["true", "1"].includes((env.MCP_CONFORMANCE_FIXTURES ?? "").trim().toLowerCase())) {
    const host = (env.HOST ?? "").trim() || "127.0.0.1";
    if (!/^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\])$/i.test(host)) {
      problems.push("MCP_CONFORMANCE_FIXTURES: allowed only with a loopback HOST (test only)");
    }
    if (environment !== "" && environment !== "development") {
      problems.push('MCP_CONFORMANCE_FIXTURES: allowed only in "development" (test only)');
    }
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
