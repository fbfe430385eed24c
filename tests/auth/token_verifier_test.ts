import assert from "node:assert/strict";
import * as jose from "jose";
import { parseConfig } from "../../src/config/env.ts";
import { createTokenVerifier, type TokenCheck } from "../../src/auth/token_verifier.ts";
import { ISSUER, RESOURCE, signToken, startJwksServer, testKey } from "./jwks_server.ts";

function oauthConfig(jwksUrl: string, extra: Record<string, string> = {}) {
  return parseConfig({
    AUTH_MODE: "tokens",
    OAUTH_ISSUER: ISSUER,
    OAUTH_RESOURCE: RESOURCE,
    OAUTH_JWKS_URL: jwksUrl,
    ...extra,
  }).oauth!;
}

function refused(check: TokenCheck): string {
  assert.equal(check.ok, false, "the token was accepted");
  return (check as { reason: string }).reason;
}

const key = await testKey("k1");
const other = await testKey("k-unpublished");

Deno.test("createTokenVerifier() accepts a good token and names client, user and scopes", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    const check = await verifier.verify(
      await signToken(key, { sub: "alice", scope: "tools:read sql:query" }),
    );
    assert.ok(check.ok);
    assert.equal(check.principal.id, "oauth:backend");
    assert.equal(check.principal.user, "alice");
    assert.equal(check.principal.via, "token");
    assert.deepEqual([...check.principal.scopes!], ["tools:read", "sql:query"]);
    assert.equal(check.principal.claims?.sub, "alice");
    // Cached: a second token is verified without a second fetch.
    assert.ok((await verifier.verify(await signToken(key, { sub: "bob" }))).ok);
    assert.equal(server.fetches, 1);
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() refuses an expired token, but allows the clock skew", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(
      oauthConfig(server.url, { OAUTH_CLOCK_SKEW_SECONDS: "30" }),
    );
    assert.equal(
      refused(await verifier.verify(await signToken(key, { expiresIn: -120 }))),
      "ERR_JWT_EXPIRED",
    );
    assert.ok((await verifier.verify(await signToken(key, { expiresIn: -10 }))).ok);
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() refuses a token that is not valid yet (nbf)", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    assert.equal(
      refused(await verifier.verify(await signToken(key, { notBefore: 600 }))),
      "ERR_JWT_CLAIM_VALIDATION_FAILED",
    );
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() refuses a token from another issuer", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    refused(await verifier.verify(await signToken(key, { iss: "http://127.0.0.1/evil" })));
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() refuses a token for another resource (audience)", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    refused(await verifier.verify(await signToken(key, { aud: "http://127.0.0.1:9999/mcp" })));
    // An ID token's audience is the client, not this resource.
    refused(await verifier.verify(await signToken(key, { aud: "backend" })));
    // A token for several resources, this one among them, is RFC 7519-valid.
    assert.ok(
      (await verifier.verify(await signToken(key, { aud: ["http://other/", RESOURCE] }))).ok,
    );
  } finally {
    await server.close();
  }
});

