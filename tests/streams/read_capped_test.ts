import assert from "node:assert/strict";
import { readCapped } from "../../src/streams/read_capped.ts";

/** A stream of `chunks` that records whether it was cancelled and how many chunks were pulled. */
function chunked(chunks: Uint8Array[]) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled === chunks.length) return controller.close();
      controller.enqueue(chunks[seen.pulled++]);
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

Deno.test("readCapped() joins the chunks of a body up to exactly the cap", async () => {
  const { stream, seen } = chunked([
    new Uint8Array([1, 2]),
    new Uint8Array([3]),
    new Uint8Array([4]),
  ]);
  assert.deepEqual(await readCapped(stream, 4), new Uint8Array([1, 2, 3, 4]));
  assert.equal(seen.cancelled, false);
});

Deno.test("readCapped() stops and cancels the stream at the first chunk past the cap", async () => {
  const chunks = Array.from({ length: 100 }, () => new Uint8Array(10));
  const { stream, seen } = chunked(chunks);
  assert.equal(await readCapped(stream, 25), undefined);
  assert.equal(seen.pulled, 3, "not a chunk more than it takes to pass the cap");
  assert.equal(seen.cancelled, true);
});

Deno.test("readCapped() reads no body as empty, and passes a stream's error on", async () => {
  assert.deepEqual(await readCapped(null, 10), new Uint8Array());
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new TypeError("connection reset"));
    },
  });
  await assert.rejects(readCapped(failing, 10), TypeError);
});
