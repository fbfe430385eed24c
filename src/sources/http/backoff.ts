/**
 * How long to wait before retrying an upstream call: exponential backoff with
 * full jitter, or what the upstream asked for in `Retry-After`, never past the
 * call's deadline. Shaped as a cockatiel backoff so its retry policy drives it.
 *
 * @module
 */
import type { IBackoff, IBackoffFactory, IRetryBackoffContext } from "cockatiel";

/** The longest `Retry-After` we take literally (a day); longer is treated as "much later". */
const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Parses a `Retry-After` value (delay-seconds or an HTTP date) into
 * milliseconds from `now`. Missing or malformed values give `undefined`; a
 * date in the past gives 0.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "./backoff.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseRetryAfter("2"), 2000);
 * assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.UTC(2015, 9, 21, 7, 27, 0)), 60_000);
 * assert.equal(parseRetryAfter("soon"), undefined);
 * ```
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // Only the IMF-fixdate form HTTP requires senders to use ("Sun, 06 Nov 1994 08:49:37 GMT").
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) {
    return undefined;
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** Settings of {@linkcode JitterBackoff}. */
export interface BackoffOptions {
  /** Upper bound of the first wait, in ms. */
  readonly initialMs: number;
  /** Each retry multiplies the upper bound by this. */
  readonly factor: number;
  /** No wait's upper bound grows past this, in ms. */
  readonly maxMs: number;
  /** `performance.now()` time the whole call must finish by. */
  readonly deadlineAt: number;
  /** In [0, 1); injectable so tests can pin the jitter. */
  readonly random?: () => number;
}

/** A failure that names how long the upstream asked us to wait. */
export interface HasRetryAfter {
  readonly retryAfterMs?: number;
}

/**
 * Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog):
 * attempt n waits uniformly in [0, min(max, initial × factor^(n−1))], so
 * callers that failed together do not come back together. A `Retry-After`
 * on the failure replaces the random wait. Every wait is capped by the time
 * left before the deadline: the attempt after it then finds its signal
 * aborted and the call ends on time.
 */
export class JitterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly options: BackoffOptions) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const { initialMs, factor, maxMs, deadlineAt, random = Math.random } = this.options;
    const failure = "error" in context.result ? context.result.error : undefined;
    const asked = (failure as HasRetryAfter | undefined)?.retryAfterMs;
    const ceiling = Math.min(maxMs, initialMs * factor ** (context.attempt - 1));
    const wanted = asked ?? random() * ceiling;
    const duration = Math.max(0, Math.min(wanted, deadlineAt - performance.now()));
    return { duration, next: (c) => this.next(c) };
  }
}
