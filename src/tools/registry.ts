/**
 * The set of tools this server serves, checked at start and with each tool's
 * JSON Schema built once (not per request).
 *
 * @module
 */
import { z } from "zod";
import type { Principal, Tool, ToolAnnotations } from "./define.ts";
import { mayCall, SCOPE_PATTERN } from "../auth/scopes.ts";
import { parseStrictDate } from "../config/strict_date.ts";

/** Tool names: the same rule on both doors, safe in URLs, logs and metric labels. */
export const TOOL_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** What `tools/list` and `GET /v1/mcp` show of a tool. */
export interface ToolDescriptor {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema?: Record<string, unknown>;
  readonly annotations?: ToolAnnotations;
}

/** A checked set of tools. */
export interface Registry {
  get(name: string): Tool | undefined;
  /** Every tool, in registration order. */
  readonly tools: readonly Tool[];
  /** The listing, computed once. */
  readonly descriptors: readonly ToolDescriptor[];
  /** The listing a caller sees: only the tools its key's scopes allow. */
  descriptorsFor(principal: Principal): readonly ToolDescriptor[];
}

/** Thrown at start for a bad or duplicate tool; the message names the tool. */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** Checks every tool and builds the registry; throws {@linkcode RegistryError}. */
export function createRegistry(tools: readonly Tool[]): Registry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    const name = String(tool.name);
    if (!TOOL_NAME_PATTERN.test(name)) {
      throw new RegistryError(
        `Cannot register tool "${
          name.slice(0, 80)
        }": the name must match ${TOOL_NAME_PATTERN.source}`,
      );
    }
    if (byName.has(name)) {
      throw new RegistryError(
        `Cannot register tool "${name}": a tool with that name is already registered`,
      );
    }
    if (typeof tool.description !== "string" || tool.description.trim() === "") {
      throw new RegistryError(`Cannot register tool "${name}": a description is required`);
    }
    if (!(tool.input instanceof z.ZodObject)) {
      throw new RegistryError(
        `Cannot register tool "${name}": the input schema must be a zod object`,
      );
    }
    if (typeof tool.handler !== "function") {
      throw new RegistryError(`Cannot register tool "${name}": a handler function is required`);
    }
    if (
      tool.timeoutSeconds !== undefined &&
      !(tool.timeoutSeconds > 0 && tool.timeoutSeconds <= 3600)
    ) {
      throw new RegistryError(
        `Cannot register tool "${name}": timeoutSeconds must be in (0, 3600]`,
      );
    }
    if (
      tool.rateLimitCost !== undefined &&
      !(Number.isSafeInteger(tool.rateLimitCost) && tool.rateLimitCost >= 1 &&
        tool.rateLimitCost <= 1_000_000)
    ) {
      throw new RegistryError(
        `Cannot register tool "${name}": rateLimitCost must be an integer from 1 to 1000000`,
      );
    }
    if (
      tool.cacheTtlSeconds !== undefined &&
      !(tool.cacheTtlSeconds > 0 && tool.cacheTtlSeconds <= 86_400)
    ) {
      throw new RegistryError(
        `Cannot register tool "${name}": cacheTtlSeconds must be in (0, 86400]`,
      );
    }
    if (tool.deprecated !== undefined) {
      const { sunset, successor } = tool.deprecated;
      // Strict: `Date.parse` would roll 2027-02-30 over to March 2.
      if (typeof sunset !== "string" || parseStrictDate(sunset) === undefined) {
        throw new RegistryError(
          `Cannot register tool "${name}": deprecated.sunset must be a real YYYY-MM-DD date, not "${
            String(sunset).slice(0, 40)
          }"`,
        );
      }
      if (successor !== undefined && !tools.some((t) => t.name === successor)) {
        throw new RegistryError(
          `Cannot register tool "${name}": its successor "${
            successor.slice(0, 80)
          }" is not registered`,
        );
      }
    }
    if (
      tool.scopes !== undefined &&
      !(Array.isArray(tool.scopes) && tool.scopes.length > 0 &&
        tool.scopes.every((s) => typeof s === "string" && SCOPE_PATTERN.test(s)))
    ) {
      throw new RegistryError(
        `Cannot register tool "${name}": scopes must be a non-empty list of names matching ${SCOPE_PATTERN.source}`,
      );
    }
    byName.set(name, tool);
  }
  const registered = [...tools];
  // The listing (each schema converted to JSON Schema) is built at its first
  // use, not here: ~4 ms of a cold start for the six built-in tools, before
  // the port opens; a first tools call never needs it. (With `unrepresentable:
  // "any"` the conversion cannot fail, so nothing is found later than before.)
  let listed: readonly ToolDescriptor[] | undefined;
  const descriptors = () => listed ??= registered.map(describe);
  // One filtered listing per scope set (each key's set is one object, built
  // when its key is loaded), so a scoped tools/list costs a lookup.
  const filtered = new WeakMap<ReadonlySet<string>, readonly ToolDescriptor[]>();
  return {
    get: (name) => byName.get(name),
    tools: registered,
    get descriptors() {
      return descriptors();
    },
    descriptorsFor(principal) {
      const scopes = principal.scopes;
      if (scopes === undefined) return descriptors();
      let listing = filtered.get(scopes);
      if (listing === undefined) {
        listing = descriptors().filter((_, i) => mayCall(principal, registered[i]));
        filtered.set(scopes, listing);
      }
      return listing;
    },
  };
}

function describe(tool: Tool): ToolDescriptor {
  const descriptor: {
    -readonly [K in keyof ToolDescriptor]: ToolDescriptor[K];
  } = {
    name: tool.name,
    description: tool.deprecated
      ? `${deprecationNotice(tool.deprecated)} ${tool.description}`
      : tool.description,
    inputSchema: jsonSchema(tool.input, "input"),
  };
  if (tool.output) descriptor.outputSchema = jsonSchema(tool.output, "output");
  if (tool.annotations) descriptor.annotations = tool.annotations;
  return Object.freeze(descriptor);
}

/** What a deprecated tool's listing says first, so a model prefers its successor. */
export function deprecationNotice(d: NonNullable<Tool["deprecated"]>): string {
  return `DEPRECATED: removed on ${d.sunset}${d.successor ? `; use ${d.successor} instead` : ""}.`;
}

/** The `Deprecation` and `Sunset` headers (RFC 9745, RFC 8594) of a deprecated tool's answers. */
export function deprecationHeaders(d: NonNullable<Tool["deprecated"]>): Record<string, string> {
  const headers: Record<string, string> = {
    deprecation: "true",
    sunset: new Date(`${d.sunset}T00:00:00Z`).toUTCString(),
  };
  if (d.successor) headers.link = `</v1/mcp/${d.successor}>; rel="successor-version"`;
  return headers;
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  // `io: "input"` keeps fields with defaults optional; `$schema` is noise for clients.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** A registry whose contents can be replaced at once (a tools-file reload). */
export interface LiveRegistry extends Registry {
  /** Serves `next` from now on; calls already running keep the tools they started with. */
  swap(next: Registry): void;
}

/** Wraps `initial` so the doors, holding this one object, always see the current tools. */
export function liveRegistry(initial: Registry): LiveRegistry {
  let current = initial;
  return {
    get: (name) => current.get(name),
    get tools() {
      return current.tools;
    },
    get descriptors() {
      return current.descriptors;
    },
    descriptorsFor: (principal) => current.descriptorsFor(principal),
    swap(next) {
      current = next;
    },
  };
}
