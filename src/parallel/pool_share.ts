/**
 * `DB_POOL_SIZE` and `DB_POOL_MAX_OVERFLOW` are the server's connection
 * budget, whatever `WORKERS` is: what an operator sizes against PostgreSQL's
 * `max_connections` (see the README's replicas section). Each isolate opens
 * a postgres.js pool of its own, so each gets a part of the budget, the parts
 * adding up to the whole. A pool split this way also keeps PostgreSQL's two
 * cores from juggling twice the backends: `get_top_customers` p99 with two
 * isolates went from 154–187 to 127–141 ms (docs/BENCHMARKS.md).
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
