/**
 * Every key the server accepts: the two environment keys (compared in
 * constant time, as before) and the keys file's (looked up by the SHA-256 of
 * what was presented). The file's keys can be replaced at once, on SIGHUP.
 *
 * Why a hash lookup is safe for the file's keys: the map is keyed by the
 * SHA-256 of the key, so any timing difference in the lookup tells a guesser
 * about hashes of their own guesses, not about a stored key.
 *
 * Principals are built once per key, not per request: their scope sets are
 * what the registry's filtered listings are cached by.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ApiKey } from "../config/env.ts";
import type { Principal } from "./principal.ts";
import type { FileKey } from "./keys_file.ts";

/** What a presented key turned out to be. */
export type Identified =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly expired?: string };

/** The keys the auth step checks. */
export interface KeyRing {
  identify(presented: string, nowMs: number): Identified;
  /** Serves `keys` as the file's keys from now on (a reload). */
  replaceFileKeys(keys: readonly FileKey[]): void;
  /** How many keys the file gave. */
  readonly fileKeyCount: number;
}

/** Constant time in `key.length`: no early exit on a mismatch or a length difference. */
export function sameKey(presented: string, key: string): boolean {
  const n = presented.length;
  let diff = n ^ key.length;
  for (let i = 0; i < key.length; i++) {
    diff |= key.charCodeAt(i) ^ (n === 0 ? 0 : presented.charCodeAt(i % n));
  }
  return diff === 0;
}

/** The lowercase hex SHA-256 a keys file holds for `key`. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

interface StoredFileKey {
  readonly principal: Principal;
  readonly expiresAt: number | undefined;
}

/** Builds the ring from the environment keys and the file's keys (if any). */
export function createKeyRing(
  envKeys: readonly ApiKey[],
  fileKeys: readonly FileKey[] = [],
): KeyRing {
  const env = envKeys.map((k) => ({
    key: k.key,
    principal: Object.freeze<Principal>({
      id: k.id,
      ...(k.scopes ? { scopes: new Set(k.scopes) } : {}),
    }),
  }));
  let byHash = index(fileKeys);
  return {
    identify(presented, nowMs) {
      let principal: Principal | undefined;
      for (const key of env) {
        // No early exit: every environment key is compared every time.
        if (sameKey(presented, key.key) && principal === undefined) principal = key.principal;
      }
      if (principal !== undefined) return { ok: true, principal };
      if (byHash.size === 0) return { ok: false };
      const stored = byHash.get(hashKey(presented));
      if (stored === undefined) return { ok: false };
      if (stored.expiresAt !== undefined && nowMs >= stored.expiresAt) {
        return { ok: false, expired: stored.principal.id };
      }
      return { ok: true, principal: stored.principal };
    },
    replaceFileKeys(keys) {
      byHash = index(keys);
    },
    get fileKeyCount() {
      return byHash.size;
    },
  };
}

function index(keys: readonly FileKey[]): Map<string, StoredFileKey> {
  return new Map(keys.map((k) => [k.sha256, {
    principal: Object.freeze<Principal>({
      id: k.id,
      ...(k.scopes ? { scopes: k.scopes } : {}),
      ...(k.rateLimitRpm ? { rateLimitRpm: k.rateLimitRpm } : {}),
    }),
    expiresAt: k.expiresAt,
  }]));
}
