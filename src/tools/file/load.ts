/**
 * Reads a tools file: YAML (or JSON, which is YAML) → `${ENV}` references in
 * `sources` resolved → shape checked → each tool's parameters and source
 * checked → each tool checked by its kind (`kinds/`: a SQL statement parsed
 * with the real PostgreSQL parser and judged read-only, an HTTP template
 * matched to its parameters). Every problem is reported with its line and
 * column, all at once.
 *
 * Nothing is opened here: `check` runs this alone, and a reload runs it
 * before touching what is serving.
 *
 * @module
 */
import { isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import type { GuardResult } from "../../sources/db/statement_guard.ts";
import type { KindSpec } from "./kinds/kind.ts";
import { type CheckedTool, toolKind } from "./kinds/mod.ts";
import { parameterProblems } from "./parameters.ts";
import { type SourceSpec, ToolsFileSpec } from "./spec.ts";

export type { CheckedTool };

/** One problem, where it is. */
export interface FileProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A checked tools file. */
export interface ToolsFile {
  readonly spec: ToolsFileSpec;
  /** Each tool entry with what its kind's checks handed its build step, by name. */
  readonly tools: ReadonlyMap<string, CheckedTool>;
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
  const tools = new Map<string, CheckedTool>();

  for (const [name, tool] of Object.entries(spec.tools)) {
    const base = ["tools", name];
    const before = problems.length;
    for (const [param, p] of Object.entries(tool.parameters)) {
      for (const message of parameterProblems(p)) {
        at(offsetOf([...base, "parameters", param]), `parameter ${param}: ${message}`);
      }
    }
    const kind = toolKind(tool.kind);
    const entry: KindSpec = tool;
    if (kind.sourceKinds !== undefined && entry.source !== undefined) {
      // Own keys only: a name like "constructor" is not a source.
      const source = Object.hasOwn(spec.sources, entry.source)
        ? spec.sources[entry.source]
        : undefined;
      if (source === undefined) {
        at(offsetOf([...base, "source"]), `unknown source "${entry.source}"`);
      } else if (!kind.sourceKinds.includes(source.kind)) {
        at(
          offsetOf([...base, "source"]),
          `a ${tool.kind} tool cannot use source "${entry.source}" of kind ${source.kind}`,
        );
      }
    }
    const checked = kind.check(tool, {
      guard: options.guard,
      problem: (field, message) => at(offsetOf([...base, ...field]), message),
    });
    // The kind was looked up by this entry's own `kind`, so spec and checked belong together.
    if (problems.length === before) {
      tools.set(name, { kind: tool.kind, spec: tool, checked } as CheckedTool);
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
  return { ok: true, file: { spec, tools } };
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

/** The sources a file defines, by name (for the builder). */
export type SourceSpecs = Readonly<Record<string, SourceSpec>>;
