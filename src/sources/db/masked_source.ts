/**
 * A {@linkcode SqlSource} in front of another that applies column policies
 * to every statement, whoever wrote it: code tools, tools-file tools,
 * `sql_query`, the database toolset's samples. Tools do not opt in and
 * cannot opt out; a caller whose scopes include the lifting scope reads the
 * columns as they are.
 *
 * The catalog (see `masking_catalog.ts`) is read once, at start, and again
 * when a statement names a relation it does not know (a table or view made
 * since), at most every few seconds. A new column of a policed table stays
 * hidden until the next read (the subquery lists the columns it knew).
 * Until the catalog has been read, statements are refused as unavailable:
 * policies never fail open.
 *
 * Plans of the server's own statements are cached by text, so a tool's
 * fixed statement is parsed and rewritten once; a caller's text is planned
 * each time (its guard parses it each time too).
 *
 * @example The statement the database gets
 * ```ts
 * import { maskColumns } from "./masked_source.ts";
 * import { parseColumnPolicies } from "../../config/column_policies.ts";
 * import { createPgParser } from "./pg_parser.ts";
 * import { sql, type SqlQuery, type SqlResult } from "./sql_source.ts";
 * import assert from "node:assert/strict";
 *
 * // A stand-in database: one table of two columns, and it echoes the rest.
 * const catalog: Record<string, unknown[]> = {
 *   pg_class: [{ oid: 1, schema: "public", name: "customers", visible: true }],
 *   pg_attribute: [{ oid: 1, name: "id" }, { oid: 1, name: "email" }],
 * };
 * const inner = {
 *   kind: "postgres" as const,
 *   query<R>(q: SqlQuery): Promise<SqlResult<R>> {
 *     const table = Object.keys(catalog).find((t) => q.text.includes(t));
 *     return Promise.resolve({ rows: (table ? catalog[table] : [{ ran: q.text }]) as R[] });
 *   },
 *   ping: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * const masked = maskColumns(inner, {
 *   policies: parseColumnPolicies("customers.email=deny"),
 *   hashKey: "k".repeat(32),
 *   parser: await createPgParser(),
 * });
 * await masked.ready();
 * const { rows } = await masked.query<{ ran: string }>(sql`SELECT * FROM customers`);
 * assert.equal(rows[0].ran, 'SELECT * FROM (SELECT "id" FROM "public"."customers") AS "customers"');
 * ```
 *
 * @module
 */
import { type ColumnPolicy, hmacPads } from "./column_policy.ts";
import { createColumnMasker, type MaskingCatalog, type MaskPlan } from "./column_masking.ts";
import { loadMaskingCatalog } from "./masking_catalog.ts";
import type { PgParser } from "./pg_parser.ts";
import {
  DatabaseError,
  makeSqlQuery,
  type QueryOptions,
  type SqlQuery,
  type SqlResult,
  type SqlSource,
} from "./sql_source.ts";

/** Options of {@linkcode maskColumns}. */
export interface MaskColumnsOptions {
  readonly policies: readonly ColumnPolicy[];
  /** A caller with this scope reads every column as it is. */
  readonly liftedBy?: string;
  /** The HMAC key of `hash` columns; the same key gives the same hashes on every replica. */
  readonly hashKey: string | Uint8Array;
  readonly parser: PgParser;
  /** Where the policies were written, for messages (default `SQL_COLUMN_POLICIES`). */
  readonly setting?: string;
  /** How soon a statement naming an unknown relation may cause a new catalog read (default 5 s). */
  readonly rereadMs?: number;
}

/** A source with column policies, and the step that reads its catalog. */
export interface MaskedSource extends SqlSource {
  /**
   * Reads the catalog. Throws `ColumnPolicyError` when a policy names no
   * table or column (the start stops), `DatabaseError` when the database
   * cannot be asked (statements then wait for a later read).
   */
  ready(signal?: AbortSignal): Promise<void>;
}

/** Plans of the server's own statements kept; beyond it the cache starts over. */
const MAX_PLANS = 2_000;

/** Puts `source` behind `options.policies`. */
export function maskColumns(source: SqlSource, options: MaskColumnsOptions): MaskedSource {
  let state:
    | { catalog: MaskingCatalog; plan: (text: string, n: number) => MaskPlan; readAt: number }
    | undefined;
  let reading: Promise<void> | undefined;
  const plans = new Map<string, MaskPlan>();
  const pads = hmacPads(options.hashKey);
  const BLANK = "";
  const rereadMs = options.rereadMs ?? 5_000;

  function read(signal?: AbortSignal): Promise<void> {
    return reading ??= (async () => {
      try {
        const catalog = await loadMaskingCatalog(
          source,
          options.policies,
          signal,
          options.setting,
        );
        state = {
          catalog,
          plan: createColumnMasker(options.parser, catalog),
          readAt: performance.now(),
        };
        plans.clear();
      } finally {
        reading = undefined;
      }
    })();
  }

  async function planFor(
    text: string,
    n: number,
    cache: boolean,
    signal?: AbortSignal,
  ): Promise<MaskPlan> {
    if (state === undefined) {
      try {
        await read(signal);
      } catch (error) {
        if (error instanceof DatabaseError) throw error;
        throw new DatabaseError("unavailable", "Column policies could not be read", undefined, {
          cause: error,
        });
      }
    }
    const key = `${n}\0${text}`;
    let plan = cache ? plans.get(key) : undefined;
    if (plan === undefined) {
      plan = state!.plan(text, n);
      if (cache) {
        if (plans.size >= MAX_PLANS) plans.clear();
        plans.set(key, plan);
      }
    }
    if (plan.kind !== "refused" && plan.unknown && performance.now() - state!.readAt >= rereadMs) {
      // A relation made since the last read may be a view over a policed table.
      await read(signal);
      plan = state!.plan(text, n);
      if (cache) plans.set(key, plan);
    }
    return plan;
  }

  return {
    kind: source.kind,
    stopsAtDeadline: source.stopsAtDeadline,
    ready: (signal) => read(signal),
    async query<R>(query: SqlQuery, queryOptions: QueryOptions = {}): Promise<SqlResult<R>> {
      if (options.liftedBy !== undefined && queryOptions.scopes?.has(options.liftedBy)) {
        return source.query<R>(query, queryOptions);
      }
      // Caller-written texts are one-offs (and up to the SQL length cap each):
      // caching them would only hold memory a caller chooses.
      const plan = await planFor(
        query.text,
        query.values.length,
        queryOptions.callerWritten !== true,
        queryOptions.signal,
      );
      switch (plan.kind) {
        case "unchanged":
          return source.query<R>(query, queryOptions);
        case "refused":
          throw new DatabaseError("refused", plan.reason, "42501");
        case "rewritten": {
          const keys = plan.hashKeys
            ? (plan.explain ? [BLANK, BLANK] : await pads.then((p) => [p.outer, p.inner]))
            : [];
          return source.query<R>(
            makeSqlQuery(plan.text, [...query.values, ...keys]),
            queryOptions,
          );
        }
      }
    },
    ping: (signal) => source.ping(signal),
    ...(source.poolStats ? { poolStats: () => source.poolStats!() } : {}),
    close: () => source.close(),
  };
}
