/**
 * An upstream's circuit breaker, built so that one caller cannot switch the
 * upstream off for everyone.
 *
 * A 5xx, a timeout or a broken connection may say the upstream is down, or
 * only that one caller's input makes it fail (an id that crashes a handler, a
 * query that runs past the timeout). From one caller the two look the same,
 * so failures are kept per caller (the principal's id) as well as for the
 * upstream:
 *
 * - each caller has its own breaker: `failures` of its calls in a row open it
 *   for that caller alone (its calls then fail fast, sending nothing);
 * - the upstream's breaker, which every call passes, opens only after
 *   `failures` failed calls in a row (no call answered between them) that came
 *   from at least `minCallers` different callers. An outage fails everyone's
 *   calls, so it still opens it; one caller's inputs, or one caller alone,
 *   never do.
 *
 * Only what `counts` says is unwell counts (the upstream client counts 5xx,
 * timeouts and connection failures, never a 4xx). Both breakers are
 * cockatiel's: after `cooldownMs` one probe goes through, and its outcome
 * closes the breaker or opens it again.
 *
 * @module
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
} from "cockatiel";
import type { Logger } from "../../observability/logger.ts";

/** Circuit states as logs and the `upstream_circuit_state` gauge name them. */
export type CircuitStateName = "closed" | "open" | "half_open";

/** Settings of {@linkcode createCircuit}. */
export interface CircuitOptions {
  /** Names the upstream in logs. */
  readonly name: string;
  /** Failed calls in a row that open a breaker. */
  readonly failures: number;
  /** How long a breaker stays open before one probe may try. */
  readonly cooldownMs: number;
  /** Different callers among those failures before the upstream's breaker opens for all. */
  readonly minCallers: number;
  /** Whether an error says the upstream is unwell (anything else neither counts nor resets). */
  readonly counts: (error: unknown) => boolean;
  readonly log: Logger;
  /** Told of every change of the upstream's breaker (not of a caller's). */
  readonly onStateChange?: (state: CircuitStateName) => void;
}

/** A call refused by an open breaker; nothing was sent. */
export class CircuitOpenError extends Error {
  constructor(
    /** How long until a probe may go through, in ms. */
    readonly retryAfterMs: number,
    /** Whose breaker is open: the upstream's, or only this caller's. */
    readonly scope: "upstream" | "caller",
  ) {
    super(
      scope === "upstream" ? "Upstream circuit is open" : "Upstream circuit is open for the caller",
    );
    this.name = "CircuitOpenError";
  }
}

/** The breakers of one upstream. */
export interface Circuit {
  /** Runs `fn` for `caller` unless a breaker is open ({@linkcode CircuitOpenError}). */
  execute<T>(caller: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** The upstream's breaker (a caller's own is not shown). */
  readonly state: CircuitStateName;
  /** Milliseconds until the upstream's open breaker lets a probe through (0 when not open). */
  readonly retryInMs: number;
}

/**
 * Callers whose breakers are kept at once; past it the longest-known one is
 * forgotten (its count starts over). Kept small: a breaker is a few objects,
 * and with many callers the upstream's breaker, which needs several of them,
 * is what protects the rest.
 */
const MAX_TRACKED_CALLERS = 1000;

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

/** A cockatiel breaker plus when it last opened (cockatiel does not say). */
interface Breaker {
  readonly policy: CircuitBreakerPolicy;
  openedAt: number;
}

/**
 * Builds the breakers of one upstream.
 *
 * @example One caller's failures open its own breaker only
 * ```ts
 * import { CircuitOpenError, createCircuit } from "./circuit.ts";
 * import { createLogger } from "../../observability/logger.ts";
 * import assert from "node:assert/strict";
 *
 * const circuit = createCircuit({
 *   name: "api", failures: 2, cooldownMs: 60_000, minCallers: 2,
 *   counts: () => true, log: createLogger({ level: "error", sinks: [] }),
 * });
 * const signal = new AbortController().signal;
 * const fail = () => Promise.reject(new Error("503"));
 * for (let i = 0; i < 2; i++) await assert.rejects(circuit.execute("a", fail, signal), /503/);
 * await assert.rejects(circuit.execute("a", fail, signal), CircuitOpenError);
 * assert.equal(circuit.state, "closed");
 * assert.equal(await circuit.execute("b", () => Promise.resolve("ok"), signal), "ok");
 * ```
 */
