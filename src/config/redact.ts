/**
 * A view of the configuration that is safe to log: secrets replaced, URLs
 * stripped of their passwords.
 *
 * @module
 */
import type { Config } from "./env.ts";

/** The mark that stands in for a secret in logs. */
export const REDACTED = "[redacted]";

/**
 * Returns a plain object describing `config` with every secret redacted: API
 * keys appear only by id, and a database URL keeps host and database but
 * loses its password.
 */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    apiKeys: config.apiKeys.map((k) => ({
      id: k.id,
      key: REDACTED,
      ...(k.scopes && { scopes: k.scopes }),
    })),
    metricsToken: config.metricsToken && REDACTED,
    cursors: { ...config.cursors, secret: config.cursors.secret && REDACTED },
    db: {
      ...config.db,
      url: config.db.url && redactUrl(config.db.url),
      columnPolicies: {
        ...config.db.columnPolicies,
        hashKey: config.db.columnPolicies.hashKey && REDACTED,
      },
    },
    upstream: {
      ...config.upstream,
      baseUrl: config.upstream.baseUrl && redactUrl(config.upstream.baseUrl),
    },
    rateLimit: {
      ...config.rateLimit,
      redisUrl: config.rateLimit.redisUrl && redactUrl(config.rateLimit.redisUrl),
    },
    cache: {
      ...config.cache,
      redisUrl: config.cache.redisUrl && redactUrl(config.cache.redisUrl),
    },
    rag: { ...config.rag, dbUrl: config.rag.dbUrl && redactUrl(config.rag.dbUrl) },
  };
}

/** Replaces the password (and any query string, which may carry one) of a URL. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = REDACTED;
    if (u.search) u.search = "";
    return u.toString();
  } catch {
    return REDACTED;
  }
}
