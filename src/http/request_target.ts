/**
 * What a request asks for, read from its request-target and never from its
 * `Host` header.
 *
 * `Deno.serve` builds `req.url` as `http://` + the raw `Host` value + the
 * request-target (or takes an absolute-form target as it came), so parsing
 * `req.url` as it stands lets the `Host` header choose the path:
 * `GET /v1/mcp` with `Host: x/metrics#` parses as `/metrics`, and a `Host`
 * that is no host name at all (`a b`, `[::1`) makes `new URL` throw. Here the
 * `Host` value is checked against the shape of an authority first (a name or
 * an address, an optional port: nothing that could end it early), and the
 * path is cut from the request-target. A path the URL parser would rewrite
 * (`/a/../metrics`, `%2e%2e`, a backslash) is refused rather than routed on
 * either reading, so the router, the CORS check and the doors all see one
 * path.
 *
 * @module
 */

/** A request's target, once its `Host` and path passed the checks. */
export interface RequestTarget {
  /** `req.url` parsed, with the path unchanged by parsing. */
  readonly url: URL;
  /** The path to route on: the request-target's, byte for byte. */
  readonly path: string;
}

/** Why a request's target was refused (answered with a 400). */
export interface TargetProblem {
  readonly problem: string;
}

/**
 * A DNS name (labels of letters, digits, `-` and `_`, an optional final dot),
 * an IPv4 address or a bracketed IPv6 address, then an optional port. No
 * percent-encoding, user info, spaces or non-ASCII: clients send IDNs as
 * punycode, and anything else here is an attempt to end the authority early.
 */
const HOST_SHAPE =
  /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** Whether `value` is a well-formed `Host` header value (see {@linkcode HOST_SHAPE}). */
export function isWellFormedHost(value: string): boolean {
  if (value.length > 261 || !HOST_SHAPE.test(value)) return false;
  const port = /:([0-9]+)$/.exec(value);
  return port === null || Number(port[1]) <= 65_535;
}

/**
 * The request's target, or why it is refused.
 *
 * @example A Host that tries to choose the path is refused
 * ```ts
 * import { requestTarget } from "./request_target.ts";
 * import assert from "node:assert/strict";
 *
 * const ok = requestTarget(new Request("http://localhost:8000/v1/mcp"));
 * assert.ok("path" in ok && ok.path === "/v1/mcp");
 * const bad = requestTarget(
 *   new Request("http://localhost:8000/v1/mcp", { headers: { host: "x/metrics#" } }),
 * );
 * assert.ok("problem" in bad);
 * ```
 */
export function requestTarget(req: Request): RequestTarget | TargetProblem {
  const raw = req.url;
  const host = req.headers.get("host");
  if (host !== null && !isWellFormedHost(host)) return MALFORMED_HOST;
  // Where the authority starts: after "http://" or "https://".
  const start = raw.indexOf("://") + 3;
  let targetStart: number;
  if (host !== null && raw.startsWith(host, start) && raw[start + host.length] === "/") {
    // Origin-form from the network: the URL is "http://" + Host + target.
    targetStart = start + host.length;
  } else {
    // Absolute-form from the network (its authority is a parsed URI's, which
    // cannot hold "/", "?" or "#"), a request without Host (Deno puts its own
    // address there), or a Request built in-process.
    targetStart = firstOf(raw, "/?#", start);
  }
  const queryAt = firstOf(raw, "?#", targetStart);
  const path = raw.slice(targetStart, queryAt) || "/";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Only an impossible IPv6 address (`[:::::]`) gets this far.
    return MALFORMED_HOST;
  }
  if (url.pathname !== path) return MALFORMED_TARGET;
  return { url, path };
}

const MALFORMED_HOST: TargetProblem = Object.freeze({ problem: "Malformed Host header" });
const MALFORMED_TARGET: TargetProblem = Object.freeze({
  problem: "Malformed request target: the path is not in normal form",
});

/** The index of the first of `chars` in `text` from `from`, else `text.length`. */
function firstOf(text: string, chars: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (chars.includes(text[i])) return i;
  }
  return text.length;
}
