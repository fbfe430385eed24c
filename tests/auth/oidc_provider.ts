/**
 * A real OpenID Connect provider (`oidc-provider`) on loopback for tests:
 * one confidential client (`backend`) allowed the client-credentials grant,
 * resource indicators on (RFC 8707), and JWT access tokens for the resource
 * asked for, signed with a key generated here.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as jose from "jose";
import Provider from "oidc-provider";

/** A running provider. */
export interface TestProvider {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** A client-credentials access token for `resource` with `scope`. */
  token(resource: string, scope: string): Promise<string>;
  close(): Promise<void>;
}

export const CLIENT_ID = "backend";
const CLIENT_SECRET = "backend-secret-0123456789";

/** Starts the provider on a free loopback port; tokens are issued for any of `resources`. */
export async function startProvider(resources: readonly string[]): Promise<TestProvider> {
  const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  const signing = {
    ...(await jose.exportJWK(privateKey)),
    kid: "op-key-1",
    alg: "RS256",
    use: "sig",
  };
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      scope: "tools:read sql:query reports:read",
    }],
    jwks: { keys: [signing as never] },
    scopes: ["tools:read", "sql:query", "reports:read"],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resources[0],
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (!resources.includes(indicator)) throw new Error(`unknown resource ${indicator}`);
          return {
            scope: "tools:read sql:query reports:read",
            audience: indicator,
            accessTokenTTL: 300,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
  } as never);
  server.on("request", provider.callback());
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    async token(resource, scope) {
      const res = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", resource, scope }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(`token request failed: ${JSON.stringify(body)}`);
      return body.access_token as string;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
