/**
 * The development convenience: with no key configured in `development`, the
 * server makes a random one at start and prints it once.
 *
 * @module
 */
import type { Config } from "../config/env.ts";

/** A random key: 32 bytes, base64url (43 characters). */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** Returns `config` with a generated primary key when it has none (development only). */
export function withDevKey(config: Config): { config: Config; generated: string | undefined } {
  if (
    config.apiKeys.length > 0 || config.apiKeysFile !== undefined ||
    config.environment !== "development"
  ) {
    return { config, generated: undefined };
  }
  const key = generateApiKey();
  return {
    config: Object.freeze({
      ...config,
      apiKeys: Object.freeze([Object.freeze({ id: "primary" as const, key })]),
    }),
    generated: key,
  };
}

/**
 * The lines printed once for a generated key, with a ready-to-paste curl:
 * a call of the demo's `get_top_customers` when it is among `served`, else
 * the list of the tools really served (a tool of your own needs your input).
 */
export function devKeyBanner(
  key: string,
  baseUrl: string,
  served: readonly string[] = ["get_top_customers"],
): string {
  const example = served.includes("get_top_customers")
    ? `  curl -s -X POST ${baseUrl}/v1/mcp/get_top_customers -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '{"limit": 3}'`
    : `  curl -s ${baseUrl}/v1/mcp -H 'Authorization: Bearer ${key}'`;
  return [
    "",
    "No API key configured: generated a development key (valid until this process exits):",
    `  ${key}`,
    "Try it:",
    example,
    "Set API_KEY_PRIMARY to use your own key (required in staging and production).",
    "",
  ].join("\n");
}
