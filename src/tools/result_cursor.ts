/**
 * Cursors that continue a capped SQL result (`sql_query`, tools-file SQL
 * tools): a truncated page carries `cursor`, and the same call with it
 * returns the next page.
 *
 * A cursor is **signed and stateless**: `v1.<payload>.<HMAC-SHA256>`, the
 * payload holding the offset of the next row, the expiry, the principal, the
 * tool and a digest of the call's other arguments. Any replica holding the
 * same key can check and continue it, so behind a load balancer nothing is
 * shared and nothing is stored (a Redis entry per page would add a round
 * trip, a store to size and a dependency for a value that fits in a token).
 * The price: a cursor cannot be revoked before it expires (rotating the key
 * ends them all), and the payload is readable (it holds no data, only the
 * offset, the key's id and the tool's name).
 *
 * Paging re-runs the statement and skips the rows already returned
 * (`OFFSET`): a statement without a total `ORDER BY` may return rows in
 * another order each time, and rows written between calls shift the pages.
 *
 * @example A cursor opens only for the same caller, tool and arguments
 * ```ts
 * import { createCursorCodec } from "./result_cursor.ts";
 * import assert from "node:assert/strict";
 *
 * const codec = await createCursorCodec({ secret: "s".repeat(32), ttlSeconds: 60 });
 * const call = { principal: "primary", tool: "sql_query", args: { query: "SELECT 1" } };
 * const cursor = await codec.issue(call, 100);
 * assert.equal(await codec.open(cursor, call), 100);
 * await assert.rejects(codec.open(cursor, { ...call, principal: "secondary" }), /another API key/);
 * ```
 *
 * @module
 */
import { canonicalJson } from "../cache/response_cache.ts";
import { ToolError } from "./errors.ts";

/** What a cursor is bound to: who called which tool with which other arguments. */
export interface CursorCall {
  readonly principal: string;
  readonly tool: string;
  /** The call's arguments without `cursor` (compared by canonical JSON digest). */
  readonly args: unknown;
}

/** Issues and checks cursors. */
export interface CursorCodec {
  /** A cursor for the page of `call` that starts at row `offset` (0-based). */
  issue(call: CursorCall, offset: number): Promise<string>;
  /** The offset `cursor` continues at; a `ToolError` (400) when it may not be used for `call`. */
  open(cursor: string, call: CursorCall): Promise<number>;
}

/** Options of {@linkcode createCursorCodec}. */
export interface CursorCodecOptions {
  /** Key material (every replica the same); bytes are used as they are. */
  readonly secret: string | Uint8Array;
  readonly ttlSeconds: number;
  /** The clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

/** Longest cursor accepted (a payload is about 200 characters). */
export const MAX_CURSOR_LENGTH = 1024;

const encoder = new TextEncoder();
const PREFIX = "v1";

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    // Only the canonical spelling: unused low bits in the last character
    // would otherwise let several texts stand for one signed cursor.
    return base64url(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}

async function digest(value: unknown): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", encoder.encode(canonicalJson(value)));
  return base64url(new Uint8Array(hash)).slice(0, 22);
}

function refused(reason: string): ToolError {
  return new ToolError("invalid_input", `Invalid cursor: ${reason}`, {
    details: [{ field: "cursor", message: reason }],
  });
}

interface Payload {
  /** Principal id. */
  readonly p: string;
  /** Tool name. */
  readonly t: string;
  /** Digest of the other arguments. */
  readonly a: string;
  /** Offset of the next row. */
  readonly o: number;
  /** Expiry, Unix seconds. */
  readonly e: number;
}

/** Builds a codec around an HMAC-SHA256 key derived from `secret`. */
export async function createCursorCodec(options: CursorCodecOptions): Promise<CursorCodec> {
  const { ttlSeconds, now = Date.now } = options;
  const material = typeof options.secret === "string"
    ? encoder.encode(options.secret)
    : new Uint8Array(options.secret);
  // A key of its own, so the secret could serve other purposes too.
  const derived = await crypto.subtle.sign(
    "HMAC",
    await crypto.subtle.importKey("raw", material, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]),
    encoder.encode("mcp-tool-server result cursor v1"),
  );
  const key = await crypto.subtle.importKey(
    "raw",
    derived,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return {
    async issue(call, offset) {
      const payload: Payload = {
        p: call.principal,
        t: call.tool,
        a: await digest(call.args),
        o: offset,
        e: Math.floor(now() / 1000) + ttlSeconds,
      };
      const body = `${PREFIX}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
      const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
      return `${body}.${base64url(signature)}`;
    },
    async open(cursor, call) {
      const parts = cursor.length <= MAX_CURSOR_LENGTH ? cursor.split(".") : [];
      const signature = parts.length === 3 && parts[0] === PREFIX
        ? fromBase64url(parts[2])
        : undefined;
      const forged = "it was not issued by this server, or was changed";
      if (signature === undefined) throw refused(forged);
      const body = encoder.encode(`${parts[0]}.${parts[1]}`);
      if (!await crypto.subtle.verify("HMAC", key, signature, body)) throw refused(forged);
      let payload: Payload;
      try {
        payload = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
      } catch {
        throw refused(forged);
      }
      if (!(payload.e * 1000 > now())) {
        throw refused("it has expired; run the call again without cursor");
      }
      if (payload.p !== call.principal) throw refused("it was issued to another API key");
      if (payload.t !== call.tool || payload.a !== await digest(call.args)) {
        throw refused(
          "it continues another call; send the same arguments as the call that returned it",
        );
      }
      if (!Number.isSafeInteger(payload.o) || payload.o < 0) throw refused(forged);
      return payload.o;
    },
  };
}

/**
 * The key material for cursors: `CURSOR_SECRET`; else one derived from the
 * environment's API keys, the same on every replica given them; else random
 * (cursors then open only on the process that issued them).
 */
export function cursorSecret(config: {
  readonly cursors: { readonly secret: string | undefined };
  readonly apiKeys: readonly { readonly key: string }[];
}): { secret: string | Uint8Array; shared: boolean } {
  if (config.cursors.secret !== undefined) return { secret: config.cursors.secret, shared: true };
  if (config.apiKeys.length > 0) {
    return {
      secret: `api-keys\0${config.apiKeys.map((k) => k.key).join("\0")}`,
      shared: true,
    };
  }
  return { secret: crypto.getRandomValues(new Uint8Array(32)), shared: false };
}
