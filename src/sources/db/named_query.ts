/**
 * `:name` placeholders for SQL written as plain text (a tool's fixed query
 * kept in a string or file, not a tagged template): {@linkcode namedQuery}
 * turns them into `$1…$n` and binds the values, so a value can never become
 * SQL text — the same guarantee as the `sql` tagged template.
 *
 * A small tokenizer, not a regex, finds the placeholders: it skips what
 * Postgres treats as literal text — quoted strings (`'…'` with `''`,
 * `E'…'` with backslash escapes), quoted identifiers, `--` and nested
 * `/* *\/` comments, dollar quotes (`$$…$$`, `$tag$…$tag$`) — and the `::`
 * cast. It also refuses text that shows the author went around the binding:
 * `{x}`/`${x}` left over from string interpolation, positional `$1`, or a
 * second statement. It assumes `standard_conforming_strings = on` (the
 * default since PostgreSQL 9.1).
 *
 * An identifier right before `:` still starts a placeholder after it, so an
 * array slice with a named bound is written with spaces: `arr[lo : hi]`.
 *
 * @example
 * ```ts
 * import { namedQuery } from "./named_query.ts";
 * import assert from "node:assert/strict";
 *
 * const q = namedQuery(
 *   "SELECT * FROM orders WHERE customer_id = :id AND status = 'open:x' AND amount::int > :min OR id = :id",
 *   { id: 7, min: 10 },
 * );
 * assert.equal(
 *   q.text,
 *   "SELECT * FROM orders WHERE customer_id = $1 AND status = 'open:x' AND amount::int > $2 OR id = $1",
 * );
 * assert.deepEqual(q.values, [7, 10]);
 * ```
 *
 * @module
 */
import { makeSqlQuery, type SqlQuery } from "./sql_source.ts";

/** The query text is malformed; the message names the placeholder or key and is safe to show. */
export class QueryTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryTextError";
  }
}

/** A placeholder's name (after the `:`). */
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Characters that continue an SQL identifier or keyword (Postgres allows `$` and non-ASCII). */
const IDENTIFIER_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const IDENTIFIER_START = /[A-Za-z_\u0080-\uffff]/;
/** A dollar-quote opener: `$$` or `$tag$` (a tag cannot start with a digit: that is `$1`). */
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const POSITIONAL = /\$[0-9]+/y;
/** `{name}` / `{ obj.name }`: what a template's `${…}` or a format string leaves behind. */
const BRACED_NAME = /\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*\}/y;
const WHITESPACE = /\s/;

function matchAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

/** Index just past the quote that closes a `'…'` or `"…"` opened at `start` (doubled quotes escape). */
function skipQuoted(text: string, start: number, quote: string, backslashes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslashes && c === "\\") i += 2;
    else if (c === quote && text[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i++;
  }
  throw new QueryTextError(
    quote === "'" ? "Unterminated quoted string" : "Unterminated quoted identifier",
  );
}

/** Index just past a `/* … *\/` comment opened at `start`; Postgres nests them. */
function skipBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (text.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  throw new QueryTextError("Unterminated /* comment");
}

/** Index just past the end of the line of a `--` comment. */
function skipLineComment(text: string, start: number): number {
  const end = text.indexOf("\n", start);
  return end === -1 ? text.length : end + 1;
}

/** A short quote of interpolation-looking text for the error message. */
function interpolationSnippet(text: string, start: number): string {
  const end = text.indexOf("}", start);
  return end !== -1 && end - start < 40 ? text.slice(start, end + 1) : text.slice(start, start + 2);
}

/**
 * Converts `:name` placeholders in `text` to `$1…$n` (a repeated name reuses
 * its number) and binds `params` in that order.
 *
 * A key must be an own property whose value is not `undefined` (`null` binds
 * SQL NULL), so `:constructor` never picks up `Object.prototype`.
 *
 * @throws {QueryTextError} for a placeholder without a value, a value without
 * a placeholder, `{x}`/`${x}` outside strings and comments, a positional `$n`,
 * more than one statement, or an unterminated string, identifier or comment.
 */
export function namedQuery(text: string, params: Readonly<Record<string, unknown>>): SqlQuery {
  const numbers = new Map<string, number>();
  let out = "";
  // Start of the text not yet copied to `out`.
  let copied = 0;
  // Set by a `;`: from then on only whitespace and comments may follow.
  let statementEnded = false;
  let i = 0;

  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];

    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    if (c === "-" && next === "-") {
      i = skipLineComment(text, i);
      continue;
    }
    if (c === "/" && next === "*") {
      i = skipBlockComment(text, i);
      continue;
    }
    if (statementEnded) throw new QueryTextError("Only one statement is allowed");

    if (c === ";") {
      statementEnded = true;
      i++;
    } else if (c === "'") {
      i = skipQuoted(text, i, "'", false);
    } else if ((c === "E" || c === "e") && next === "'") {
      // Reached only at the start of a word (whole identifiers are consumed
      // below), so this is an escape string, where `\'` does not close it.
      i = skipQuoted(text, i + 1, "'", true);
    } else if (c === '"') {
      i = skipQuoted(text, i, '"', false);
    } else if (c === "$") {
      if (next === "{") {
        throw new QueryTextError(
          `Looks like string interpolation: ${
            interpolationSnippet(text, i)
          } (use :name placeholders)`,
        );
      }
      const positional = matchAt(POSITIONAL, text, i);
      if (positional) throw new QueryTextError(`Use :name placeholders, not ${positional}`);
      const tag = matchAt(DOLLAR_TAG, text, i);
      if (tag) {
        const end = text.indexOf(tag, i + tag.length);
        if (end === -1) throw new QueryTextError(`Unterminated dollar-quoted string ${tag}`);
        i = end + tag.length;
      } else i++;
    } else if (c === "{" && matchAt(BRACED_NAME, text, i)) {
      throw new QueryTextError(
        `Looks like string interpolation: ${
          matchAt(BRACED_NAME, text, i)
        } (use :name placeholders)`,
      );
    } else if (c === ":" && next === ":") {
      // The cast operator: `a::int` has no placeholder.
      i += 2;
    } else if (c === ":" && matchAt(NAME, text, i + 1)) {
      const name = matchAt(NAME, text, i + 1)!;
      let n = numbers.get(name);
      if (n === undefined) numbers.set(name, n = numbers.size + 1);
      out += text.slice(copied, i) + `$${n}`;
      i += 1 + name.length;
      copied = i;
    } else if (IDENTIFIER_START.test(c)) {
      // Whole words, so a `$` or `e'` inside one is not mistaken for a quote.
      i++;
      while (i < text.length && IDENTIFIER_PART.test(text[i])) i++;
    } else {
      i++;
    }
  }
  out += text.slice(copied);

  const values: unknown[] = [];
  for (const name of numbers.keys()) {
    if (!Object.hasOwn(params, name) || params[name] === undefined) {
      throw new QueryTextError(`Missing value for :${name}`);
    }
    values.push(params[name]);
  }
  for (const key of Object.keys(params)) {
    if (!numbers.has(key)) throw new QueryTextError(`Unused parameter: ${key}`);
  }
  return makeSqlQuery(out, values);
}
