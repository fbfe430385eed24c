/**
 * The OpenAPI 3.1 document of the REST door, generated once at start from
 * the tool registry: one operation per tool under `/v1/mcp/{tool}`, with the
 * tool's own JSON Schemas (zod's `toJSONSchema` emits JSON Schema 2020-12,
 * which OpenAPI 3.1 uses as is), the bearer scheme and the error body.
 *
 * @module
 */
import type { Registry } from "../tools/registry.ts";

const ERROR_STATUSES = [
  "not_found",
  "invalid_input",
  "unauthorized",
  "forbidden",
  "rate_limited",
  "retry",
  "error",
];

const ERROR_RESPONSES: Record<string, string> = {
  "400": "Invalid input: malformed JSON, a value out of bounds, or an unknown field",
  "401": "Missing, malformed or wrong API key",
  "403": "Host or Origin not allowed, or a write refused",
  "404": "Unknown tool, or the tool found nothing",
  "413": "Body larger than MAX_BODY_BYTES",
  "415": "A body that is not application/json",
  "429": "Rate limit exceeded (see Retry-After)",
  "500": "Internal error (details only in the server log)",
  "503": "A dependency is unavailable; retry",
  "504": "The tool passed its deadline; retry",
};

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
    const responses: Record<string, unknown> = {
      "200": {
        description: "The tool's result",
        content: { "application/json": { schema: tool.outputSchema ?? { type: "object" } } },
      },
    };
    for (const code of Object.keys(ERROR_RESPONSES)) responses[code] = errorRef;
    paths[`/v1/mcp/${tool.name}`] = {
      post: {
        operationId: tool.name,
        summary: tool.annotations?.title ?? tool.name,
        description: tool.description,
        requestBody: {
          required: false,
          content: { "application/json": { schema: tool.inputSchema } },
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
          description: "API_KEY_PRIMARY or API_KEY_SECONDARY",
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
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}
