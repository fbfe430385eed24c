/**
 * The parameters of a file-defined tool, whatever its kind: their spec in
 * the file, the checks zod's shape check cannot make, the zod schemas a
 * call's input is validated with, and the values a call binds (identity-bound
 * ones from the caller's verified claims).
 *
 * @module
 */
import { z } from "zod";
import { claimText } from "../../auth/principal.ts";
import type { ToolContext } from "../define.ts";
import { ToolError } from "../errors.ts";

/** Bounds a string parameter gets when the file sets none: inputs are always bounded. */
export const DEFAULT_MAX_LENGTH = 1000;
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

/**
 * The call's values: the validated arguments plus each identity-bound
 * parameter from the verified claims (checked against the parameter's own
 * bounds). Admission already refused a caller without the claims; this is
 * the same refusal, kept where the values are used.
 */
export function callValues(
  parameters: Readonly<Record<string, ParameterSpec>>,
  input: unknown,
  ctx: ToolContext,
): Record<string, unknown> {
  const values = { ...(input as Record<string, unknown>) };
  for (const [name, p] of Object.entries(parameters)) {
    if (p.from === undefined) continue;
    const claim = p.from.slice("claim ".length);
    const value = claimText(ctx.principal, claim);
    if (value === undefined || !parameterSchema(p).safeParse(value).success) {
      throw identityMissing(claim);
    }
    values[name] = value;
  }
  return values;
}

/** The refusal of a call whose caller's identity lacks a claim a bound parameter needs. */
function identityMissing(claim: string): ToolError {
  return new ToolError(
    "forbidden",
    `This tool acts for a signed-in user: the caller's token has no usable "${claim}" claim`,
  );
}
