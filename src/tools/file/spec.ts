/**
 * The shape of a tools file (`TOOLS_FILE`), as a zod schema, and the
 * translation of its parameter specs into the zod input schemas tools use.
 *
 * @module
 */
import { z } from "zod";
import { SCOPE_PATTERN } from "../../auth/scopes.ts";
import { parseStrictDate } from "../../config/strict_date.ts";
import { CLAIM_NAME, SETTING_NAME } from "../../config/env.ts";
import { TOOL_NAME_PATTERN } from "../registry.ts";

/** Bounds a string parameter gets when the file sets none: inputs are always bounded. */
export const DEFAULT_MAX_LENGTH = 1000;
const NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** What a caller is told about a string with a lone surrogate. */
export const WELL_FORMED =
  "Not well-formed Unicode: a lone surrogate (U+D800 to U+DFFF) cannot be sent";

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One parameter of a file-defined tool. */
export const ParameterSpec = z.strictObject({
  type: z.enum(["string", "integer", "number", "boolean"]),
  description: z.string().trim().min(1).max(1000),
  /** Default: true unless a `default` is given. */
  required: z.boolean().optional(),
  default: Scalar.optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  min_length: z.int().min(0).max(1_000_000).optional(),
  max_length: z.int().min(1).max(1_000_000).optional(),
  pattern: z.string().min(1).max(1000).optional(),
  enum: z.array(Scalar).min(1).max(1000).optional(),
  /**
   * `claim <name>`: the value comes from the caller's verified identity (a
   * token claim such as `sub`), never from the model: hidden from listings
   * and OpenAPI, refused as an argument, required of the caller.
   */
  from: z.string().regex(
    /^claim [A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/,
    "must be `claim <name>`, like `claim sub`",
  ).optional(),
});
export type ParameterSpec = z.infer<typeof ParameterSpec>;

const Seconds = z.number().positive().max(3600);

const Annotations = z.strictObject({
  title: z.string().max(200).optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

const Common = {
  description: z.string().trim().min(1).max(10_000),
  parameters: z.record(z.string().regex(NAME, "must match ^[a-z][a-z0-9_]{0,63}$"), ParameterSpec)
    .default({}),
  timeout_seconds: Seconds.optional(),
  cost: z.int().min(1).max(1_000_000).optional(),
  /** Cache successful results this many seconds, per key and input (off when absent). */
  cache_ttl_seconds: z.int().min(1).max(86_400).optional(),
  /** Scopes a key needs to call the tool; default `tools:read`. */
  scopes: z.array(z.string().regex(SCOPE_PATTERN, `must match ${SCOPE_PATTERN.source}`)).min(1)
    .max(20).optional(),
  annotations: Annotations.optional(),
  /** Still served, but announced as going away (listings, headers, logs, a metric). */
  deprecated: z.strictObject({
    sunset: z.string().refine(
      (s) => parseStrictDate(s) !== undefined,
      "expected a real YYYY-MM-DD date",
    ),
    successor: z.string().regex(NAME, "must match ^[a-z][a-z0-9_]{0,63}$").optional(),
  }).optional(),
};

export const SqlToolSpec = z.strictObject({
  kind: z.literal("sql"),
  /** A source of kind postgres or embedded; default: the server's own database. */
  source: z.string().optional(),
  statement: z.string().trim().min(1).max(100_000),
  max_rows: z.int().min(1).max(1_000_000).optional(),
  ...Common,
});

const JsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ])
);

export const HttpToolSpec = z.strictObject({
  kind: z.literal("http"),
  /** A source of kind http; default: the server's API_BASE_URL upstream. */
  source: z.string().optional(),
  method: z.enum(["GET", "POST"]).default("GET"),
  /** `/customers/{customer_id}/orders`: each `{name}` is a parameter, encoded as one segment. */
  path: z.string().startsWith("/").max(2000),
  /** Query parameters: literal strings, or `"{name}"` for a parameter's value. */
  query: z.record(z.string().min(1).max(200), z.string().max(2000)).default({}),
  /** JSON body (POST): any string that is exactly `"{name}"` becomes the parameter's value. */
  body: JsonValue.optional(),
  /** What a 404 tells the caller. */
  not_found: z.string().max(200).optional(),
  ...Common,
});

