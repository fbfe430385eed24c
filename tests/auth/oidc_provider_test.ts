/**
 * A real OpenID provider (`oidc-provider`) on loopback issuing JWT access
 * tokens with resource indicators (RFC 8707), and the MCP SDK's own client
 * calling through HTTP with them: the happy path, a token for another
 * resource, a token without a tool's scope.
 *
 * @module
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";
import { defineTool } from "../../src/tools/define.ts";
import { createTestApp, postJson, serveOnLoopback } from "../harness.ts";
import { CLIENT_ID, startProvider } from "./oidc_provider.ts";

const RESOURCE = "http://127.0.0.1:8000/mcp";
const OTHER = "http://127.0.0.1:8000/other";

const whoami = defineTool({
  name: "whoami",
  description: "Says who called.",
  input: z.strictObject({}),
  handler: (_input, ctx) =>
    Promise.resolve({ principal: ctx.principal.id, user: ctx.principal.user }),
});
const report = defineTool({
  name: "secret_report",
  description: "Needs reports:read.",
  input: z.strictObject({}),
  scopes: ["reports:read"],
  handler: () => Promise.resolve({ total: 42 }),
});

Deno.test("tokens from a real OpenID provider work with the MCP SDK client; wrong resource or scope do not", async () => {
  const op = await startProvider([RESOURCE, OTHER]);
  const app = await createTestApp({
    tools: [whoami, report],
    env: {
      AUTH_MODE: "tokens",
      API_KEY_PRIMARY: "",
      API_KEY_SECONDARY: "",
      OAUTH_ISSUER: op.issuer,
      OAUTH_RESOURCE: RESOURCE,
      OAUTH_JWKS_URL: op.jwksUrl,
    },
  });
  const server = serveOnLoopback(app);
  const client = new Client({ name: "oidc-test", version: "1.0.0" });
  try {
    const token = await op.token(RESOURCE, "tools:read");
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ["whoami"]);
    const result = await client.callTool({ name: "whoami", arguments: {} });
    assert.deepEqual(result.structuredContent, {
      principal: `oauth:${CLIENT_ID}`,
      // A client-credentials token's subject is the client (RFC 9068 §2.2).
      user: CLIENT_ID,
    });

    // A token the provider issued for another resource: 401, naming the metadata.
    const other = await postJson(app, "/v1/mcp/whoami", {}, {
      key: await op.token(OTHER, "tools:read"),
    });
    assert.equal(other.status, 401);
    assert.match(other.headers.get("www-authenticate")!, /resource_metadata=.*invalid_token/);
    await other.body?.cancel();

    // The right resource without reports:read: 403 insufficient_scope.
    const forbidden = await postJson(app, "/v1/mcp/secret_report", {}, { key: token });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.headers.get("www-authenticate")!, /insufficient_scope/);
    await forbidden.body?.cancel();
    const allowed = await postJson(app, "/v1/mcp/secret_report", {}, {
      key: await op.token(RESOURCE, "reports:read"),
    });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();

    // The metadata names the provider as the authorization server.
    const meta = await (await fetch(`${server.url}/.well-known/oauth-protected-resource/mcp`))
      .json();
    assert.deepEqual(meta.authorization_servers, [op.issuer]);
  } finally {
    await client.close();
    await server.stop();
    await app.close();
    await op.close();
  }
});
