/**
 * The shape of a tools file (`TOOLS_FILE`), as a zod schema: its sources,
 * its tools (each kind's schema lives in `kinds/`, their union in
 * `kinds/mod.ts`) and its toolsets.
 *
 * @module
 */
import { z } from "zod";
import { SCOPE_PATTERN } from "../../auth/scopes.ts";
import { parseColumnPolicies } from "../../config/column_policies.ts";
import { CLAIM_NAME, SETTING_NAME } from "../../config/env.ts";
import { TOOL_NAME_PATTERN } from "../registry.ts";
import { NAME, NAME_MESSAGE, Seconds } from "./kinds/common.ts";
import { ToolSpec } from "./kinds/mod.ts";

export { ToolSpec };

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
    /**
     * What callers see of sensitive columns of this database, as
     * `SQL_COLUMN_POLICIES` has it: `customers.email=mask, customers.ssn=deny`.
     */
    column_policies: z.string().max(100_000).optional().transform((raw, ctx) => {
      try {
        return parseColumnPolicies(raw ?? "");
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
    /** A scope whose holders see this source's policed columns as they are (default: `SQL_COLUMN_POLICIES_LIFTED_BY`). */
    column_policies_lifted_by: z.string().regex(SCOPE_PATTERN, "must be one scope").optional(),
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
  sources: z.record(z.string().regex(NAME, NAME_MESSAGE), SourceSpec).default({}),
  tools: z.record(z.string().regex(TOOL_NAME_PATTERN, NAME_MESSAGE), ToolSpec).default({}),
  toolsets: z.record(z.string().regex(NAME, NAME_MESSAGE), z.array(z.string())).default({}),
});
export type ToolsFileSpec = z.infer<typeof ToolsFileSpec>;