export function createCircuit(options: CircuitOptions): Circuit {
  const { name, log, cooldownMs } = options;
  const counts = options.counts;
  // The upstream's breaker opens on the first failure marked here: the run of
  // failures it closes is counted below, where each failure's caller is known
  // (cockatiel's breakers see a failure, not whose it was).
  const opensForAll = new WeakSet<object>();
  const upstream: Breaker = {
    policy: circuitBreaker(
      handleWhen((e) => typeof e === "object" && e !== null && opensForAll.has(e)),
      { halfOpenAfter: cooldownMs, breaker: new ConsecutiveBreaker(1) },
    ),
    openedAt: 0,
  };
  upstream.policy.onStateChange((state) => {
    const stateName = STATE_NAMES[state];
    if (state === CircuitState.Open) {
      upstream.openedAt = performance.now();
      log.warn("upstream circuit opened: failing fast", {
        upstream: name,
        circuit: stateName,
        consecutive_failures: options.failures,
        callers: run.callers.size,
        cooldown_seconds: cooldownMs / 1000,
      });
    } else {
      log.info(
        `upstream circuit ${stateName === "closed" ? "closed" : "half-open: probing"}`,
        { upstream: name, circuit: stateName },
      );
    }
    options.onStateChange?.(stateName);
  });
  options.onStateChange?.("closed");

  // The current run of failed calls: how many, and (up to minCallers) whose.
  // A call the upstream answered ends it; it is not reset when the breaker
  // opens, so a failed probe opens it again.
  const run = { failures: 0, callers: new Set<string>() };
  const callers = new Map<string, Breaker>();

  function callerBreaker(caller: string): Breaker {
    const known = callers.get(caller);
    if (known) return known;
    if (callers.size >= MAX_TRACKED_CALLERS) callers.delete(callers.keys().next().value!);
    const own: Breaker = {
      policy: circuitBreaker(handleWhen(counts), {
        halfOpenAfter: cooldownMs,
        breaker: new ConsecutiveBreaker(options.failures),
      }),
      openedAt: 0,
    };
    own.policy.onBreak(() => {
      own.openedAt = performance.now();
      log.warn("upstream circuit opened for one caller: failing fast for it", {
        upstream: name,
        caller,
        consecutive_failures: options.failures,
        cooldown_seconds: cooldownMs / 1000,
      });
    });
    callers.set(caller, own);
    return own;
  }

  function left(breaker: Breaker): number {
    return breaker.policy.state === CircuitState.Open
      ? Math.max(0, cooldownMs - (performance.now() - breaker.openedAt))
      : 0;
  }

  return {
    async execute<T>(caller: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
      const own = callerBreaker(caller);
      try {
        // The caller's breaker first: a caller it holds back is never a
        // probe of the upstream's.
        return await own.policy.execute(
          () =>
            upstream.policy.execute(async () => {
              try {
                const answer = await fn();
                run.failures = 0;
                run.callers.clear();
                return answer;
              } catch (error) {
                if (counts(error)) {
                  run.failures++;
                  if (run.callers.size < options.minCallers) run.callers.add(caller);
                  if (
                    run.failures >= options.failures && run.callers.size >= options.minCallers &&
                    typeof error === "object" && error !== null
                  ) {
                    opensForAll.add(error);
                  }
                }
                throw error;
              }
            }, signal),
          signal,
        );
      } catch (error) {
        if (!(error instanceof BrokenCircuitError)) throw error;
        const all = upstream.policy.state === CircuitState.Open;
        throw new CircuitOpenError(all ? left(upstream) : left(own), all ? "upstream" : "caller");
      }
    },
    get state() {
      return STATE_NAMES[upstream.policy.state];
    },
    get retryInMs() {
      return left(upstream);
    },
  };
}
