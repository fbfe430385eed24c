/**
 * Raw HTTP/1.1 over a loopback socket, for tests whose requests a client
 * library would normalize or refuse to send (hostile `Host` values,
 * absolute-form targets, stalled headers and bodies).
 *
 * @module
 */

/** A parsed HTTP/1.1 response. */
export interface RawResponse {
  readonly status: number;
  /** Header names lower case; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends `text` as it is on a fresh connection and reads until the server
 * closes it (send `Connection: close`) or `timeoutMs` passes.
 */
export async function rawExchange(
  port: number,
  text: string,
  timeoutMs = 5_000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  let received = new Uint8Array();
  try {
    await conn.write(new TextEncoder().encode(text));
    const buf = new Uint8Array(16_384);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      const next = new Uint8Array(received.byteLength + n);
      next.set(received);
      next.set(buf.subarray(0, n), received.byteLength);
      received = next;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  return parseResponse(new TextDecoder().decode(received));
}

/** Parses one response (Content-Length or chunked framing is not undone: tests read small bodies). */
export function parseResponse(text: string): RawResponse {
  const split = text.indexOf("\r\n\r\n");
  if (split === -1) throw new Error(`Not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(split + 4);
  if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

function unchunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const nl = rest.indexOf("\r\n");
    if (nl === -1) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

/** Resolves when the server closes `conn` (a read returns end of stream or fails), with the ms it took. */
export async function closedWithin(conn: Deno.Conn, limitMs: number): Promise<number | undefined> {
  const started = performance.now();
  const buf = new Uint8Array(4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) =>
    timer = setTimeout(resolve, limitMs, "expired")
  );
  try {
    for (;;) {
      const read = await Promise.race([conn.read(buf).catch(() => null), expired]);
      if (read === "expired") return undefined;
      if (read === null) return performance.now() - started;
    }
  } finally {
    clearTimeout(timer);
  }
}
