/**
 * What every tool kind of a tools file shares: the fields each entry may
 * set whatever its kind (`description`, `parameters`, `timeout_seconds`, …),
 * and the part of its `defineTool` definition they give. A kind spreads
 * {@linkcode COMMON_FIELDS} into its schema and
 * {@linkcode commonDefinition} into its tool.
 *
 * @module
 */
import { z } from "zod";
import { SCOPE_PATTERN } from "../../../auth/scopes.ts";
import { parseStrictDate } from "../../../config/strict_date.ts";
import { identityBindings, inputSchema, ParameterSpec } from "../parameters.ts";

/** Names of sources, tools, toolsets and parameters. */
export const NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** What a file is told about a name that does not match {@linkcode NAME}. */
export const NAME_MESSAGE = "must match ^[a-z][a-z0-9_]{0,63}$";

/** Durations a file sets, in seconds. */
export const Seconds = z.number().positive().max(3600);

const Annotations = z.strictObject({
  title: z.string().max(200).optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

/** The fields of every tool entry, whatever its kind. */
export const COMMON_FIELDS = {
  description: z.string().trim().min(1).max(10_000),
  parameters: z.record(z.string().regex(NAME, NAME_MESSAGE), ParameterSpec).default({}),
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
    successor: z.string().regex(NAME, NAME_MESSAGE).optional(),
  }).optional(),
};

/** The common fields of an entry, as parsed. */
export type CommonSpec = z.output<z.ZodObject<typeof COMMON_FIELDS>>;

/** The part of a tool's definition its common fields give (`input` from its parameters). */
export function commonDefinition(name: string, spec: CommonSpec) {
  const identity = identityBindings(spec.parameters);
  return {
    name,
    description: spec.description,
    input: inputSchema(spec.parameters),
    timeoutSeconds: spec.timeout_seconds,
    rateLimitCost: spec.cost,
    deprecated: spec.deprecated,
    scopes: spec.scopes,
    ...(identity ? { identity } : {}),
  };
}
