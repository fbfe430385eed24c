/**
 * The one mapping from the server's configuration to a PostgreSQL pool's
 * options, for every pool the server opens (`DB_URL`'s and each tools-file
 * source's), so a new pool setting is wired once.
 *
 * @example A tools-file source keeps the server's settings but its own URL and timeout
 * ```ts
 * import { postgresOptions } from "./postgres_options.ts";
 * import assert from "node:assert/strict";
 *
 * const db = {
 *   poolSize: 10,
 *   poolMaxOverflow: 5,
 *   poolRecycleSeconds: 1800,
 *   idleTimeoutSeconds: 60,
 *   connectTimeoutSeconds: 5,
 *   queryTimeoutSeconds: 10,
 *   pipelineDepth: 1,
 *   maxRows: 1000,
 *   maxResultBytes: 1_000_000,
 * };
 * const options = postgresOptions(db, { url: "postgres://db/app", queryTimeoutSeconds: 2 });
 * assert.equal(options.queryTimeoutMs, 2000);
 * assert.equal(options.poolSize, 10);
 * assert.deepEqual(options.limits, { maxRows: 1000, maxBytes: 1_000_000 });
 * ```
 *
 * @module
 */
import type { Config } from "../../config/env.ts";
import type { PostgresOptions } from "./postgres.ts";

/** The part of the configuration a pool is built from. */
export type PoolConfig =
  & Pick<
    Config["db"],
    | "poolSize"
    | "poolMaxOverflow"
    | "poolRecycleSeconds"
    | "idleTimeoutSeconds"
    | "connectTimeoutSeconds"
    | "queryTimeoutSeconds"
    | "pipelineDepth"
    | "maxRows"
    | "maxResultBytes"
  >
  & Partial<Pick<Config["db"], "identitySettings">>;

/** What one pool sets for itself on top of the server's configuration. */
export interface PoolOverrides {
  readonly url: string;
  readonly poolSize?: number;
  readonly queryTimeoutSeconds?: number;
  /** A tools-file source's own identity settings (else `DB_IDENTITY_SETTINGS` for `DB_URL`'s pool). */
  readonly identitySettings?: Readonly<Record<string, string>>;
}

/** `db`'s settings as pool options, with `overrides` (a tools-file source's own) on top. */
export function postgresOptions(db: PoolConfig, overrides: PoolOverrides): PostgresOptions {
  return {
    url: overrides.url,
    poolSize: overrides.poolSize ?? db.poolSize,
    poolMaxOverflow: db.poolMaxOverflow,
    recycleSeconds: db.poolRecycleSeconds,
    idleTimeoutSeconds: db.idleTimeoutSeconds,
    connectTimeoutSeconds: db.connectTimeoutSeconds,
    queryTimeoutMs: (overrides.queryTimeoutSeconds ?? db.queryTimeoutSeconds) * 1000,
    pipelineDepth: db.pipelineDepth,
    limits: { maxRows: db.maxRows, maxBytes: db.maxResultBytes },
    ...(overrides.identitySettings ?? db.identitySettings
      ? { identitySettings: overrides.identitySettings ?? db.identitySettings }
      : {}),
  };
}
