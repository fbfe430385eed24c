/**
 * Which statement texts are known to be fast, so the pool may pipeline them
 * (pool.ts): each text's time on the database, measured by the database's
 * own clock, averaged.
 *
 * Why the database's clock: timed by the client from sending to answer, a
 * statement's time includes however long the answer waited for the event
 * loop, which under load is milliseconds for every statement. Measured
 * that way, a primary-key lookup at 50 callers averaged ~2 ms and was never
 * let share, while `SELECT 1`, once let, timed near zero pipelined: which
 * statements were fast depended on the load they were learnt under.
 * Instead, a measured run is sent between two probes,
 * `SELECT clock_timestamp()`, pipelined with it, so the difference of the
 * two is what the server spent on it (see postgres.ts).
 *
 * @module
 */

/**
 * Below this average time on the database, a trusted statement may share a
 * connection: it holds up whatever is pipelined behind it by about that much.
 */
export const FAST_STATEMENT_MS = 1;
/** Measured runs before a text can be known to be fast. */
export const RUNS_TO_KNOW = 20;
/** After that, one run in this many is measured, so a text that grows slow is seen. */
export const MEASURE_EVERY = 32;
/** Texts remembered; past this the table starts over (texts are the server's own, but bounded anyway). */
const MAX_TEXTS = 1000;

interface Timing {
  /** Moving average of the measured times, ms. */
  ms: number;
  runs: number;
  /** Runs asked about since the last measured one. */
  since: number;
}

/** Per statement text, its measured time on the database. */
export class StatementTimings {
  readonly #timings = new Map<string, Timing>();

  /** Whether `text` averaged under {@linkcode FAST_STATEMENT_MS} over at least {@linkcode RUNS_TO_KNOW} runs. */
  knownFast(text: string): boolean {
    const timing = this.#timings.get(text);
    return timing !== undefined && timing.runs >= RUNS_TO_KNOW && timing.ms < FAST_STATEMENT_MS;
  }

  /** Whether this run of `text` should be measured (every run until it is known, then one in {@linkcode MEASURE_EVERY}). */
  shouldMeasure(text: string): boolean {
    const timing = this.#timings.get(text);
    if (timing === undefined || timing.runs < RUNS_TO_KNOW) return true;
    if (++timing.since < MEASURE_EVERY) return false;
    timing.since = 0;
    return true;
  }

  /** Records a measured run: `ms` on the database's clock. */
  record(text: string, ms: number): void {
    let timing = this.#timings.get(text);
    if (!timing) {
      if (this.#timings.size >= MAX_TEXTS) this.#timings.clear();
      this.#timings.set(text, timing = { ms, runs: 0, since: 0 });
    }
    // A run over the bar counts at once in full: one slow run is enough to
    // stop sharing (it held up what was behind it); coming back takes more.
    timing.ms = ms >= FAST_STATEMENT_MS
      ? Math.max(ms, timing.ms)
      : timing.ms + (ms - timing.ms) / 8;
    timing.runs++;
  }
}
