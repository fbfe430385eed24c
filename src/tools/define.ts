/**
 * How a tool is defined: once, with a name, a description, a zod input schema
 * and a handler. Both doors (MCP and REST) serve the same definition.
 *
 * @module
 */
import type { z } from "zod";
import type { Logger } from "../observability/logger.ts";
import type { Principal } from "../auth/principal.ts";
import type { ApiClient } from "./api_client.ts";
import type { SqlClient } from "./sql_client.ts";
import type { SqlSource } from "../sources/db/sql_source.ts";
import type { Upstream } from "../sources/http/upstream.ts";

/** MCP tool annotations (hints for clients; see the MCP spec). */
export interface ToolAnnotations {
  readonly title?: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

export type { Principal } from "../auth/principal.ts";

/** What a handler gets besides its input. */
export interface ToolContext {
  readonly requestId: string;
  readonly principal: Principal;
  /** Bound to the request id, tool name and principal. */
  readonly log: Logger;
  /** Aborts at the tool's deadline or when the caller goes away. */
  readonly signal: AbortSignal;
  /** The SQL source, bound to this call's signal. */
  readonly sql: SqlClient;
  /** The upstream REST API, bound to this call's deadline and request id. */
  readonly api: ApiClient;
}

/** A tool as its author writes it. */
export interface ToolDefinition<I extends z.ZodObject, O> {
  /** `^[a-z][a-z0-9_]{0,63}$`: the same on both doors and in metrics. */
  readonly name: string;
  /** What the model reads to decide when to call the tool. Required. */
  readonly description: string;
  /** Input schema; use `z.strictObject` so unknown fields are refused. */
  readonly input: I;
  /** Optional output schema; results are checked against it. */
  readonly output?: z.ZodType<O>;
  readonly annotations?: ToolAnnotations;
  /** Deadline override for this tool, in seconds (default `TOOL_TIMEOUT_SECONDS`). */
  readonly timeoutSeconds?: number;
  /** Rate-limit points a call costs (default 1; `RATE_LIMIT_TOOL_COSTS` overrides). */
  readonly rateLimitCost?: number;
  /**
   * Cache successful results this long, in seconds (0 < ttl <= 86400), per
   * principal and canonical input (see `src/cache/response_cache.ts`); off
   * when absent. Callers may then get data up to this old.
   */
  readonly cacheTtlSeconds?: number;
  /** Part of every cache key of the tool: change it when its results change shape. */
  readonly cacheVersion?: string;
  /** The sources `ctx.sql` / `ctx.api` bind to, when not the server's own (tools-file tools). */
  readonly sources?: ToolSources;
  /** Marks the tool deprecated: still served, announced in listings, headers and logs. */
  readonly deprecated?: Deprecation;
  /** Scopes a key needs to call the tool (all of them); default `["tools:read"]`. */
  readonly scopes?: readonly string[];
  /**
   * Identity-bound parameters: parameter name → the verified token claim
   * that fills it (`from: claim sub`). Not in `input` (so never listed and
   * never an argument); a caller without the claim is refused before the
   * tool runs (see `src/http/admission.ts`).
   */
  readonly identity?: Readonly<Record<string, string>>;
  readonly handler: (input: z.output<I>, ctx: ToolContext) => Promise<O>;
}

/** A deprecated tool's sunset and successor (the `get_customer_v1` → `_v2` pattern). */
export interface Deprecation {
  /** The day it stops being served, `YYYY-MM-DD`. */
  readonly sunset: string;
  /** The tool to use instead. */
  readonly successor?: string;
}

/** Sources a tool reads instead of the server's `DB_URL` database and `API_BASE_URL` API. */
export interface ToolSources {
  readonly sql?: SqlSource;
  readonly api?: Upstream;
}

/** A tool with its types erased, as the registry holds it. */
export interface Tool {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodObject;
  readonly output?: z.ZodType;
  readonly annotations?: ToolAnnotations;
  readonly timeoutSeconds?: number;
  readonly rateLimitCost?: number;
  readonly cacheTtlSeconds?: number;
  readonly cacheVersion?: string;
  readonly sources?: ToolSources;
  readonly deprecated?: Deprecation;
  readonly scopes?: readonly string[];
  readonly identity?: Readonly<Record<string, string>>;
  readonly handler: (input: unknown, ctx: ToolContext) => Promise<unknown>;
}

/**
 * Defines a tool. The handler's input type is inferred from the schema; the
 * returned value is what the registry takes.
 */
export function defineTool<I extends z.ZodObject, O>(definition: ToolDefinition<I, O>): Tool {
  return Object.freeze({ ...definition }) as unknown as Tool;
}
