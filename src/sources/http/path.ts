/**
 * Builds upstream paths so a value can never change the path or the host:
 * every interpolated value becomes exactly one encoded path segment.
 *
 * @module
 */

/** A path built by {@linkcode apiPath}; plain strings are refused by the client. */
export interface ApiPath {
  readonly path: string;
  readonly [API_PATH]: true;
}

const API_PATH: unique symbol = Symbol("ApiPath");

/**
 * Encodes one path segment with `encodeURIComponent` (so `/`, `?`, `#`, `%`
 * and backslash cannot split it). A value with a lone surrogate has no UTF-8
 * form, so it is refused. A segment of only dots cannot be sent at all:
 * URL parsing resolves `.`, `..` and even `%2E%2E` away (a walk up the tree),
 * so those values are refused rather than encoded.
 */
export function encodeSegment(value: string | number): string {
  const text = String(value);
  if (text === "") throw new RangeError("An upstream path segment cannot be empty");
  // encodeURIComponent throws a URIError on a lone surrogate; a RangeError is
  // what callers already treat as "this value cannot be a segment".
  if (!text.isWellFormed()) {
    throw new RangeError("An upstream path segment must be well-formed Unicode");
  }
  if (/^(\.|%2e)+$/i.test(text)) {
    throw new RangeError("An upstream path segment cannot be made of dots only");
  }
  return encodeURIComponent(text);
}

/**
 * Tagged template for upstream paths: the literal parts are trusted, each
 * `${value}` is encoded with {@linkcode encodeSegment}.
 *
 * @example
 * ```ts
 * import { apiPath } from "./path.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(apiPath`/customers/${42}/orders`.path, "/customers/42/orders");
 * assert.equal(apiPath`/customers/${"../admin"}`.path, "/customers/..%2Fadmin");
 * assert.throws(() => apiPath`/customers/${".."}`);
 * ```
 */
export function apiPath(strings: TemplateStringsArray, ...values: (string | number)[]): ApiPath {
  let path = strings[0];
  values.forEach((value, i) => {
    path += encodeSegment(value) + strings[i + 1];
  });
  if (!path.startsWith("/")) throw new TypeError("An upstream path must start with /");
  return Object.freeze({ path, [API_PATH]: true as const });
}

/** True for values built by {@linkcode apiPath}. */
export function isApiPath(value: unknown): value is ApiPath {
  return typeof value === "object" && value !== null && API_PATH in value;
}

/**
 * Joins `base` (which may carry a path prefix, like `https://api.example.com/v1`)
 * and `path`, and checks the result is still under `base`: same origin, same
 * prefix. Query parameters are set through `URLSearchParams`, so they are
 * encoded too.
 */
export function resolveUnder(
  base: URL,
  path: ApiPath,
  query?: Readonly<Record<string, string | number | undefined>>,
): URL {
  const prefix = base.pathname.replace(/\/+$/, "");
  const url = new URL(base.origin + prefix + path.path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  // Anything URL parsing changed (a dot segment in the literal part, say) means
  // the request would not go where the code says.
  if (url.origin !== base.origin || url.pathname !== prefix + path.path) {
    throw new TypeError("An upstream path escaped the configured base URL");
  }
  return url;
}
