/**
 * The OpenAPI 3.1 document of the REST door, generated from
 * the tool registry: one operation per tool under `/v1/mcp/{tool}`, with the
 * tool's own JSON Schemas (zod's `toJSONSchema` emits JSON Schema 2020-12,
 * which OpenAPI 3.1 uses as is), the bearer scheme and the error body.
 *
 * @module
 */
import type { Registry } from "../tools/registry.ts";
import { requiredScopes } from "../auth/scopes.ts";

const ERROR_STATUSES = [
  "not_found",
  "invalid_input",
  "unauthorized",
  "forbidden",
  "rate_limited",
  "concurrency_limited",
  "auth_locked",
  "retry",
  "error",
];

const ERROR_RESPONSES: Record<string, string> = {
  "400": "Invalid input: malformed JSON, a value out of bounds, or an unknown field",
  "401": "Missing, malformed or wrong API key",
  "403": "Host or Origin not allowed, a write refused, or an API key without the tool's scopes",
  "404": "Unknown tool, or the tool found nothing",
  "413": "Body larger than MAX_BODY_BYTES",
  "415": "A body that is not application/json",
  "429":
    "Rate limit exceeded (`rate_limited`), or too many calls of this key running at once (`concurrency_limited`), or this address failed authentication too often (`auth_locked`); see Retry-After",
  "500": "Internal error (details only in the server log)",
  "503": "A dependency is unavailable; retry",
  "504": "The tool passed its deadline; retry",
};

/** The `X-Cache` header of a cacheable tool's answer. */
function cacheHeader(ttlSeconds: number): unknown {
  return {
    description:
      `hit: from the response cache (results are kept ${ttlSeconds} s per API key and input); miss: computed for this call`,
    schema: { type: "string", enum: ["hit", "miss"] },
  };
}

/** Builds the document. */
export function openApiDocument(
  registry: Registry,
  info: { title: string; version: string },
): unknown {
  const errorRef = { $ref: "#/components/responses/Error" };
  const paths: Record<string, unknown> = {
    "/v1/mcp": {
      get: {
        operationId: "list_tools",
        summary: "List the tools with their input schemas",
        responses: { "200": { description: "The tools" }, "401": errorRef, "429": errorRef },
      },
    },
    "/health": {
      get: {
        operationId: "health",
        summary: "Dependencies' health",
        security: [],
        responses: { "200": { description: "Healthy" }, "503": { description: "Unhealthy" } },
      },
    },
  };
  for (const tool of registry.descriptors) {
    const registered = registry.get(tool.name);
    const ttl = registered?.cacheTtlSeconds;
    const responses: Record<string, unknown> = {
      "200": {
        description: "The tool's result",
        ...(ttl !== undefined && { headers: { "X-Cache": cacheHeader(ttl) } }),
        content: { "application/json": { schema: tool.outputSchema ?? { type: "object" } } },
      },
    };
    for (const code of Object.keys(ERROR_RESPONSES)) responses[code] = errorRef;
    paths[`/v1/mcp/${tool.name}`] = {
      post: {
        operationId: tool.name,
        summary: tool.annotations?.title ?? tool.name,
        description: tool.description,
        // OpenAPI 3.1 lets a bearer scheme list the roles an operation needs: the tool's scopes.
        security: [{ bearer: [...requiredScopes(registered ?? {})] }],
        requestBody: {
          required: false,
          content: { "application/json": requestContent(registry, tool.name, tool.inputSchema) },
        },
        responses,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title,
      version: info.version,
      description:
        "The REST door of the MCP tool server. The same tools are served to MCP clients at /mcp (Streamable HTTP).",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "API_KEY_PRIMARY, API_KEY_SECONDARY or a key from API_KEYS_FILE; an operation's security lists the scopes a key needs (a key without a scope list has them all)",
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error", "status", "request_id"],
          properties: {
            error: { type: "string" },
            status: { type: "string", enum: ERROR_STATUSES },
            request_id: { type: "string" },
            details: {
              type: "array",
              items: {
                type: "object",
                required: ["field", "message"],
                properties: { field: { type: "string" }, message: { type: "string" } },
              },
            },
            retry_after_seconds: { type: "integer" },
          },
        },
      },
      responses: {
        Error: {
          description: Object.entries(ERROR_RESPONSES).map(([code, text]) => `${code}: ${text}`)
            .join("; "),
          content: {
            "application/json": {
              schema: { $ref: "#/components/schemas/Error" },
              examples: {
                not_found: {
                  value: {
                    error: "Customer not found",
                    status: "not_found",
                    request_id: "3f2b8c1e-8d4a-4c1e-9a57-0c4d3e2f1a0b",
                  },
                },
                invalid_input: {
                  value: {
                    error: "Invalid input",
                    status: "invalid_input",
                    request_id: "3f2b8c1e-8d4a-4c1e-9a57-0c4d3e2f1a0b",
                    details: [{ field: "limit", message: "Too big: expected number to be <=1000" }],
                  },
                },
                rate_limited: {
                  value: {
                    error: "Rate limit exceeded",
                    status: "rate_limited",
                    retry_after_seconds: 42,
                    request_id: "3f2b8c1e-8d4a-4c1e-9a57-0c4d3e2f1a0b",
                  },
                },
                concurrency_limited: {
                  value: {
                    error:
                      "Concurrency limit exceeded: this API key may run at most 5 tool calls at once",
                    status: "concurrency_limited",
                    retry_after_seconds: 1,
                    max_concurrent_calls: 5,
                    request_id: "3f2b8c1e-8d4a-4c1e-9a57-0c4d3e2f1a0b",
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
};

/**
 * The request schema, with an example built from it (defaults, first enum
 * values, lower bounds). The example is kept only when the tool's own input
 * schema accepts it, so "try it" never starts from a request the server refuses.
 */
function requestContent(
  registry: Registry,
  name: string,
  schema: unknown,
): Record<string, unknown> {
  const example = exampleOf(schema as JsonSchema);
  const accepted = example !== undefined && registry.get(name)?.input.safeParse(example).success;
  return accepted ? { schema, example } : { schema };
}

function exampleOf(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(schema.properties ?? {})) {
        // Required fields, and those with defaults (so the example shows them).
        if (!schema.required?.includes(key) && prop.default === undefined) continue;
        const value = exampleOf(prop);
        if (value === undefined) return undefined;
        out[key] = value;
      }
      return out;
    }
    case "integer":
    case "number": {
      const low = schema.minimum ?? (schema.exclusiveMinimum ?? 0) + 1;
      return Math.min(Math.max(low, 1), schema.maximum ?? Number.MAX_SAFE_INTEGER);
    }
    case "string":
      // A pattern cannot be satisfied in general: no example then.
      return schema.pattern ? undefined : "x".repeat(Math.max(1, schema.minLength ?? 1));
    case "boolean":
      return true;
    default:
      return undefined;
  }
}
