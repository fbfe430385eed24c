import { getStreamSink } from "@logtape/logtape";
import { createLogger, jsonLineFormatter } from "./src/observability/logger.ts";
const file = await Deno.open("/tmp/y.log", { create: true, append: true });
const sink = getStreamSink(file.writable, {
  formatter: jsonLineFormatter,
  closeStream: false,
  nonBlocking: { onError: (e) => console.log("ERR", e) },
});
const log = createLogger({ level: "info", sinks: [sink] });
log.info("hello");
await new Promise((r) => setTimeout(r, 200));
console.log("after 200ms", Deno.statSync("/tmp/y.log").size);
const w = file.writable;
console.log(w.locked);
