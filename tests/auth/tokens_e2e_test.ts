/**
 * Tokens through the whole app: the 401/403 challenges, the RFC 9728
 * metadata, keys beside tokens, the end user on the audit line, the
 * response cache and the per-user rate limit, and the JWKS outage.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "../../src/tools/define.ts";
import {
  createTestApp,
  errorOf,
  MCP_HEADERS,
  mcpToolCall,
  postJson,
  type TestApp,
} from "../harness.ts";
import {
  ISSUER,
  type JwksServer,
  RESOURCE,
  signToken,
  startJwksServer,
  testKey,
} from "./jwks_server.ts";

let runs = 0;
const whoami = defineTool({
  name: "whoami",
  description: "Says who called (cached for a minute).",
  input: z.strictObject({}),
  cacheTtlSeconds: 60,
  handler: (_input, ctx) => {
    runs++;
    return Promise.resolve({ principal: ctx.principal.id, user: ctx.principal.user ?? null });
  },
});
const report = defineTool({
  name: "secret_report",
  description: "Needs reports:read.",
  input: z.strictObject({}),
  scopes: ["reports:read"],
  handler: () => Promise.resolve({ total: 42 }),
});

const key = await testKey("k1");
const METADATA = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp";

async function withApp(
  env: Record<string, string>,
  fn: (app: TestApp, jwks: JwksServer) => Promise<void>,
): Promise<void> {
  const jwks = startJwksServer([key]);
  const app = await createTestApp({
    tools: [whoami, report],
    env: {
      AUTH_MODE: "both",
      OAUTH_ISSUER: ISSUER,
      OAUTH_RESOURCE: RESOURCE,
      OAUTH_JWKS_URL: jwks.url,
      ...env,
    },
  });
  try {
    await fn(app, jwks);
  } finally {
    await app.close();
    await jwks.close();
  }
}

Deno.test("a 401 names the resource metadata, and invalid_token when a token was refused", async () => {
  await withApp({}, async (app) => {
    const none = await app.request("/v1/mcp", { key: null });
    assert.equal(none.status, 401);
    assert.equal(
      none.headers.get("www-authenticate"),
      `Bearer realm="mcp-tool-server", resource_metadata="${METADATA}"`,
    );
    await none.body?.cancel();
    const bad = await app.request("/v1/mcp", {
      key: await signToken(key, { aud: "http://127.0.0.1:9999/mcp" }),
    });
    assert.equal(bad.status, 401);
    assert.match(
      bad.headers.get("www-authenticate")!,
      /resource_metadata="[^"]+", error="invalid_token"/,
    );
    await bad.body?.cancel();
  });
});

Deno.test("the RFC 9728 metadata is served without a key at both well-known paths", async () => {
  await withApp({}, async (app) => {
    for (
      const path of [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
      ]
    ) {
      const res = await app.request(path, { key: null });
      assert.equal(res.status, 200);
      const doc = await res.json();
      assert.equal(doc.resource, RESOURCE);
      assert.deepEqual(doc.authorization_servers, [ISSUER]);
      assert.deepEqual(doc.scopes_supported, ["reports:read", "tools:read"]);
      assert.deepEqual(doc.bearer_methods_supported, ["header"]);
    }
  });
});

Deno.test("with AUTH_MODE=keys there is no metadata and the 401 is as before", async () => {
  const app = await createTestApp({ tools: [whoami] });
  try {
    const res = await app.request("/.well-known/oauth-protected-resource", { key: null });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const none = await app.request("/v1/mcp", { key: null });
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="mcp-tool-server"');
    await none.body?.cancel();
    // A JWT is just a wrong key here.
    const jwt = await app.request("/v1/mcp", { key: await signToken(key) });
    assert.equal(jwt.status, 401);
    await jwt.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("a token calls tools on both doors, keys keep working, and the audit line names the user", async () => {
  await withApp({}, async (app) => {
    const token = await signToken(key, { sub: "alice" });
    const rest = await postJson(app, "/v1/mcp/whoami", {}, { key: token });
    assert.equal(rest.status, 200);
    assert.deepEqual(await rest.json(), { principal: "oauth:backend", user: "alice" });
    const res = await app.request("/mcp", {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(res.status, 200);
    const listed = (await res.json()).result.tools.map((t: { name: string }) => t.name);
    assert.deepEqual(listed, ["whoami"]);
    const byKey = await mcpToolCall(app, "whoami", {});
    assert.equal(byKey.status, 200);
    await byKey.body?.cancel();
    const audit = app.lines().filter((l) => l.message === "tool call");
    assert.equal(audit[0].user, "alice");
    assert.equal(audit[0].principal, "oauth:backend");
    assert.equal(audit[1].user, undefined);
    assert.equal(audit[1].principal, "primary");
  });
});

Deno.test("a token without the tool's scope gets 403 insufficient_scope naming the metadata", async () => {
  await withApp({}, async (app) => {
    const res = await postJson(app, "/v1/mcp/secret_report", {}, {
      key: await signToken(key, { scope: "tools:read" }),
    });
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get("www-authenticate"),
      `Bearer realm="mcp-tool-server", resource_metadata="${METADATA}", error="insufficient_scope", scope="reports:read"`,
    );
    assert.match((await errorOf(res)).error, /This token may not call secret_report/);
    // A token without any scope claim may call nothing (unlike a key without a scope list).
    const bare = await postJson(app, "/v1/mcp/whoami", {}, {
      key: await signToken(key, { scope: "" }),
    });
    assert.equal(bare.status, 403);
    await bare.body?.cancel();
  });
});

Deno.test("the response cache keys on the end user", async () => {
  await withApp({}, async (app) => {
    runs = 0;
    const call = async (sub: string) => {
      const res = await postJson(app, "/v1/mcp/whoami", {}, { key: await signToken(key, { sub }) });
      return (await res.json()).user;
    };
    assert.equal(await call("alice"), "alice");
    assert.equal(await call("bob"), "bob");
    assert.equal(await call("alice"), "alice");
    assert.equal(runs, 2);
  });
});

Deno.test("one end user spends only their share of the client's budget", async () => {
  await withApp({ RATE_LIMIT_RPM: "4", RATE_LIMIT_USER_RPM: "2" }, async (app) => {
    const alice = await signToken(key, { sub: "alice" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postJson(app, "/v1/mcp/secret_report", {}, { key: alice });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [403, 403, 429]);
    // Bob still has his share of the client's budget.
    const bob = await postJson(app, "/v1/mcp/whoami", {}, {
      key: await signToken(key, { sub: "bob" }),
    });
    assert.equal(bob.status, 200);
    await bob.body?.cancel();
  });
});

Deno.test("AUTH_MODE=tokens refuses API keys", async () => {
  await withApp(
    { AUTH_MODE: "tokens", API_KEY_PRIMARY: "", API_KEY_SECONDARY: "" },
    async (app) => {
      const res = await app.request("/v1/mcp", { key: "primary-test-key-0123456789" });
      assert.equal(res.status, 401);
      await res.body?.cancel();
      const ok = await app.request("/v1/mcp", { key: await signToken(key) });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    },
  );
});

Deno.test("with the JWKS down a token is a 503 with Retry-After, and keys still work", async () => {
  await withApp({}, async (app, jwks) => {
    jwks.mode = "down";
    const res = await app.request("/v1/mcp", { key: await signToken(key) });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "5");
    await res.body?.cancel();
    const byKey = await app.request("/v1/mcp");
    assert.equal(byKey.status, 200);
    await byKey.body?.cancel();
  });
});
