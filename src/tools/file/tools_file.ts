/**
 * The tools file as the server and the CLI use it: read it (the only file
 * the server reads, so `--allow-read` can name just it), check it, and build
 * its tools.
 *
 * @module
 */
import type { PgParser } from "../../sources/db/pg_parser.ts";
import { isPermissionError, readPermissionHint } from "../../config/permission_hint.ts";
import { type BuildContext, buildTools, type BuiltTools } from "./build.ts";
import { type FileProblem, formatProblems, loadToolsFile, type ToolsFile } from "./load.ts";

export { formatProblems };

/** A tools file that cannot be served; `message` lists every problem as `file:line:col: …`. */
export class ToolsFileError extends Error {
  constructor(readonly path: string, readonly problems: readonly FileProblem[]) {
    super(`Invalid tools file ${path}:\n${formatProblems(path, problems)}`);
    this.name = "ToolsFileError";
  }
}

/** Reads and checks `path`; opens nothing. */
export async function checkToolsFile(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  /** The server's one parser, when it has one; else one is loaded. */
  parser?: () => Promise<PgParser>,
): Promise<{ ok: true; file: ToolsFile } | { ok: false; problems: readonly FileProblem[] }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : isPermissionError(error)
      ? readPermissionHint(path)
      : error instanceof Error
      ? error.message
      : String(error);
    return { ok: false, problems: [{ line: 1, column: 1, message: reason }] };
  }
  // Loaded only when a tools file is used: the parser is a few MB of WASM.
  const [{ createPgParser }, { createStatementGuard }] = await Promise.all([
    import("../../sources/db/pg_parser.ts"),
    import("../../sources/db/statement_guard.ts"),
  ]);
  const guard = createStatementGuard(await (parser ?? createPgParser)());
  return loadToolsFile(text, { env, guard });
}

/** Checks `path` and builds its tools; throws {@linkcode ToolsFileError} for a bad file. */
export async function openToolsFile(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  ctx: BuildContext,
): Promise<BuiltTools & { readonly file: ToolsFile }> {
  const checked = await checkToolsFile(path, env, ctx.parser);
  if (!checked.ok) throw new ToolsFileError(path, checked.problems);
  return { ...(await buildTools(checked.file, ctx)), file: checked.file };
}

export { selectToolset } from "./toolset.ts";