Deno.test('createTokenVerifier() refuses alg "none"', async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    const now = Math.floor(Date.now() / 1000);
    const unsecured = new jose.UnsecuredJWT({ client_id: "backend", scope: "tools:read" })
      .setIssuer(ISSUER).setAudience(RESOURCE).setSubject("mallory").setExpirationTime(now + 300)
      .encode();
    assert.ok(unsecured.endsWith("."));
    refused(await verifier.verify(unsecured));
    // With a kid that exists, too.
    const [, payload] = unsecured.split(".");
    const header = jose.base64url.encode(JSON.stringify({ alg: "none", kid: "k1" }));
    refused(await verifier.verify(`${header}.${payload}.`));
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() refuses HS256 signed with the published public key", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    const publicKey = await jose.importJWK(key.publicJwk, "RS256") as CryptoKey;
    const spki = await jose.exportSPKI(publicKey);
    for (const secret of [spki, JSON.stringify(key.publicJwk), key.publicJwk.n!]) {
      const forged = await new jose.SignJWT({ client_id: "backend", scope: "tools:read" })
        .setProtectedHeader({ alg: "HS256", kid: "k1" })
        .setIssuer(ISSUER).setAudience(RESOURCE).setSubject("mallory").setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret));
      assert.equal(refused(await verifier.verify(forged)), "ERR_JOSE_ALG_NOT_ALLOWED");
    }
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() refuses a token without exp, and a non-string user", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    const noExp = await new jose.SignJWT({ client_id: "backend" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER).setAudience(RESOURCE).setSubject("alice").sign(key.privateKey);
    refused(await verifier.verify(noExp));
    const email = createTokenVerifier(oauthConfig(server.url, { OAUTH_USER_CLAIM: "email" }));
    refused(
      await email.verify(await signToken(key, { claims: { email: { spoof: "a@example.com" } } })),
    );
    const ok = await email.verify(await signToken(key, { claims: { email: "a@example.com" } }));
    assert.ok(ok.ok);
    assert.equal(ok.principal.user, "a@example.com");
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() maps token scopes through OAUTH_SCOPE_MAP, dropping the rest", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(
      oauthConfig(server.url, {
        OAUTH_SCOPE_MAP: "mcp.read=tools:read,mcp.sql=sql:query tools:read",
      }),
    );
    const check = await verifier.verify(await signToken(key, { scope: "openid mcp.sql admin" }));
    assert.ok(check.ok);
    assert.deepEqual([...check.principal.scopes!].sort(), ["sql:query", "tools:read"]);
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() turns a flood of unknown kids into at most one refetch", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    assert.ok((await verifier.verify(await signToken(key))).ok);
    assert.equal(server.fetches, 1);
    const forged = await Promise.all(
      Array.from({ length: 200 }, (_, i) => signToken({ ...other, kid: `unknown-${i}` })),
    );
    const checks = await Promise.all(forged.map((t) => verifier.verify(t)));
    assert.ok(checks.every((c) => !c.ok && !(c as { unavailable?: boolean }).unavailable));
    for (const t of forged.slice(0, 50)) refused(await verifier.verify(t));
    // The first unknown kid after the initial fetch is inside the cooldown: no fetch at all.
    assert.ok(server.fetches <= 2, `${server.fetches} JWKS fetches`);
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() picks up a rotated key once the cooldown has passed", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(
      oauthConfig(server.url, { OAUTH_JWKS_COOLDOWN_SECONDS: "1" }),
    );
    assert.ok((await verifier.verify(await signToken(key))).ok);
    const next = await testKey("k2");
    server.keys = [key, next];
    await new Promise((r) => setTimeout(r, 1100));
    assert.ok((await verifier.verify(await signToken(next))).ok);
    assert.equal(server.fetches, 2);
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() with the JWKS down: 'unavailable', and no fetch storm", async () => {
  const server = startJwksServer([key]);
  server.mode = "down";
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    const check = await verifier.verify(await signToken(key));
    assert.equal(check.ok, false);
    assert.equal((check as { unavailable?: boolean }).unavailable, true);
    const tokens = await Promise.all(Array.from({ length: 50 }, () => signToken(key)));
    for (const c of await Promise.all(tokens.map((t) => verifier.verify(t)))) {
      assert.equal((c as { unavailable?: boolean }).unavailable, true);
    }
    assert.equal(server.fetches, 1);
  } finally {
    await server.close();
  }
});

Deno.test("createTokenVerifier() with a slow JWKS gives up at OAUTH_JWKS_TIMEOUT_SECONDS", async () => {
  const server = startJwksServer([key]);
  server.mode = "slow";
  server.slowMs = 3000;
  try {
    const verifier = createTokenVerifier(
      oauthConfig(server.url, { OAUTH_JWKS_TIMEOUT_SECONDS: "0.2" }),
    );
    const started = performance.now();
    const check = await verifier.verify(await signToken(key));
    assert.ok(performance.now() - started < 2000);
    assert.equal((check as { unavailable?: boolean }).unavailable, true);
  } finally {
    await new Promise((r) => setTimeout(r, 3100));
    await server.close();
  }
});

Deno.test("createTokenVerifier() keeps verifying cached keys while the JWKS is down", async () => {
  const server = startJwksServer([key]);
  try {
    const verifier = createTokenVerifier(oauthConfig(server.url));
    assert.ok((await verifier.verify(await signToken(key))).ok);
    server.mode = "down";
    assert.ok((await verifier.verify(await signToken(key, { sub: "later" }))).ok);
  } finally {
    await server.close();
  }
});