/** Semantic search over the RAG store (`ENABLE_RAG`); its input is fixed: `{query, top_k}`. */
export const VectorSearchToolSpec = z.strictObject({
  kind: z.literal("vector_search"),
  /** Only chunks of this ingested source (a file as ingested, or a folder's name). */
  documents: z.string().min(1).max(1000).optional(),
  /** Default and largest `top_k` a caller may ask for. */
  top_k: z.int().min(1).max(50).default(5),
  max_top_k: z.int().min(1).max(50).default(20),
  ...Common,
});

export const ToolSpec = z.discriminatedUnion("kind", [
  SqlToolSpec,
  HttpToolSpec,
  VectorSearchToolSpec,
]);
export type ToolSpec = z.infer<typeof ToolSpec>;

/**
 * `optional: true`: `/health` reports the source but readiness never fails
 * because of it (its tools answer 503/502 while it is down).
 */
const Optional = z.boolean().optional();

export const SourceSpec = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("postgres"),
    url: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
    pool_size: z.int().min(1).max(1000).optional(),
    query_timeout_seconds: Seconds.optional(),
    /**
     * Row-level security: `setting: claim` pairs (`app.user_id: sub`) set
     * transaction-locally, values bound, before every statement on this source.
     */
    identity_settings: z.record(
      z.string().regex(SETTING_NAME, "must be a custom setting like app.user_id"),
      z.string().regex(CLAIM_NAME, "must be a claim name like sub"),
    ).optional(),
    optional: Optional,
  }),
  z.strictObject({ kind: z.literal("embedded"), optional: Optional }),
  z.strictObject({
    kind: z.literal("http"),
    base_url: z.string().regex(/^https?:\/\//, "must be an http:// or https:// URL"),
    headers: z.record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, "must be an HTTP header name"),
      z.string().max(8192).regex(/^[\x20-\x7e]*$/, "must be printable ASCII"),
    ).default({}),
    timeout_seconds: Seconds.optional(),
    max_retries: z.int().min(0).max(10).optional(),
    max_connections: z.int().min(1).max(10_000).optional(),
    optional: Optional,
  }),
]);
export type SourceSpec = z.infer<typeof SourceSpec>;

export const ToolsFileSpec = z.strictObject({
  sources: z.record(z.string().regex(NAME, "must match ^[a-z][a-z0-9_]{0,63}$"), SourceSpec)
    .default({}),
  tools: z.record(
    z.string().regex(TOOL_NAME_PATTERN, "must match ^[a-z][a-z0-9_]{0,63}$"),
    ToolSpec,
  )
    .default({}),
  toolsets: z.record(
    z.string().regex(NAME, "must match ^[a-z][a-z0-9_]{0,63}$"),
    z.array(z.string()),
  )
    .default({}),
});
export type ToolsFileSpec = z.infer<typeof ToolsFileSpec>;

