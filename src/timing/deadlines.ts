/**
 * Tool-call deadlines on one timer for all calls in flight.
 *
 * A `setTimeout` + `clearTimeout` per call cost ~10 µs of CPU per request
 * under load here (Deno 2.9's timers are Node-compatible `Timeout` objects
 * backed by a native timer each), a fifth of a no-op tool call. Calls with
 * the same timeout expire in the order they started, so each distinct
 * timeout keeps a FIFO list: adding and cancelling are O(1) pointer moves,
 * and one native timer stays armed for the earliest deadline. When the calls
 * it was armed for have finished, it fires once, finds nothing due, and
 * re-arms for the next deadline (or not at all).
 *
 * @module
 */

/** A pending deadline; give it back to {@linkcode DeadlineQueue.cancel} when the call ends. */
export interface Deadline {
  /** `performance.now()` time at which it fires. */
  readonly at: number;
}

/** Deadlines for calls in flight. */
export interface DeadlineQueue {
  /** Runs `onExpire` once `timeoutMs` have passed, unless cancelled first. */
  add(timeoutMs: number, onExpire: () => void): Deadline;
  /** Drops `deadline`; a no-op when it fired or was cancelled already. */
  cancel(deadline: Deadline): void;
  /** Clears the timer; deadlines still pending never fire. */
  close(): void;
}

class Entry implements Deadline {
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  constructor(
    readonly at: number,
    readonly onExpire: () => void,
    public list: List | undefined,
  ) {}
}

/** Entries of one timeout value, oldest (earliest deadline) first. */
class List {
  head: Entry | undefined = undefined;
  tail: Entry | undefined = undefined;
  constructor(readonly timeout: number) {}
}

/** The shared-timer queue the app uses. */
export function createDeadlineQueue(): DeadlineQueue {
  const lists = new Map<number, List>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedAt = Infinity;

  function unlink(entry: Entry): void {
    const list = entry.list!;
    if (entry.prev) entry.prev.next = entry.next;
    else list.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else list.tail = entry.prev;
    entry.prev = entry.next = entry.list = undefined;
  }

  function arm(at: number): void {
    if (timer !== undefined && armedAt <= at) return;
    if (timer !== undefined) clearTimeout(timer);
    armedAt = at;
    timer = setTimeout(expire, Math.max(0, at - performance.now()));
  }

  function expire(): void {
    timer = undefined;
    armedAt = Infinity;
    const now = performance.now();
    const due: Entry[] = [];
    let next = Infinity;
    for (const [timeout, list] of lists) {
      while (list.head !== undefined && list.head.at <= now) {
        const entry = list.head;
        unlink(entry);
        due.push(entry);
      }
      if (list.head === undefined) lists.delete(timeout);
      else if (list.head.at < next) next = list.head.at;
    }
    if (next !== Infinity) arm(next);
    // After the bookkeeping: a callback that adds or cancels sees a consistent queue.
    for (const entry of due) entry.onExpire();
  }

  return {
    add(timeoutMs, onExpire) {
      let list = lists.get(timeoutMs);
      if (list === undefined) lists.set(timeoutMs, list = new List(timeoutMs));
      const entry = new Entry(performance.now() + timeoutMs, onExpire, list);
      if (list.tail) {
        list.tail.next = entry;
        entry.prev = list.tail;
        list.tail = entry;
      } else {
        list.head = list.tail = entry;
      }
      arm(entry.at);
      return entry;
    },
    cancel(deadline) {
      const entry = deadline as Entry;
      const list = entry.list;
      if (list === undefined) return;
      unlink(entry);
      // An emptied list goes at once: callers with varying timeouts would
      // otherwise leave one empty list per value until the timer next fires.
      if (list.head === undefined) lists.delete(list.timeout);
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      armedAt = Infinity;
      lists.clear();
    },
  };
}
