/**
 * What the tools-file tests share: the real statement guard, and helpers
 * that load a file's text and find a problem at its line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";
import { createStatementGuard } from "../../../src/sources/db/statement_guard.ts";
import { type FileProblem, type LoadResult, loadToolsFile } from "../../../src/tools/file/load.ts";

/** The statement guard over the real PostgreSQL parser, as the server builds it. */
export const guard = createStatementGuard(await createPgParser());

/** Loads `text` with `env` and the real guard. */
export function load(text: string, env: Record<string, string> = {}): LoadResult {
  return loadToolsFile(text, { env, guard });
}

/** The problems of a file that must be refused. */
export function problems(text: string, env: Record<string, string> = {}): FileProblem[] {
  const result = load(text, env);
  assert.equal(result.ok, false, "expected the file to be refused");
  return result.ok ? [] : [...result.problems];
}

/** Asserts the file is refused with a problem at `line` matching `pattern`. */
export function assertProblem(
  text: string,
  line: number,
  pattern: RegExp,
  env?: Record<string, string>,
): void {
  const found = problems(text, env);
  assert.ok(
    found.some((p) => p.line === line && pattern.test(p.message)),
    `expected line ${line} ~ ${pattern}, got ${JSON.stringify(found)}`,
  );
}

/** A file with one sql tool `t`: its statement on line 5, `params` from line 6. */
export const SQL_TOOL = (statement: string, params = "") =>
  `tools:
  t:
    kind: sql
    description: d
    statement: ${statement}
${params}`;