/** Problems with one parameter spec that zod's shape check cannot see. */
export function parameterProblems(spec: ParameterSpec): string[] {
  const problems: string[] = [];
  const numeric = spec.type === "integer" || spec.type === "number";
  if (!numeric && (spec.min !== undefined || spec.max !== undefined)) {
    problems.push(`min/max apply to integer and number parameters, not ${spec.type}`);
  }
  if (
    spec.type !== "string" &&
    (spec.min_length !== undefined || spec.max_length !== undefined || spec.pattern !== undefined)
  ) {
    problems.push(`min_length/max_length/pattern apply to string parameters, not ${spec.type}`);
  }
  if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
    problems.push("min is greater than max");
  }
  if (
    spec.min_length !== undefined && spec.max_length !== undefined &&
    spec.min_length > spec.max_length
  ) {
    problems.push("min_length is greater than max_length");
  }
  if (spec.pattern !== undefined) {
    // The `u` flag, as JSON Schema validators (Ajv, the SDKs') compile the
    // `pattern` we publish: a `[A-Z0-9-]` they accept is accepted here too.
    try {
      new RegExp(spec.pattern, "u");
    } catch (error) {
      problems.push(`pattern is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  if (spec.from !== undefined) {
    if (spec.type !== "string") problems.push("a parameter set `from: claim` must be a string");
    if (spec.default !== undefined || spec.required === false) {
      problems.push("a parameter set `from: claim` is always required and has no default");
    }
  }
  if (spec.required === true && spec.default !== undefined) {
    problems.push("a parameter with a default cannot be required");
  }
  for (
    const value of [...(spec.enum ?? []), ...(spec.default === undefined ? [] : [spec.default])]
  ) {
    const schema = parameterSchema(spec, { ignoreDefault: true });
    if (!schema.safeParse(value).success) {
      problems.push(`${JSON.stringify(value)} is not a valid ${spec.type} for this parameter`);
    }
  }
  return problems;
}

/** The zod schema of one parameter (call `parameterProblems` first). */
export function parameterSchema(
  spec: ParameterSpec,
  options: { ignoreDefault?: boolean } = {},
): z.ZodType {
  let schema: z.ZodType;
  switch (spec.type) {
    case "string": {
      let s = z.string().max(spec.max_length ?? DEFAULT_MAX_LENGTH);
      if (spec.min_length !== undefined) s = s.min(spec.min_length);
      if (spec.pattern !== undefined) s = s.regex(new RegExp(spec.pattern, "u"));
      // JSON can carry a lone surrogate ("\ud800"); no UTF-8 encoder can. A
      // path segment would throw (a 500), and a query or SQL value would be
      // silently sent as U+FFFD, a value the caller never sent.
      schema = s.refine((value) => value.isWellFormed(), WELL_FORMED);
      break;
    }
    case "integer": {
      // Bounded by default to what a PostgreSQL bigint and a JSON number both hold exactly.
      schema = z.int().min(spec.min ?? Number.MIN_SAFE_INTEGER).max(
        spec.max ?? Number.MAX_SAFE_INTEGER,
      );
      break;
    }
    case "number": {
      let n = z.number();
      if (spec.min !== undefined) n = n.min(spec.min);
      if (spec.max !== undefined) n = n.max(spec.max);
      schema = n;
      break;
    }
    case "boolean":
      schema = z.boolean();
      break;
  }
  // An enum replaces the type's own checks (each value was checked against them at load).
  if (spec.enum !== undefined && !options.ignoreDefault) schema = z.literal(spec.enum);
  schema = schema.describe(spec.description);
  if (options.ignoreDefault) return schema;
  if (spec.default !== undefined) return schema.default(spec.default as never);
  return spec.required === false ? schema.optional() : schema;
}

/**
 * The zod input schema of a file-defined tool: strict, so unknown fields are
 * refused, and without the identity-bound parameters (an argument of that
 * name is an unknown field).
 */
export function inputSchema(parameters: Readonly<Record<string, ParameterSpec>>): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(parameters)) {
    if (spec.from === undefined) shape[name] = parameterSchema(spec);
  }
  return z.strictObject(shape);
}

/** The identity-bound parameters of a tool: parameter name → claim. */
export function identityBindings(
  parameters: Readonly<Record<string, ParameterSpec>>,
): Readonly<Record<string, string>> | undefined {
  const bound = Object.entries(parameters).filter(([, spec]) => spec.from !== undefined);
  if (bound.length === 0) return undefined;
  return Object.freeze(
    Object.fromEntries(bound.map(([name, spec]) => [name, spec.from!.slice("claim ".length)])),
  );
}
