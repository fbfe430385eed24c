/**
 * Real upstream servers on loopback that misbehave on purpose: each test
 * scripts the answers, and the server records every request it saw.
 *
 * @module
 */

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
