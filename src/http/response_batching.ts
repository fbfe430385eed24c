/**
 * Responses finished in one event-loop turn go out together.
 *
 * `Deno.serve` calls the handler for each request as it reads it and writes
 * the response as soon as the handler's promise settles, so under load the
 * writes are spaced by the time each request takes. On loopback the sender
 * pays for waking the reader: between two of our writes a fast client (wrk,
 * a co-located backend) has handled the last reply and gone back to sleep,
 * so nearly every write woke it (0.7 sleeps of wrk per response measured at
 * 50 connections, ~8 µs of our kernel time each).
 *
 * So, as uWebSockets corks what a loop iteration sends and Netty's
 * `FlushConsolidationHandler` merges flushes: the first response of a turn
 * goes out at once (a lone caller waits for nothing), and marks the turn;
 * responses finished after it in the same turn are held until the turn
 * ends (`setImmediate`, which runs once the turn's I/O callbacks have) and
 * then released together. At most one turn of delay, and only for a
 * response that had company.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** A request handler as `Deno.serve` takes it. */
export type ServeHandler = (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;

/** Wraps `handler` so that responses finished in the same event-loop turn are written together. */
export function batchResponses(handler: ServeHandler): ServeHandler {
  let held: (() => void)[] = [];
  let turnMarked = false;
  const endOfTurn = () => {
    turnMarked = false;
    const release = held;
    held = [];
    for (const resolve of release) resolve();
  };
  return async function batched(req, info) {
    const response = await handler(req, info);
    if (!turnMarked) {
      turnMarked = true;
      setImmediate(endOfTurn);
      return response;
    }
    await new Promise<void>((resolve) => held.push(resolve));
    return response;
  };
}
