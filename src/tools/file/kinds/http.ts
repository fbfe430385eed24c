/**
 * `kind: http`: one GET or POST on an `http` source or the server's own
 * upstream (`API_BASE_URL`), through the upstream client (retries, breaker,
 * size cap). At load its path, query and body templates are checked against
 * the declared parameters and its path is split at its `{name}`
 * placeholders; a call encodes each path value as one segment.
 *
 * @module
 */
import { z } from "zod";
import { apiPath, encodeSegment } from "../../../sources/http/path.ts";
import { defineTool } from "../../define.ts";
import { ToolError } from "../../errors.ts";
import { callValues } from "../parameters.ts";
import { COMMON_FIELDS, commonDefinition } from "./common.ts";
import { defineKind } from "./kind.ts";

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
  ...COMMON_FIELDS,
});
export type HttpToolSpec = z.infer<typeof HttpToolSpec>;

/** An HTTP tool's path split at its `{name}` placeholders: `parts` around `names`. */
export interface PathTemplate {
  readonly parts: readonly string[];
  readonly names: readonly string[];
}

/** `{name}` in HTTP paths and query values. */
const PLACEHOLDER = /\{([a-z][a-z0-9_]{0,63})\}/g;

/** The parameter a string refers to when it is exactly `"{name}"`. */
const placeholder = (value: string) => /^\{([a-z][a-z0-9_]{0,63})\}$/.exec(value)?.[1];

/** The `http` tool kind. */
export const httpKind = defineKind({
  schema: HttpToolSpec,
  sourceKinds: ["http"],
  check(spec, ctx) {
    const result = httpProblems(spec);
    for (const { field, message } of result.problems) ctx.problem(field.split("/"), message);
    return result.path;
  },
  build(name, spec, template: PathTemplate, ctx) {
    // Without a source of its own the tool reads the server's upstream.
    const sources = ctx.source ?? (ctx.upstream && { api: ctx.upstream });
    if (sources === undefined) {
      throw new Error(
        `Tool "${name}": an http tool without a source needs API_BASE_URL (or give it a source)`,
      );
    }
    const strings = Object.assign([...template.parts], { raw: [...template.parts] });
    return defineTool({
      ...commonDefinition(name, spec),
      annotations: { readOnlyHint: true, openWorldHint: true, ...spec.annotations },
      sources,
      async handler(input, ctx) {
        const values = callValues(spec.parameters, input, ctx);
        // Each path value is one encoded segment (apiPath). Checked one by one
        // first, so a value that cannot be a segment (empty, dots only) is
        // refused naming its parameter. Path parameters are never optional
        // (refused at load), so no value here is undefined.
        const segments = template.names.map((n) => {
          const value = String(values[n]);
          try {
            encodeSegment(value);
          } catch (error) {
            if (!(error instanceof RangeError)) throw error;
            throw new ToolError("invalid_input", "Invalid input", {
              details: [{ field: n, message: error.message }],
            });
          }
          return value;
        });
        const path = apiPath(strings as unknown as TemplateStringsArray, ...segments);
        const query: Record<string, string | undefined> = {};
        for (const [key, value] of Object.entries(spec.query)) {
          const ref = placeholder(value);
          query[key] = ref === undefined
            ? value
            : values[ref] === undefined
            ? undefined
            : String(values[ref]);
        }
        const options = { query, notFound: spec.not_found ?? "Not found" };
        if (spec.method === "POST") {
          return await ctx.api.post(path, fillBody(spec.body ?? {}, values), options);
        }
        return await ctx.api.get(path, options);
      },
    });
  },
});

/** Checks an HTTP tool's templates; returns its split path. */
function httpProblems(tool: HttpToolSpec): {
  problems: { field: string; message: string }[];
  path: PathTemplate;
} {
  const problems: { field: string; message: string }[] = [];
  const declared = new Set(Object.keys(tool.parameters));
  const used = new Set<string>();
  const use = (field: string, name: string) => {
    if (!declared.has(name)) {
      problems.push({ field, message: `{${name}} is not a declared parameter` });
    }
    used.add(name);
  };
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of tool.path.matchAll(PLACEHOLDER)) {
    parts.push(tool.path.slice(last, m.index));
    names.push(m[1]);
    use("path", m[1]);
    // Left out, the segment would be empty or dropped: either way a different
    // route on the upstream than the one the file names.
    const param = tool.parameters[m[1]];
    if (param?.required === false && param.default === undefined) {
      problems.push({
        field: `parameters/${m[1]}`,
        message: `parameter ${m[1]}: a path parameter cannot be optional ` +
          `(make it required or give it a default)`,
      });
    }
    last = m.index + m[0].length;
  }
  parts.push(tool.path.slice(last));
  for (const literal of parts) {
    if (/[{}]|\$\{/.test(literal)) {
      problems.push({
        field: "path",
        message: "path: braces are only for {parameter} placeholders",
      });
    }
    if (/[?#]/.test(literal)) {
      problems.push({
        field: "path",
        message: "path: put query parameters under query, not in the path",
      });
    }
    if (/(^|\/)\.{1,2}(\/|$)/.test(literal)) {
      problems.push({ field: "path", message: "path: . and .. segments are not allowed" });
    }
  }
  for (const value of Object.values(tool.query)) {
    const whole = placeholder(value);
    if (whole) use("query", whole);
    else if (/[{}]/.test(value)) {
      problems.push({
        field: "query",
        message: 'query: a value is a literal or exactly "{parameter}"',
      });
    }
  }
  if (tool.body !== undefined) {
    if (tool.method !== "POST") {
      problems.push({ field: "body", message: "body: only POST sends one" });
    }
    walkStrings(tool.body, (s) => {
      const whole = placeholder(s);
      if (whole) use("body", whole);
      else if (/\$\{/.test(s)) {
        problems.push({ field: "body", message: "body: ${…} is only for sources" });
      }
    });
  }
  for (const name of declared) {
    if (!used.has(name)) {
      problems.push({
        field: "parameters",
        message: `parameter ${name} is not used in path, query or body`,
      });
    }
  }
  return { problems, path: { parts, names } };
}

function walkStrings(value: unknown, visit: (s: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, visit));
  else if (value && typeof value === "object") {
    Object.values(value).forEach((v) => walkStrings(v, visit));
  }
}

/** The body template with every exact `"{name}"` string replaced by that parameter's value. */
function fillBody(template: unknown, values: Record<string, unknown>): unknown {
  if (typeof template === "string") {
    const ref = placeholder(template);
    return ref === undefined ? template : (values[ref] ?? null);
  }
  if (Array.isArray(template)) return template.map((v) => fillBody(v, values));
  if (template && typeof template === "object") {
    return Object.fromEntries(
      Object.entries(template).map(([k, v]) => [k, fillBody(v, values)]),
    );
  }
  return template;
}
