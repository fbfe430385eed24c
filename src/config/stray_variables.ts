/**
 * Variables that look like ours but are not: `DB_ULR`, `API_KEY_PRIMAY`,
 * `RATE_LIMIT_STORE`. The parser ignores names it does not know, so a typo
 * would silently fall back to a default (the embedded demo database, a
 * generated key). Found here by edit distance to a known name, or by one of
 * our prefixes; `serve` warns about them in development and refuses to start
 * with them in staging and production.
 *
 * It reads only the `env` it is given (nothing but `env.ts`'s callers read
 * `Deno.env`).
 *
 * @module
 */
import { CONFIG_VARIABLES, SECRET_VARIABLES } from "./env.ts";

/** One variable that is not ours, and the known one it most resembles. */
export interface StrayVariable {
  readonly name: string;
  /** The closest known variable, when one is near enough to be the intended one. */
  readonly closest: string | undefined;
}

/**
 * Prefixes only this server's variables use: any other name with one is a
 * mistake (or a variable of a newer version).
 */
const OUR_PREFIXES = [
  "DB_",
  "API_",
  "RATE_LIMIT_",
  "CACHE_",
  "SQL_QUERY_",
  "RAG_",
  "TLS_",
  "PGLITE_",
  "TOOLS_",
  "TOOL_",
  "LOG_",
  "MCP_",
  "DEMO_",
];

/**
 * Variables Kubernetes injects for every Service of the namespace (service
 * links: a Service named `db` gives `DB_PORT`, `DB_SERVICE_HOST`, …): never
 * ours, whatever their prefix.
 */
const SERVICE_LINK =
  /^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)$/;

/**
 * Other programs' well-known variables that sit near ours (`SSL_CERT_FILE`
 * is one edit from `TLS_CERT_FILE`), and prefixes of the runtime's, libpq's,
 * OpenTelemetry's and Kubernetes' own: never reported.
 */
const FOREIGN_VARIABLES = new Set([
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "SSLKEYLOGFILE",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "HOSTNAME",
  "HOME",
]);
const FOREIGN_PREFIXES = /^(DENO_|NODE_|NPM_|OTEL_|KUBERNETES_|PG(?!LITE_))/;

/** Every name the server reads: the schema's, and `NAME_FILE` for each secret. */
export const KNOWN_VARIABLES: ReadonlySet<string> = new Set([
  ...CONFIG_VARIABLES,
  ...[...SECRET_VARIABLES].map((name) => `${name}_FILE`),
]);

/**
 * The variables of `env` that look like ours and are not, each with the
 * closest known name. `referenced`: names a tools file reads with `${NAME}`
 * (they are the user's, whatever they look like).
 *
 * @example A transposed letter and a prefix
 * ```ts
 * import { strayVariables } from "./stray_variables.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(strayVariables({ DB_ULR: "postgres://db/app", HOME: "/root" }), [
 *   { name: "DB_ULR", closest: "DB_URL" },
 * ]);
 * ```
 */
export function strayVariables(
  env: Readonly<Record<string, string | undefined>>,
  referenced: ReadonlySet<string> = new Set(),
): StrayVariable[] {
  const stray: StrayVariable[] = [];
  for (const name of Object.keys(env).sort()) {
    if (KNOWN_VARIABLES.has(name) || referenced.has(name) || SERVICE_LINK.test(name)) continue;
    if (FOREIGN_VARIABLES.has(name) || FOREIGN_PREFIXES.test(name)) continue;
    // Only upper-case names like ours: a long or odd name is nobody's typo of ours.
    if (name.length > 64 || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    const closest = closestKnown(name);
    if (closest !== undefined || OUR_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      stray.push({ name, closest: closest ?? closestKnown(name, 8) });
    }
  }
  return stray;
}

/** The line that names a stray variable and what to do. */
export function describeStray(stray: StrayVariable): string {
  return stray.closest === undefined
    ? `${stray.name}: is not a variable this server reads; remove it`
    : `${stray.name}: is not a variable this server reads; did you mean ${stray.closest}?`;
}

/**
 * The characters a name holds, as bits of a 32-bit number: one bit for each
 * of `A`–`Z` and `_`, digits four to a bit, anything else one bit. Characters
 * that share a bit only make the count in `closestKnown` smaller, never
 * larger, so no name within reach is ruled out.
 */
function characters(name: string): number {
  let bits = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    bits |= 1 <<
      (c >= 65 && c <= 90 ? c - 65 : c === 95 ? 26 : c >= 48 && c <= 57 ? 27 + c % 4 : 31);
  }
  return bits;
}

/** How many bits are set. */
function bitCount(bits: number): number {
  let n = 0;
  for (; bits !== 0; bits &= bits - 1) n++;
  return n;
}

/** Each known name with its characters (see `closestKnown`). */
const KNOWN_CHARACTERS: readonly (readonly [string, number])[] = [...KNOWN_VARIABLES].map((
  name,
) => [name, characters(name)]);

/**
 * The known name nearest to `name`, when within `limit` edits (default: one
 * edit for names up to five characters, two beyond, so `PGPORT` is not taken
 * for `PORT`).
 *
 * Every start compares each variable of the environment with every known
 * name; most pairs are ruled out before the edit distance: each character one
 * name has and the other lacks takes an edit of its own.
 */
function closestKnown(name: string, limit?: number): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const own = characters(name);
  for (const [known, theirs] of KNOWN_CHARACTERS) {
    const allowed = limit ?? (Math.min(known.length, name.length) <= 5 ? 1 : 2);
    if (Math.abs(known.length - name.length) > allowed) continue;
    if (bitCount(own & ~theirs) > allowed || bitCount(theirs & ~own) > allowed) continue;
    const d = editDistance(name, known, allowed);
    if (d <= allowed && d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and
 * adjacent swaps. With `limit`, it stops once the distance must exceed it and
 * returns `limit + 1`: at start every variable of the environment is compared
 * with every known name, so the rows are kept to three and the work to the
 * near ones (this ran for ~10 ms of each start with 35 variables).
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  const cols = b.length + 1;
  // Only cells within `limit` of the diagonal can stay within it; the rest count as too far.
  const band = Math.min(limit, Math.max(a.length, b.length));
  const far = band + 1;
  let older = new Array<number>(cols).fill(far);
  let previous = new Array<number>(cols).fill(far);
  let current = new Array<number>(cols).fill(far);
  for (let j = 0; j <= Math.min(band, cols - 1); j++) previous[j] = j;
  let previousMin = 0;
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - band);
    const hi = Math.min(cols - 1, i + band);
    current[0] = i <= band ? i : far;
    current[lo - 1] = lo === 1 ? current[0] : far;
    if (hi + 1 < cols) current[hi + 1] = far;
    let rowMin = current[0];
    for (let j = lo; j <= hi; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, older[j - 2] + 1);
      }
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    // Every later cell builds on the last two rows: past the limit in both, it stays past.
    if (rowMin > band && previousMin > band) return limit + 1;
    previousMin = rowMin;
    [older, previous, current] = [previous, current, older];
  }
  const distance = previous[cols - 1];
  return distance > band ? limit + 1 : distance;
}
