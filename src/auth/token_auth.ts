/**
 * Token authentication from configuration: the verifier over the issuer's
 * remote key set or a static JWKS file (read once at start), and the
 * metadata URL the challenges name. Keys-only deployments get nothing.
 *
 * @module
 */
import type { Config } from "../config/env.ts";
import type { JSONWebKeySet } from "jose";
import {
  createTokenVerifier,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./token_verifier.ts";
import { resourceMetadataUrl } from "./protected_resource.ts";

/** Bearer tokens beside (or instead of) keys, as the auth middleware takes them. */
export interface TokenAuth {
  readonly verifier: TokenVerifier;
  /** Whether API keys are still accepted (`AUTH_MODE=both`). */
  readonly keys: boolean;
  /** The RFC 9728 metadata URL 401s and 403s name. */
  readonly metadataUrl: string;
}

/** Builds token auth for `config`, or undefined with `AUTH_MODE=keys`; throws for a bad JWKS file. */
export async function openTokenAuth(
  config: Pick<Config, "authMode" | "oauth">,
  options: Pick<TokenVerifierOptions, "onFetch"> = {},
): Promise<TokenAuth | undefined> {
  const oauth = config.oauth;
  if (config.authMode === "keys" || oauth === undefined) return undefined;
  let jwks: JSONWebKeySet | undefined;
  if (oauth.jwksFile !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await Deno.readTextFile(oauth.jwksFile));
    } catch (error) {
      throw new Error(
        `Cannot start: OAUTH_JWKS_FILE "${oauth.jwksFile}" is not a readable JSON file: ${
          (error as Error).message
        }`,
      );
    }
    const keys = (parsed as { keys?: unknown })?.keys;
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new Error(`Cannot start: OAUTH_JWKS_FILE "${oauth.jwksFile}" holds no "keys"`);
    }
    if (keys.some((k) => k && typeof k === "object" && ("d" in k || "k" in k))) {
      // A private or symmetric key in a verification key set is a leak or an HS* door.
      throw new Error(
        `Cannot start: OAUTH_JWKS_FILE "${oauth.jwksFile}" holds a private or symmetric key; publish public keys only`,
      );
    }
    jwks = parsed as JSONWebKeySet;
  }
  return {
    verifier: createTokenVerifier(oauth, { ...options, jwks }),
    keys: config.authMode === "both",
    metadataUrl: resourceMetadataUrl(oauth.resource),
  };
}
