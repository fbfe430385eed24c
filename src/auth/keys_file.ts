/**
 * The API keys file (`API_KEYS_FILE`): more keys than the two environment
 * ones, each with its own scopes, rate limit and expiry. It holds the SHA-256
 * of each key, never the key itself, so a leaked file (a backup, a ConfigMap
 * shown by mistake) lets nobody in. `mcp-tool-server hash-key` prints the
 * hash of a key read from stdin.
 *
 * ```yaml
 * keys:
 *   - id: reporting-bot            # what logs, metrics and rate limits name
 *     sha256: 3b1f…(64 hex digits)  # from `mcp-tool-server hash-key`
 *     scopes: [tools:read]         # optional; absent: every tool
 *     rate_limit_rpm: 120          # optional; absent: RATE_LIMIT_KEY_RPM, then RATE_LIMIT_RPM
 *     expires: 2027-06-30          # optional; a date (UTC midnight) or an ISO date-time
 * ```
 *
 * JSON with the same shape works too (JSON is YAML). Every problem is
 * reported with its line and column, all at once.
 *
 * @module
 */
import { isPermissionError, readPermissionHint } from "../config/permission_hint.ts";
import { isNode, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { parseStrictDate } from "../config/strict_date.ts";
import { SCOPE_PATTERN } from "./scopes.ts";
import { KeysFileError, type KeysFileProblem } from "./keys_file_error.ts";

export { KeysFileError, type KeysFileProblem };

/** One key from the file. */
export interface FileKey {
  readonly id: string;
  /** Lowercase hex SHA-256 of the key. */
  readonly sha256: string;
  /** Absent: the key may call every tool. */
  readonly scopes: ReadonlySet<string> | undefined;
  readonly rateLimitRpm: number | undefined;
  /** Epoch milliseconds after which the key is refused. */
  readonly expiresAt: number | undefined;
}

/** Ids the environment keys use; a file key cannot take them. */
const RESERVED_IDS = new Set(["primary", "secondary", "conformance"]);
/** Key ids are log fields and metric labels: short and plain. */
export const KEY_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

// Strict: `Date.parse` would roll 2027-02-30 over to March 2 (see strict_date.ts).
const Expiry = z.string().transform((raw, ctx) => {
  const ms = parseStrictDate(raw, { dateTime: true });
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected a real date (2027-06-30) or an ISO date-time with a zone, not "${
        raw.slice(0, 40)
      }"`,
    });
    return z.NEVER;
  }
  return ms;
});

const KeySpec = z.strictObject({
  id: z.string().regex(KEY_ID_PATTERN, `must match ${KEY_ID_PATTERN.source}`).refine(
    (id) => !RESERVED_IDS.has(id),
    "is reserved for the environment keys",
  ),
  sha256: z.string().regex(
    /^[0-9a-fA-F]{64}$/,
    "expected 64 hex digits (the SHA-256 of the key; `mcp-tool-server hash-key` prints it)",
  ).transform((h) => h.toLowerCase()),
  scopes: z.array(z.string().regex(SCOPE_PATTERN, `must match ${SCOPE_PATTERN.source}`))
    .min(1, "list at least one scope, or leave scopes out to allow every tool")
    .max(100).optional(),
  rate_limit_rpm: z.int().min(1).max(1_000_000).optional(),
  // YAML 1.2 (the yaml package's default) reads an unquoted date as a string.
  expires: Expiry.optional(),
});

const KeysFileSpec = z.strictObject({
  keys: z.array(KeySpec).min(1, "list at least one key").max(10_000),
});

/** Checks the text of a keys file. Never throws for a bad file. */
export function parseKeysFile(
  text: string,
): { ok: true; keys: FileKey[] } | { ok: false; problems: KeysFileProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: KeysFileProblem[] = [];
  const at = (offset: number, message: string) => {
    const pos = lines.linePos(offset);
    problems.push({ line: pos.line, column: pos.col, message });
  };
  const offsetOf = (path: readonly PropertyKey[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return 0;
  };
  for (const error of doc.errors) {
    at(error.pos[0], error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""));
  }
  if (problems.length > 0) return { ok: false, problems };
  const parsed = KeysFileSpec.safeParse(doc.toJS({ maxAliasCount: 100 }) ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.map(String).join(".");
      const message = issue.code === "unrecognized_keys"
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : issue.message;
      at(offsetOf(issue.path), where ? `${where}: ${message}` : message);
    }
    return { ok: false, problems: sortByPlace(problems) };
  }
  const ids = new Set<string>();
  const hashes = new Set<string>();
  parsed.data.keys.forEach((k, i) => {
    if (ids.has(k.id)) at(offsetOf(["keys", i, "id"]), `keys.${i}.id: "${k.id}" is listed twice`);
    // Two entries for one key would make which scopes apply depend on order.
    if (hashes.has(k.sha256)) {
      at(offsetOf(["keys", i, "sha256"]), `keys.${i}.sha256: the same key is listed twice`);
    }
    ids.add(k.id);
    hashes.add(k.sha256);
  });
  if (problems.length > 0) return { ok: false, problems: sortByPlace(problems) };
  return {
    ok: true,
    keys: parsed.data.keys.map((k) => ({
      id: k.id,
      sha256: k.sha256,
      scopes: k.scopes && new Set(k.scopes),
      rateLimitRpm: k.rate_limit_rpm,
      expiresAt: k.expires,
    })),
  };
}

/**
 * Reads and checks the keys file at `path`. Throws {@linkcode KeysFileError}
 * for a bad file, and for one it cannot read (naming the `--allow-read` grant
 * when that is why).
 */
export async function readKeysFile(path: string): Promise<FileKey[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const message = isPermissionError(error)
      ? readPermissionHint(path)
      : error instanceof Deno.errors.NotFound
      ? "no such file"
      : `cannot read it: ${(error as Error).message}`;
    throw new KeysFileError(path, [{ line: 1, column: 1, message }]);
  }
  const result = parseKeysFile(text);
  if (!result.ok) throw new KeysFileError(path, result.problems);
  return result.keys;
}

function sortByPlace(problems: KeysFileProblem[]): KeysFileProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}
