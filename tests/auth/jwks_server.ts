/**
 * A JWKS endpoint on loopback for token tests: keys generated with `jose`,
 * a fetch counter, and switches to make it slow, down or rotated.
 *
 * @module
 */
import * as jose from "jose";

/** A signing key and its public JWK. */
export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: jose.JWK;
}

/** Generates an RS256 (or `alg`) key pair with `kid`. */
export async function testKey(kid: string, alg = "RS256"): Promise<TestKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey: privateKey as CryptoKey, publicJwk };
}

/** A running JWKS server. */
export interface JwksServer {
  readonly url: string;
  /** Requests answered so far. */
  readonly fetches: number;
  /** The keys it publishes (replace to rotate). */
  keys: TestKey[];
  /** `up`, `down` (500), or `slow` (answers after `slowMs`). */
  mode: "up" | "down" | "slow";
  slowMs: number;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export function startJwksServer(keys: TestKey[]): JwksServer {
  let fetches = 0;
  const state = {
    keys,
    mode: "up" as JwksServer["mode"],
    slowMs: 2000,
  };
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen: () => {} },
    async () => {
      fetches++;
      if (state.mode === "down") return new Response("down", { status: 500 });
      if (state.mode === "slow") await new Promise((r) => setTimeout(r, state.slowMs));
      return Response.json({ keys: state.keys.map((k) => k.publicJwk) });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/jwks`,
    get fetches() {
      return fetches;
    },
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get mode() {
      return state.mode;
    },
    set mode(value) {
      state.mode = value;
    },
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(value) {
      state.slowMs = value;
    },
    async close() {
      abort.abort();
      await server.finished;
    },
  };
}

/** What a test token says; every field overridable. */
export interface TokenOptions {
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly sub?: string;
  readonly scope?: string;
  readonly expiresIn?: number;
  readonly notBefore?: number;
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
}

/** Signs a token with `key`. */
export function signToken(key: TestKey, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new jose.SignJWT({
    client_id: "backend",
    scope: options.scope ?? "tools:read",
    ...options.claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "at+jwt", ...options.header })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? RESOURCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.sub !== null) jwt.setSubject(options.sub ?? "user-1");
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(key.privateKey);
}

export const ISSUER = "http://127.0.0.1/issuer";
export const RESOURCE = "http://127.0.0.1:8000/mcp";
