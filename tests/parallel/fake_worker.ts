/**
 * A stand-in worker for pool_test.ts, driven by `init.env.MODE`:
 * `crash` listens, then throws (an uncaught error after the start);
 * `refuse` answers init with "failed"; `serve` listens and stops cleanly.
 *
 * @module
 */
import type { FromWorker, ToWorker } from "../../src/parallel/messages.ts";

const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<ToWorker>) => void;
  postMessage(message: FromWorker): void;
};
scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "init") {
    const mode = message.init.env.MODE;
    if (mode === "refuse") {
      scope.postMessage({ type: "failed", error: "cannot listen: refused on purpose" });
      return;
    }
    scope.postMessage({ type: "listening" });
    scope.postMessage({ type: "log", text: `{"message":"worker ${message.init.index} up"}\n` });
    if (mode === "crash") {
      setTimeout(() => {
        throw new Error("crashed on purpose");
      }, 50);
    }
  } else if (message.type === "metrics") {
    scope.postMessage({ type: "metrics", id: message.id, metrics: [{ name: "m", index: 1 }] });
  } else if (message.type === "shutdown") {
    scope.postMessage({ type: "stopped" });
  }
};
