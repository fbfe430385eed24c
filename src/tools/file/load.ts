/**
 * Reads a tools file: YAML (or JSON, which is YAML) → `${ENV}` references in
 * `sources` resolved → shape checked → every SQL statement parsed with the
 * real PostgreSQL parser and judged read-only → every HTTP template checked.
 * Every problem is reported with its line and column, all at once.
 *
 * Nothing is opened here: `check` runs this alone, and a reload runs it
 * before touching what is serving.
 *
 * @module
 */
import { isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { namedQuery, QueryTextError } from "../../sources/db/named_query.ts";
import type { GuardResult } from "../../sources/db/statement_guard.ts";
import {
  parameterProblems,
  type ParameterSpec,
  type SourceSpec,
  ToolsFileSpec,
  type ToolSpec,
} from "./spec.ts";

/** One problem, where it is. */
export interface FileProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A checked tools file. */
export interface ToolsFile {
  readonly spec: ToolsFileSpec;
  /** Each HTTP tool's path split at its `{name}` placeholders. */
  readonly httpPaths: ReadonlyMap<string, { parts: string[]; names: string[] }>;
  /** Each SQL tool's statement as the guard passed it. */
  readonly sqlStatements: ReadonlyMap<string, CheckedStatement>;
}

/**
 * A SQL tool's statement, checked once at load: its text with `$n`
 * placeholders (the statement alone, as the guard's parse tree delimits it),
 * what kind of statement it is, and the parameter bound to each `$n`, so a
 * call binds its values without parsing the text again.
 */
export interface CheckedStatement {
  readonly text: string;
  readonly statement: "select" | "explain" | "show";
  /** `order[i]` is the parameter bound to `$(i + 1)`. */
  readonly order: readonly string[];
}

export type LoadResult =
  | { readonly ok: true; readonly file: ToolsFile }
  | { readonly ok: false; readonly problems: readonly FileProblem[] };

/** What checking needs from outside. */
export interface LoadOptions {
  /** Where `${NAME}` references are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Judges one SQL text read-only (the statement guard over the real parser). */
  readonly guard: (sql: string) => GuardResult;
}

/** `${NAME}` or `${NAME:-default}`. */
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** `{name}` in HTTP paths and query values. */
const PLACEHOLDER = /\{([a-z][a-z0-9_]{0,63})\}/g;

/** Formats problems as `file:line:column: message`, one per line. */
export function formatProblems(path: string, problems: readonly FileProblem[]): string {
  return problems.map((p) => `${path}:${p.line}:${p.column}: ${p.message}`).join("\n");
}

/** Checks the text of a tools file. Never throws for a bad file. */
export function loadToolsFile(text: string, options: LoadOptions): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: FileProblem[] = [];
  const at = (offset: number | undefined, message: string) => {
    const pos = lines.linePos(offset ?? 0);
    problems.push({ line: pos.line, column: pos.col, message });
  };
  /** The offset of the node at `path`, or of its nearest ancestor that exists. */
  const offsetOf = (path: readonly PropertyKey[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return 0;
  };
  /** The key's offset for a map entry (so "unknown field" points at the field). */
  const keyOffsetOf = (path: readonly PropertyKey[], key: string): number => {
    const parent = doc.getIn(path as (string | number)[], true) as
      | { items?: { key?: { value?: unknown; range?: number[] } }[] }
      | undefined;
    const item = parent?.items?.find((i) => i.key?.value === key);
    return item?.key?.range?.[0] ?? offsetOf(path);
  };

  for (const error of doc.errors) {
    at(error.pos[0], error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""));
  }
  if (problems.length > 0) return { ok: false, problems };
  const raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    at(0, "a tools file is a mapping with sources, tools and toolsets");
    return { ok: false, problems };
  }

  // ${ENV} only in sources: anywhere else it would be interpolation into a
  // statement or a path, the very thing this file must not allow.
  const sources = (raw as { sources?: unknown }).sources;
  if (sources && typeof sources === "object") {
    resolveEnv(sources, ["sources"], options.env, (path, message) => at(offsetOf(path), message));
  }

  const parsed = ToolsFileSpec.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reportIssue(issue, at, offsetOf, keyOffsetOf);
    return { ok: false, problems: sorted(problems) };
  }
  const spec = parsed.data;
  const httpPaths = new Map<string, { parts: string[]; names: string[] }>();
  const sqlStatements = new Map<string, CheckedStatement>();

  for (const [name, tool] of Object.entries(spec.tools)) {
    const base = ["tools", name];
    for (const [param, p] of Object.entries(tool.parameters)) {
      for (const message of parameterProblems(p)) {
        at(offsetOf([...base, "parameters", param]), `parameter ${param}: ${message}`);
      }
    }
    if (tool.kind === "vector_search") {
      if (Object.keys(tool.parameters).length > 0) {
        at(
          offsetOf([...base, "parameters"]),
          "a vector_search tool takes no parameters: its input is {query, top_k}",
        );
      }
      if (tool.top_k > tool.max_top_k) at(offsetOf([...base, "top_k"]), "top_k is over max_top_k");
      continue;
    }
    if (tool.source !== undefined && !(tool.source in spec.sources)) {
      at(offsetOf([...base, "source"]), `unknown source "${tool.source}"`);
    } else if (tool.source !== undefined) {
      const kind = spec.sources[tool.source].kind;
      const fits = tool.kind === "http" ? kind === "http" : kind !== "http";
      if (!fits) {
        at(
          offsetOf([...base, "source"]),
          `a ${tool.kind} tool cannot use source "${tool.source}" of kind ${kind}`,
        );
      }
    }
    if (tool.kind === "sql") {
      const checked = checkStatement(tool.statement, tool.parameters, options.guard);
      if (typeof checked === "string") at(offsetOf([...base, "statement"]), checked);
      else sqlStatements.set(name, checked);
    } else if (tool.kind === "http") {
      const result = httpProblems(tool);
      for (const { field, message } of result.problems) {
        at(offsetOf([...base, ...field.split("/")]), message);
      }
      if (result.path) httpPaths.set(name, result.path);
    }
  }
  for (const [set, names] of Object.entries(spec.toolsets)) {
    names.forEach((tool, i) => {
      if (!(tool in spec.tools) && !/^[a-z][a-z0-9_]{0,63}$/.test(tool)) {
        at(offsetOf(["toolsets", set, i]), `"${tool}" is not a tool name`);
      }
    });
  }
  if (problems.length > 0) return { ok: false, problems: sorted(problems) };
  return { ok: true, file: { spec, httpPaths, sqlStatements } };
}

