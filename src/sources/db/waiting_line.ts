/**
 * The line of callers waiting for a connection of the pool (pool.ts): first
 * come, first served, each until its deadline (one shared timer queue, not a
 * timer each) or its signal. The pool decides what each caller can be given
 * (`first()` tells what the caller at the front asked for) and hands it over
 * with `grant()`; a caller at the front who cannot be served yet holds up
 * those behind it, so nobody is overtaken for ever.
 *
 * @module
 */
import type { Deadline, DeadlineQueue } from "../../timing/deadlines.ts";
import { DatabaseError } from "./sql_source.ts";

interface Waiter<Ask, Grant> {
  readonly ask: Ask;
  resolve(grant: Grant): void;
  reject(reason: unknown): void;
  deadline: Deadline | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/** Callers waiting, in order; `Ask` is what each wants, `Grant` what it is given. */
export class WaitingLine<Ask, Grant> {
  readonly #waiters: Waiter<Ask, Grant>[] = [];
  #head = 0;
  /** Waiters not yet settled (the queue also holds some that gave up). */
  #waiting = 0;

  /**
   * @param onLeave called after a caller gave up (deadline, signal): the
   *   front of the line may have changed, so those behind may be served now.
   */
  constructor(
    private readonly deadlines: DeadlineQueue,
    private readonly onLeave: () => void,
  ) {}

  /** Callers waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Joins the line: settles with what `grant()` hands over, or rejects with
   * a `busy` DatabaseError after `waitMs`, or with the signal's reason.
   */
  wait(ask: Ask, signal: AbortSignal | undefined, waitMs: number): Promise<Grant> {
    signal?.throwIfAborted();
    return new Promise<Grant>((resolve, reject) => {
      const waiter: Waiter<Ask, Grant> = {
        ask,
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
        this.onLeave();
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

  /** What the caller at the front asked for; undefined when nobody waits. */
  first(): Ask | undefined {
    return this.#front()?.ask;
  }

  /** Hands `grant` to the caller at the front (there must be one). */
  grant(grant: Grant): void {
    const waiter = this.#front()!;
    this.#head++;
    this.#compact();
    this.#settle(waiter);
    waiter.resolve(grant);
  }

  /** The first caller still waiting, skipping those who gave up. */
  #front(): Waiter<Ask, Grant> | undefined {
    while (this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head];
      if (!waiter.settled) return waiter;
      this.#head++;
      this.#compact();
    }
    return undefined;
  }

  /** Stops waiting: cancels the waiter's deadline and listener (its place is skipped later). */
  #settle(waiter: Waiter<Ask, Grant>): void {
    waiter.settled = true;
    this.#waiting--;
    if (waiter.deadline) this.deadlines.cancel(waiter.deadline);
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }

  /** Drops the served front of the queue now and then, so it never grows without bound. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#head);
      this.#head = 0;
    } else if (this.#head === this.#waiters.length && this.#head > 0) {
      this.#waiters.length = 0;
      this.#head = 0;
    }
  }
}
