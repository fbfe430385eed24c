import assert from "node:assert/strict";
import { chunkText } from "../../src/rag/chunker.ts";

const words = (text: string) => text.split(/\s+/).filter(Boolean);

function sentences(n: number, prefix = "Sentence"): string {
  return Array.from({ length: n }, (_, i) => `${prefix} number ${i} says something short.`).join(
    " ",
  );
}

Deno.test("chunkText() keeps small paragraphs together up to the size", () => {
  const text = "Alpha one. Alpha two.\n\nBeta one.\n\nGamma one. Gamma two.";
  assert.deepEqual(chunkText(text, { size: 1000, overlap: 0 }), [
    "Alpha one. Alpha two.\n\nBeta one.\n\nGamma one. Gamma two.",
  ]);
  assert.deepEqual(chunkText(text, { size: 34, overlap: 0 }), [
    "Alpha one. Alpha two.\n\nBeta one.",
    "Gamma one. Gamma two.",
  ]);
});

Deno.test("chunkText() splits a long paragraph on sentence boundaries only", () => {
  const text = sentences(40);
  const chunks = chunkText(text, { size: 200, overlap: 0 });
  assert.ok(chunks.length > 5, `${chunks.length} chunks`);
  for (const chunk of chunks) {
    assert.ok(chunk.length <= 200, `${chunk.length}: ${chunk}`);
    assert.match(chunk, /^Sentence number \d+ .*short\.$/, chunk);
  }
  // Nothing lost, nothing repeated without overlap.
  assert.deepEqual(words(chunks.join(" ")), words(text));
});

Deno.test("chunkText() overlaps by whole trailing sentences within the overlap", () => {
  const text = sentences(30);
  const chunks = chunkText(text, { size: 200, overlap: 80 });
  const split = (chunk: string) => chunk.split(/(?<=\.) /);
  for (let i = 1; i < chunks.length; i++) {
    const previous = split(chunks[i - 1]);
    const current = split(chunks[i]);
    // The longest run of whole sentences that ends the previous chunk and starts this one.
    let shared = 0;
    for (let k = 1; k < current.length; k++) {
      if (previous.slice(-k).join(" ") === current.slice(0, k).join(" ")) shared = k;
    }
    const overlap = current.slice(0, shared).join(" ");
    assert.ok(shared >= 1, `chunk ${i} does not start with the end of chunk ${i - 1}`);
    assert.ok(overlap.length <= 80, overlap);
    // As much as fits: one more sentence would pass the overlap.
    assert.ok(previous.slice(-(shared + 1)).join(" ").length > 80);
    assert.ok(chunks[i].length <= 200);
  }
  // Every sentence appears, in order.
  const seen = chunks.join(" ").match(/number \d+/g)!.map((m) => Number(m.slice(7)));
  assert.deepEqual([...new Set(seen)], Array.from({ length: 30 }, (_, i) => i));
  assert.ok(seen.length > 30, "the overlap repeats some sentences");
});

Deno.test("chunkText() splits an over-long sentence on spaces, and an over-long word by length", () => {
  const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ");
  for (const chunk of chunkText(long, { size: 50, overlap: 0 })) {
    assert.ok(chunk.length <= 50);
    assert.doesNotMatch(chunk, /^ | $/);
  }
  const blob = "x".repeat(130);
  assert.deepEqual(chunkText(blob, { size: 50, overlap: 10 }), [
    "x".repeat(50),
    "x".repeat(50),
    "x".repeat(30),
  ]);
});

Deno.test("chunkText() folds line breaks inside a paragraph and skips blank ones", () => {
  const text = "\r\n\r\nOne line\nwraps here.\r\n\r\n\n  \n\nNext   paragraph.\n";
  assert.deepEqual(chunkText(text, { size: 100, overlap: 0 }), [
    "One line wraps here.\n\nNext paragraph.",
  ]);
  assert.deepEqual(chunkText("  \n\n ", { size: 100, overlap: 0 }), []);
});

Deno.test("chunkText() is deterministic and respects the size for many shapes", () => {
  const text = [
    sentences(7, "Alpha"),
    "Short.",
    sentences(25, "Beta"),
    "y".repeat(333),
    sentences(3, "Gamma"),
  ].join("\n\n");
  for (const size of [20, 57, 100, 250, 1000]) {
    for (const overlap of [0, 10, Math.floor(size / 2)]) {
      const a = chunkText(text, { size, overlap });
      assert.deepEqual(a, chunkText(text, { size, overlap }));
      for (const chunk of a) assert.ok(chunk.length <= size, `${size}/${overlap}: ${chunk.length}`);
      if (overlap === 0) {
        assert.equal(words(a.join(" ")).join("").length, words(text).join("").length);
      }
    }
  }
});

Deno.test("chunkText() refuses a size under 20 and an overlap over half the size", () => {
  assert.throws(() => chunkText("x", { size: 19, overlap: 0 }), RangeError);
  assert.throws(() => chunkText("x", { size: 100, overlap: 51 }), RangeError);
  assert.throws(() => chunkText("x", { size: 100, overlap: -1 }), RangeError);
});
