/**
 * Splits a text into chunks for embedding: on paragraph boundaries first,
 * then on sentence boundaries inside a paragraph too long for one chunk, and
 * only then on words (or, for a "word" longer than a chunk, on characters).
 * Consecutive chunks overlap by whole trailing sentences of the previous
 * chunk, up to `overlap` characters, so a fact that spans a boundary is
 * found from either side.
 *
 * Pure and deterministic: the same text and options always give the same
 * chunks, which is what lets `ingest` skip unchanged chunks by their hash.
 *
 * @module
 */

/** Chunk size and overlap, in characters (UTF-16 code units). */
export interface ChunkOptions {
  /** The longest chunk (at least 20). */
  readonly size: number;
  /** Characters of trailing sentences repeated at the start of the next chunk (at most size / 2). */
  readonly overlap: number;
}

/** One piece to pack: a sentence (or a part of one), and whether a paragraph starts with it. */
interface Unit {
  readonly text: string;
  readonly paragraphStart: boolean;
}

// A sentence ends at . ! ? (with closing quotes or brackets) followed by white space.
const SENTENCE_END = /(?<=[.!?]["')\]]*)\s+/;

/**
 * Splits `text` into chunks of at most `options.size` characters.
 *
 * @example Paragraphs are kept whole when they fit
 * ```ts
 * import { chunkText } from "./chunker.ts";
 * import assert from "node:assert/strict";
 *
 * const text = "First paragraph. It has two sentences.\n\nSecond paragraph.";
 * assert.deepEqual(chunkText(text, { size: 60, overlap: 0 }), [
 *   "First paragraph. It has two sentences.\n\nSecond paragraph.",
 * ]);
 * assert.deepEqual(chunkText(text, { size: 40, overlap: 0 }), [
 *   "First paragraph. It has two sentences.",
 *   "Second paragraph.",
 * ]);
 * ```
 */
export function chunkText(text: string, options: ChunkOptions): string[] {
  const { size, overlap } = options;
  if (!Number.isInteger(size) || size < 20) throw new RangeError("Chunk size must be at least 20");
  if (!Number.isInteger(overlap) || overlap < 0 || overlap * 2 > size) {
    throw new RangeError("Chunk overlap must be from 0 to half the chunk size");
  }
  const units = splitUnits(text, size);
  const chunks: string[] = [];
  let current: Unit[] = [];
  let length = 0;
  /** Units of `current` that came from the previous chunk's overlap. */
  let carried = 0;

  const joinedLength = (units: readonly Unit[]) =>
    units.reduce((n, u, i) => n + u.text.length + (i === 0 ? 0 : u.paragraphStart ? 2 : 1), 0);

  for (const unit of units) {
    const added = current.length === 0 ? unit.text.length : unit.text.length +
      (unit.paragraphStart ? 2 : 1);
    if (current.length > carried && length + added > size) {
      chunks.push(join(current));
      // Carry trailing whole units, up to `overlap` characters.
      const tail: Unit[] = [];
      for (let i = current.length - 1; i > 0; i--) {
        const candidate = [current[i], ...tail];
        if (joinedLength(candidate) > overlap) break;
        tail.unshift(current[i]);
      }
      current = tail;
      carried = tail.length;
      length = joinedLength(current);
    }
    // Right after a cut, the carried overlap gives way when it leaves no room for the next unit.
    while (
      carried > 0 && current.length === carried &&
      length + unit.text.length + (unit.paragraphStart ? 2 : 1) > size
    ) {
      current.shift();
      carried--;
      length = joinedLength(current);
    }
    current.push(unit);
    length = joinedLength(current);
  }
  if (current.length > carried) chunks.push(join(current));
  return chunks;
}

function join(units: readonly Unit[]): string {
  let out = "";
  units.forEach((u, i) => {
    out += i === 0 ? u.text : (u.paragraphStart ? "\n\n" : " ") + u.text;
  });
  return out;
}

/** Paragraphs → sentences → words → characters, until every unit fits in `size`. */
function splitUnits(text: string, size: number): Unit[] {
  const units: Unit[] = [];
  const paragraphs = text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/);
  for (const raw of paragraphs) {
    // Inside a paragraph, line breaks are just spaces (Markdown soft breaks).
    const paragraph = raw.replace(/\s+/g, " ").trim();
    if (paragraph === "") continue;
    let first = true;
    const pieces = paragraph.length <= size ? [paragraph] : paragraph.split(SENTENCE_END);
    for (const sentence of pieces) {
      for (const piece of fit(sentence, size)) {
        units.push({ text: piece, paragraphStart: first });
        first = false;
      }
    }
  }
  return units;
}

/** A sentence as pieces of at most `size`: on spaces, else cut. */
function fit(sentence: string, size: number): string[] {
  if (sentence.length <= size) return [sentence];
  const out: string[] = [];
  let line = "";
  for (const word of sentence.split(" ")) {
    if (word.length > size) {
      if (line) out.push(line);
      line = "";
      for (let i = 0; i < word.length; i += size) {
        const part = word.slice(i, i + size);
        if (part.length === size) out.push(part);
        else line = part;
      }
      continue;
    }
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= size) line += " " + word;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line) out.push(line);
  return out;
}
