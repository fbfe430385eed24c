/**
 * `DB_POOL_SIZE` and `DB_POOL_MAX_OVERFLOW` are the server's connection
 * budget, whatever `WORKERS` is: what an operator sizes against PostgreSQL's
 * `max_connections` (see docs/DEPLOYMENT.md, "Scale-out"). Each isolate opens
 * a postgres.js pool of its own, so each gets a part of the budget, the parts
 * adding up to the whole; `createApp` applies it when it is given the
 * isolates' `SharedState`. What it costs on our 2 cores, `get_top_customers`
 * with two isolates in three alternating runs against a doubled budget: p99
 * 146–171 vs 165–173 ms, ~5% fewer calls (580–653 vs 650–670 req/s).
 *
 * @module
 */
import type { Config } from "../config/env.ts";

/**
 * Isolate `index`'s part of `total`, of `isolates` parts as even as can be
 * (the first ones take the remainder), and never below `min`: each isolate
 * needs one connection to serve at all, so a budget smaller than the number
 * of isolates is exceeded, one connection per isolate.
 */
export function poolShare(total: number, isolates: number, index: number, min = 1): number {
  const share = Math.floor(total / isolates) + (index < total % isolates ? 1 : 0);
  return Math.max(min, share);
}

/** The config isolate `index` (0: the primary) runs with: its part of the pool budget. */
export function configForIsolate(config: Config, index: number): Config {
  if (config.workers <= 1) return config;
  const share = (total: number, min: number) => poolShare(total, config.workers, index, min);
  return Object.freeze({
    ...config,
    isolate: index,
    db: Object.freeze({
      ...config.db,
      poolSize: share(config.db.poolSize, 1),
      poolMaxOverflow: share(config.db.poolMaxOverflow, 0),
    }),
  });
}
