/**
 * Structured logging. The app depends on the small {@linkcode Logger}
 * interface; records are built as logtape `LogRecord`s and handed to logtape
 * sinks, so any logtape sink (stream, file, OpenTelemetry…) plugs in.
 *
 * We deliberately do not use logtape's global `configure()`: the logger is
 * built from config and passed down, so two apps in one process (as in tests)
 * never share or fight over logging state.
 *
 * @module
 */
import {
  getLogfmtFormatter,
  type LogRecord,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import { setImmediate } from "node:timers";
import type { LogLevel } from "../config/env.ts";

export type { LogRecord, Sink };

/** Properties attached to a log line; keys become top-level JSON fields. */
export type LogProperties = Record<string, unknown>;

/** What the rest of the program logs through. */
export interface Logger {
  debug(message: string, properties?: LogProperties): void;
  info(message: string, properties?: LogProperties): void;
  warn(message: string, properties?: LogProperties): void;
  error(message: string, properties?: LogProperties): void;
  /** A logger whose every line carries `properties` too. */
  with(properties: LogProperties): Logger;
  /** Whether a line at `level` would be written (lets hot paths skip work). */
  isEnabled(level: LogLevel): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const CATEGORY = ["mcp-tool-server"] as const;

/** Builds a logger writing records at or above `level` to every sink. */
export function createLogger(
  options: { level: LogLevel; sinks: readonly Sink[] },
): Logger {
  return new BoundLogger({ min: RANK[options.level], sinks: options.sinks }, {});
}

interface LoggerCore {
  readonly min: number;
  readonly sinks: readonly Sink[];
}

/**
 * A logger and the properties it adds. A class, not an object of closures:
 * `with()` runs twice per request (request id, then tool), and one object
 * with prototype methods is one allocation instead of seven.
 */
class BoundLogger implements Logger {
  constructor(private readonly core: LoggerCore, private readonly bound: LogProperties) {}
  debug(message: string, properties?: LogProperties): void {
    this.emit("debug", message, properties);
  }
  info(message: string, properties?: LogProperties): void {
    this.emit("info", message, properties);
  }
  warn(message: string, properties?: LogProperties): void {
    this.emit("warning", message, properties);
  }
  error(message: string, properties?: LogProperties): void {
    this.emit("error", message, properties);
  }
  with(properties: LogProperties): Logger {
    return new BoundLogger(this.core, { ...this.bound, ...properties });
  }
  isEnabled(level: LogLevel): boolean {
    return RANK[level] >= this.core.min;
  }
  private emit(level: LogLevel, message: string, props: LogProperties | undefined): void {
    if (RANK[level] < this.core.min) return;
    const record: LogRecord = {
      category: CATEGORY,
      level,
      message: [message],
      rawMessage: message,
      timestamp: Date.now(),
      properties: props ? { ...this.bound, ...props } : this.bound,
    };
    for (const sink of this.core.sinks) sink(record);
  }
}

/**
 * One JSON object per line: `timestamp`, `level`, `message`, then the
 * properties as top-level fields. `JSON.stringify` escapes control
 * characters, so no value can forge a second line.
 */
export const jsonLineFormatter: TextFormatter = (record) => {
  const props = record.properties;
  if (!onlyPlainValues(props)) {
    return JSON.stringify({
      timestamp: isoTime(record.timestamp),
      level: record.level,
      message: record.rawMessage,
      ...props,
    }, jsonSafe) + "\n";
  }
  // The hot path (every audit line): one stringify of the properties without
  // a replacer (a replacer function takes JSON.stringify off V8's fast path),
  // the same text the general path writes.
  const rest = JSON.stringify(props);
  return `{"timestamp":"${isoTime(record.timestamp)}","level":"${record.level}","message":${
    JSON.stringify(record.rawMessage)
  }${rest === "{}" ? "}" : `,${rest.slice(1)}`}\n`;
};

/** Top-level values that need no replacer, and no key that would repeat a leading field. */
function onlyPlainValues(props: Record<string, unknown>): boolean {
  for (const key in props) {
    if (key === "timestamp" || key === "level" || key === "message") return false;
    const value = props[key];
    if (typeof value === "object" ? value !== null : typeof value === "bigint") return false;
  }
  return true;
}

let lastMs = Number.NaN;
let lastIso = "";
/** Lines come in bursts within one millisecond: format each millisecond once. */
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/** `LOG_FORMAT=text`: logfmt lines (`level=INFO msg="…" request_id=…`), easy to read and grep. */
export const textLineFormatter: TextFormatter = getLogfmtFormatter({ properties: "flatten" });

/**
 * A sink writing formatted lines to a byte stream without blocking the request
 * that logged: each line is formatted at once, the lines of one event-loop
 * turn are UTF-8 encoded together into a byte buffer when the turn ends (one
 * join and one encoder call per turn, not per line: ~0.2 µs a line in a loop
 * of 30-line turns), and the buffer is written as one chunk every `flushMs`
 * (one write per batch, not per line: logtape's own non-blocking stream sink
 * awaits a write per record, which cost a no-op tool call ~11 µs). Bytes, not
 * the lines' strings, wait for the flush: a string held for 20 ms outlives a
 * young-generation GC (several run in that time under load), so each line
 * used to be copied and promoted to the old generation, ~3–4 µs a request;
 * held to the turn's end it dies young.
 * While a write is in flight, lines keep gathering; past `maxBufferedBytes`
 * they are dropped and counted, and a line saying how many goes out with the
 * next batch, so a stuck stdout never grows memory without bound. Dispose it
 * (`await sink[Symbol.asyncDispose]()`) at shutdown to flush what is buffered.
 */
export function createStreamSink(
  stream: WritableStream<Uint8Array>,
  format: "json" | "text",
  options: { flushMs?: number; maxBufferedBytes?: number } = {},
): StreamSink {
  const formatter = format === "json" ? jsonLineFormatter : textLineFormatter;
  const flushMs = options.flushMs ?? 20;
  const maxBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const writer = stream.getWriter();
  const encoder = new TextEncoder();
  const initialBytes = 64 * 1024;
  let buffer = new Uint8Array(initialBytes);
  let used = 0;
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;
  // Lines of the current event-loop turn, encoded together when it ends.
  let turn: string[] = [];
  let turnChars = 0;

  /** Encodes `text` after the bytes gathered so far, growing the buffer when it might not fit. */
  function put(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const room = text.length * 3;
    if (buffer.length - used < room) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, used + room));
      grown.set(buffer.subarray(0, used));
      buffer = grown;
    }
    used += encoder.encodeInto(text, buffer.subarray(used)).written;
  }

  /** Encodes the turn's lines in one go (one join, one encoder call). */
  function endTurn(): void {
    if (turn.length === 0) return;
    const text = turn.length === 1 ? turn[0] : turn.join("");
    turn = [];
    turnChars = 0;
    put(text);
  }

  function flush(): Promise<void> {
    timer = undefined;
    endTurn();
    if (inFlight) return inFlight;
    if (used === 0 && dropped === 0) return Promise.resolve();
    if (dropped > 0) {
      put(formatter({
        category: CATEGORY,
        level: "warning",
        message: ["log lines dropped: the log output is not keeping up"],
        rawMessage: "log lines dropped: the log output is not keeping up",
        timestamp: Date.now(),
        properties: { dropped },
      }));
      dropped = 0;
    }
    const chunk = buffer.subarray(0, used);
    // A new buffer, sized for a batch like this one: the stream may keep the
    // chunk it was given, so the old one is never written into again.
    buffer = new Uint8Array(Math.max(initialBytes, Math.min(maxBytes, used + (used >> 2))));
    used = 0;
    inFlight = writer.write(chunk).catch(() => {
      // Logging never fails a request; a broken output is not ours to report.
    }).finally(() => {
      inFlight = undefined;
      if (used > 0 || dropped > 0) timer ??= setTimeout(flush, flushMs);
    });
    return inFlight;
  }

  const append = (text: string) => {
    if (turn.push(text) === 1) setImmediate(endTurn);
    turnChars += text.length;
    timer ??= setTimeout(flush, flushMs);
  };
  // Past the cap nothing is formatted: the line is only counted.
  const sink = ((record: LogRecord) => {
    if (used + turnChars > maxBytes) dropped++;
    else append(formatter(record));
  }) as StreamSink;
  // A batch from another isolate counts as one line if it is dropped.
  sink.appendFormatted = (text) => {
    if (used + turnChars > maxBytes) dropped++;
    else append(text);
  };
  sink[Symbol.asyncDispose] = async () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    await inFlight;
    await flush();
    writer.releaseLock();
  };
  return sink;
}

/** A stream sink; it also takes lines another isolate formatted (`WORKERS` > 1). */
export type StreamSink = Sink & AsyncDisposable & {
  /** Writes whole lines formatted elsewhere (same format), with this sink's batching and cap. */
  appendFormatted(text: string): void;
};

/**
 * A byte stream appending to `file` with `file.write()`. Not `file.writable`:
 * in Deno 2.9 that holds the bytes until the stream is closed, so a log file
 * would stay empty while the server runs and lose its tail in a crash.
 */
export function fileWritable(file: Deno.FsFile): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
    },
    close() {
      file.close();
    },
  });
}

/** A sink that keeps records in memory, for tests and for `--help`-style tooling. */
export function createMemorySink(): Sink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = ((record: LogRecord) => {
    records.push(record);
  }) as Sink & { records: LogRecord[] };
  sink.records = records;
  return sink;
}
