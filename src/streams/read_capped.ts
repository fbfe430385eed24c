/**
 * Reading a byte stream whole, up to a cap, without ever holding more than
 * the cap: the one reader behind request bodies, upstream responses and
 * stdin.
 *
 * It counts the bytes the stream yields. For a `fetch` body those are the
 * bytes after gzip or brotli decoding, so a small compressed body cannot
 * inflate past the cap; and the stream is cancelled as soon as a chunk passes
 * the cap, so the sender is cut off rather than drained.
 *
 * @module
 */

/**
 * Reads `stream` to its end and returns its bytes, or `undefined` as soon as
 * more than `maxBytes` have arrived (the stream is then cancelled). A `null`
 * stream (no body) is empty. Errors of the stream pass through.
 *
 * @example Cut at the cap
 * ```ts
 * import { readCapped } from "./read_capped.ts";
 * import assert from "node:assert/strict";
 *
 * const body = () => new Response("hello").body;
 * assert.deepEqual(await readCapped(body(), 5), new TextEncoder().encode("hello"));
 * assert.equal(await readCapped(body(), 4), undefined);
 * assert.deepEqual(await readCapped(null, 0), new Uint8Array());
 * ```
 */
export async function readCapped(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  /** Given the reader while it reads, for a caller that cancels it at a deadline. */
  state?: { reader?: ReadableStreamDefaultReader<Uint8Array> },
): Promise<Uint8Array | undefined> {
  if (stream === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = stream.getReader();
  if (state) state.reader = reader;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        // Cancelling (not just stopping) closes a fetch body's connection, so
        // a body that never ends is not left streaming into a buffer.
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0] : concat(chunks, received);
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
