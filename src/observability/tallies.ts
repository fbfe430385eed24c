/**
 * The per-call metrics' hot path: counts gathered in plain numbers, read by
 * prom-client only when something scrapes.
 *
 * prom-client 15 checks and hashes a label object on every `inc()` and
 * `observe()`, its bound children (`labels(...)`) included: ~1.4 µs of a
 * no-op tool call went to the three metrics every call moves. Here a call
 * adds to numbers it reaches through a map; prom-client's registry still
 * formats, names and aggregates everything, so what `/metrics` serves is
 * unchanged (tests/observability/tallies_test.ts compares it with
 * prom-client's own counter and histogram).
 *
 * @module
 */
import type * as PromClient from "prom-client";
import CounterClass from "prom-client/lib/counter.js";

const Counter = CounterClass as typeof PromClient.Counter;

/** One label set's increments of a {@linkcode talliedCounter}, added to it at the next scrape. */
export class Tally {
  pending = 0;
  constructor(readonly child: { inc(value: number): void }) {}
}

/**
 * A prom-client counter with two labels, and `tally(a, b)`: the plain
 * number a call adds to (`tally(a, b).pending++`). The counter's `collect`
 * hook hands the tallies over before each scrape; `counter.inc({...})`
 * still works and adds up with them.
 */
export function talliedCounter<A extends string | number, B extends string | number>(
  config: Omit<PromClient.CounterConfiguration<string>, "collect">,
): { counter: PromClient.Counter<string>; tally(a: A, b: B): Tally } {
  const byA = new Map<A, Map<B, Tally>>();
  const all: Tally[] = [];
  const counter = new Counter({
    ...config,
    collect() {
      for (const tally of all) {
        if (tally.pending === 0) continue;
        tally.child.inc(tally.pending);
        tally.pending = 0;
      }
    },
  });
  return {
    counter,
    tally(a, b) {
      let byB = byA.get(a);
      if (byB === undefined) byA.set(a, byB = new Map());
      let tally = byB.get(b);
      if (tally === undefined) {
        const child = counter.labels(String(a), String(b));
        // Its series exists from now, as with a plain inc(): the order of
        // series in a scrape stays the order of first use.
        child.inc(0);
        byB.set(b, tally = new Tally(child));
        all.push(tally);
      }
      return tally;
    },
  };
}

/** One series (label value) of a {@linkcode SeriesHistogram}. */
export class Series {
  /** Observations per bucket, not cumulative; the last is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labelValue: string, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    // Bucket `le` holds value <= le, as prom-client's findBound.
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** What prom-client's `Histogram.get()` gives, and so ours. */
export interface HistogramValues {
  name: string;
  help: string;
  type: "histogram";
  values: PromClient.MetricValueWithName<string>[];
  aggregator: "sum";
}

/**
 * A histogram with one label, registered in a prom-client registry like its
 * own `Histogram` and giving the same values (`get()`), so the registry's
 * text format and the isolates' aggregation treat it as one.
 */
export class SeriesHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #label: string;
  readonly #bounds: readonly number[];
  #series = new Map<string, Series>();

  constructor(options: {
    name: string;
    help: string;
    labelName: string;
    buckets: readonly number[];
    registers: readonly PromClient.Registry[];
  }) {
    this.name = options.name;
    this.help = options.help;
    this.#label = options.labelName;
    this.labelNames = [options.labelName];
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    for (const registry of options.registers) {
      registry.registerMetric(this as unknown as PromClient.Metric);
    }
  }

  /** The series for `labelValue`, made on first use and kept (label values are bounded). */
  series(labelValue: string): Series {
    let series = this.#series.get(labelValue);
    if (series === undefined) {
      this.#series.set(labelValue, series = new Series(labelValue, this.#bounds));
    }
    return series;
  }

  /** prom-client's shape: per series its cumulative buckets, `+Inf`, `_sum`, `_count`. */
  get(): Promise<HistogramValues> {
    const values: PromClient.MetricValueWithName<string>[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += series.counts[i];
        values.push(this.#value(cumulative, bucket, series, this.#bounds[i], null));
      }
      values.push(this.#value(series.count, bucket, series, "+Inf", null));
      values.push(this.#value(series.sum, `${this.name}_sum`, series));
      values.push(this.#value(series.count, `${this.name}_count`, series));
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: "histogram",
      values,
      aggregator: this.aggregator,
    });
  }

  reset(): void {
    this.#series = new Map();
  }

  /** One value, its fields in prom-client's order (`le` first among the labels). */
  #value(
    value: number,
    metricName: string,
    series: Series,
    le?: number | string,
    exemplar?: null,
  ): PromClient.MetricValueWithName<string> {
    const labels: Record<string, string | number> = le === undefined ? {} : { le };
    labels[this.#label] = series.labelValue;
    return { value, metricName, exemplar, labels } as PromClient.MetricValueWithName<string>;
  }
}
