/**
 * One permit per connection the pool may open, taken before a call is lent a
 * connection and given back when its work is done (postgres.ts).
 *
 * Why a queue of our own: a statement never waits behind another on a busy
 * connection (postgres.js 3.4.9's own pool would pipeline it behind a slow
 * one), and callers beyond the pool wait first come, first served, until
 * their deadline (one shared timer queue, not a timer each) or their signal.
 * A free permit is taken without a promise.
 *
 * @module
 */
import type { Deadline, DeadlineQueue } from "../../timing/deadlines.ts";
import { DatabaseError } from "./sql_source.ts";

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  deadline: Deadline | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/** Permits for the statements in flight. */
export class Permits {
  #free: number;
  readonly #waiters: Waiter[] = [];
  #head = 0;
  /** Waiters not yet settled (the queue also holds some that gave up). */
  #waiting = 0;

  constructor(count: number, private readonly deadlines: DeadlineQueue) {
    this.#free = count;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Takes a permit: `undefined` when one was free (nothing to await), else a
   * promise that settles when one is handed over, or rejects with a `busy`
   * DatabaseError after `waitMs`, or with the signal's reason.
   */
  acquire(signal: AbortSignal | undefined, waitMs: number): Promise<void> | undefined {
    signal?.throwIfAborted();
    if (this.#free > 0 && this.waiting === 0) {
      this.#free--;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        deadline: undefined,
        signal,
        onAbort: undefined,
        settled: false,
      };
      const giveUp = (reason: unknown) => {
        if (waiter.settled) return;
        this.#settle(waiter);
        reject(reason);
      };
      waiter.deadline = this.deadlines.add(
        waitMs,
        () =>
          giveUp(new DatabaseError("busy", `No connection free within ${Math.round(waitMs)} ms`)),
      );
      if (signal) {
        waiter.onAbort = () => giveUp(signal.reason);
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#waiting++;
    });
  }

  /** Gives a permit back: to the longest waiting caller, or to the free count. */
  release(): void {
    while (this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head++];
      this.#compact();
      if (waiter.settled) continue;
      this.#settle(waiter);
      waiter.resolve();
      return;
    }
    this.#free++;
  }

  /** Stops waiting: cancels the waiter's deadline and listener (its slot is skipped later). */
  #settle(waiter: Waiter): void {
    waiter.settled = true;
    this.#waiting--;
    if (waiter.deadline) this.deadlines.cancel(waiter.deadline);
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }

  /** Drops the consumed front of the queue now and then, so it never grows without bound. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