function sorted(problems: FileProblem[]): FileProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function reportIssue(
  issue: z.core.$ZodIssue,
  at: (offset: number, message: string) => void,
  offsetOf: (path: readonly PropertyKey[]) => number,
  keyOffsetOf: (path: readonly PropertyKey[], key: string) => number,
): void {
  const path = issue.path;
  const where = path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    for (const key of issue.keys) {
      at(keyOffsetOf(path, key), `${where ? `${where}: ` : ""}unknown field "${key}"`);
    }
    return;
  }
  if (issue.code === "invalid_key") {
    const key = String(path.at(-1));
    at(
      keyOffsetOf(path.slice(0, -1), key),
      `"${key}" is not a valid name: use ^[a-z][a-z0-9_]{0,63}$`,
    );
    return;
  }
  at(offsetOf(path), `${where ? `${where}: ` : ""}${issue.message}`);
}

/** Replaces `${NAME}` / `${NAME:-default}` in every string under `value`, in place. */
function resolveEnv(
  value: unknown,
  path: (string | number)[],
  env: Readonly<Record<string, string | undefined>>,
  problem: (path: (string | number)[], message: string) => void,
): void {
  if (value === null || typeof value !== "object") return;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, v] of entries) {
    if (typeof v === "string") {
      const resolved = v.replace(ENV_REF, (_match, name: string, fallback?: string) => {
        const found = env[name];
        if (found !== undefined && found !== "") return found;
        if (fallback !== undefined) return fallback;
        problem([...path, key], `environment variable ${name} is not set`);
        return "";
      });
      (value as Record<string | number, unknown>)[key] = resolved;
    } else {
      resolveEnv(v, [...path, key], env, problem);
    }
  }
}

/** The statement as checked, or why it cannot be a tool. */
function checkStatement(
  statement: string,
  parameters: Readonly<Record<string, ParameterSpec>>,
  guard: (sql: string) => GuardResult,
): CheckedStatement | string {
  let bound;
  try {
    // Placeholders and declared parameters must match one to one; `${x}`,
    // `{x}`, `$1` and a second statement are refused. Each name bound as
    // its own value gives the parameter of each `$n`.
    const names = Object.fromEntries(Object.keys(parameters).map((name) => [name, name]));
    bound = namedQuery(statement, names);
  } catch (error) {
    if (error instanceof QueryTextError) return `statement: ${error.message}`;
    throw error;
  }
  const verdict = guard(bound.text);
  if (!verdict.ok) return `statement refused: ${verdict.reason}`;
  return {
    text: verdict.text,
    statement: verdict.statement,
    order: bound.values as string[],
  };
}

/** Checks an HTTP tool's templates; returns its split path. */
function httpProblems(tool: Extract<ToolSpec, { kind: "http" }>): {
  problems: { field: string; message: string }[];
  path?: { parts: string[]; names: string[] };
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
    const whole = /^\{([a-z][a-z0-9_]{0,63})\}$/.exec(value);
    if (whole) use("query", whole[1]);
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
      const whole = /^\{([a-z][a-z0-9_]{0,63})\}$/.exec(s);
      if (whole) use("body", whole[1]);
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

/** The sources a file defines, by name (for the builder). */
export type SourceSpecs = Readonly<Record<string, SourceSpec>>;
