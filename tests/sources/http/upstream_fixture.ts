/**
 * Real upstream servers on loopback that misbehave on purpose: each test
 * scripts the answers, and the server records every request it saw.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as zlib from "node:zlib";

/** One request as the upstream saw it. */
export interface Hit {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly headers: Headers;
  /** `performance.now()` when it arrived. */
  readonly at: number;
}

/** A scripted upstream. */
export interface ScriptedUpstream {
  readonly url: string;
  readonly hits: Hit[];
  /** Requests being answered right now, and the most there ever were at once. */
  readonly inFlight: { now: number; max: number };
  close(): Promise<void>;
}

/** Starts an HTTP server whose `answer` gets each request and its 0-based number. */
export function scriptedUpstream(
  answer: (req: Request, n: number) => Response | Promise<Response>,
): ScriptedUpstream {
  const hits: Hit[] = [];
  const inFlight = { now: 0, max: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const n = hits.length;
    hits.push({
      method: req.method,
      path: url.pathname,
      search: url.search,
      headers: req.headers,
      at: performance.now(),
    });
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    try {
      return await answer(req, n);
    } finally {
      inFlight.now--;
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits,
    inFlight,
    close: () => server.shutdown(),
  };
}

/** Resolves after `ms`, or when `signal` aborts (so a slow answer never outlives its client). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * A compressed body of spaces that never ends, cheap to send: after a sync
 * flush the compressor's window is all spaces, so from the third megabyte on
 * every flushed megabyte compresses to the same bytes (~1 KB gzip, ~190 B
 * brotli), which are sent again and again. `sent()` counts decoded megabytes
 * handed to the server, `cancelled()` says whether the reader stopped it.
 */
export async function endlessCompressed(
  format: "gzip" | "deflate" | "brotli",
): Promise<{ stream(): ReadableStream<Uint8Array>; sent(): number; cancelled(): boolean }> {
  const compressor = format === "gzip"
    ? zlib.createGzip()
    : format === "deflate"
    ? zlib.createDeflate()
    : zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
  const flush = format === "brotli"
    ? zlib.constants.BROTLI_OPERATION_FLUSH
    : zlib.constants.Z_SYNC_FLUSH;
  const megabytes: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const out: Uint8Array[] = [];
    const onData = (d: Uint8Array) => out.push(d);
    compressor.on("data", onData);
    compressor.write(new Uint8Array(1024 * 1024).fill(0x20));
    await new Promise((resolve) => compressor.flush(flush, () => resolve(undefined)));
    compressor.off("data", onData);
    megabytes.push(new Uint8Array(Buffer.concat(out)));
  }
  compressor.close();
  const [first, second, unit] = megabytes;
  let sent = 0;
  let cancelled = false;
  return {
    stream: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(first);
          controller.enqueue(second);
          sent = 2;
        },
        pull(controller) {
          sent++;
          controller.enqueue(unit);
        },
        cancel() {
          cancelled = true;
        },
      }),
    sent: () => sent,
    cancelled: () => cancelled,
  };
}

/**
 * A raw TCP server that answers every connection with a status line and a
 * `Content-Length` larger than what it sends, then closes: a reset mid-body.
 */
export function truncatingUpstream(): { url: string; connections: () => number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  (async () => {
    for await (const conn of listener) {
      connections++;
      (async () => {
        try {
          const buf = new Uint8Array(8192);
          await conn.read(buf);
          const head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" +
            "content-length: 1000\r\n\r\n" + '{"id": 1, "na';
          await conn.write(new TextEncoder().encode(head));
        } catch {
          // The client may already be gone.
        } finally {
          conn.close();
        }
      })();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    connections: () => connections,
    close: () => listener.close(),
  };
}

/** A loopback port nobody listens on (bound, then released). */
export function refusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * `[`, `decodedBytes` spaces, `]` (valid JSON, so a client that reads it all
 * succeeds and a test can tell), compressed with `format` as it streams: the
 * test never holds the decoded body. `produced()` counts the decoded bytes
 * made so far, `cancelled()` says whether the reader stopped the stream.
 */
export function whitespaceBomb(
  format: CompressionFormat | "brotli",
  decodedBytes: number,
): { stream: ReadableStream<Uint8Array>; produced(): number; cancelled(): boolean } {
  const CHUNK = 1024 * 1024;
  let produced = 0;
  let cancelled = false;
  let closed = false;
  const source = new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("["));
    },
    pull(controller) {
      if (closed) return;
      const n = Math.min(CHUNK, decodedBytes - produced);
      if (n <= 0) {
        closed = true;
        controller.enqueue(new TextEncoder().encode("]"));
        controller.close();
        return;
      }
      produced += n;
      controller.enqueue(new Uint8Array(n).fill(0x20));
    },
    cancel() {
      cancelled = true;
    },
  });
  return {
    stream: source.pipeThrough(new CompressionStream(format as CompressionFormat)),
    produced: () => produced,
    cancelled: () => cancelled,
  };
}

/**
 * A raw TCP server that answers every connection with `head` (status line and
 * headers, as written) and then the bytes of `body()`, whatever the headers
 * declared. `written()` counts body bytes the sockets accepted.
 */
export function rawUpstream(
  head: string,
  body: () => ReadableStream<Uint8Array> | Uint8Array,
): { url: string; written(): number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let written = 0;
  (async () => {
    for await (const conn of listener) {
      (async () => {
        try {
          await conn.read(new Uint8Array(8192));
          await conn.write(new TextEncoder().encode(head.replaceAll("\n", "\r\n") + "\r\n"));
          const bytes = body();
          const chunks = bytes instanceof Uint8Array ? [bytes] : bytes;
          for await (const chunk of chunks) {
            for (let at = 0; at < chunk.byteLength;) {
              const n = await conn.write(chunk.subarray(at));
              at += n;
              written += n;
            }
          }
        } catch {
          // The client hung up: what these servers exist to see.
        } finally {
          conn.close();
        }
      })();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    written: () => written,
    close: () => listener.close(),
  };
}

/** The highest RSS seen (sampled every 5 ms) while `run` ran, minus the RSS before. */
export async function peakRssGrowth<T>(
  run: () => Promise<T>,
): Promise<{ result: T; bytes: number }> {
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
  try {
    const result = await run();
    return { result, bytes: Math.max(peak, Deno.memoryUsage().rss) - before };
  } finally {
    clearInterval(timer);
  }
}
