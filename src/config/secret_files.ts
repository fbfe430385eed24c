/**
 * Secrets from files, the Docker and Kubernetes secrets convention: every
 * secret variable `NAME` may instead be given as `NAME_FILE`, the path of a
 * file holding the value (one trailing newline is dropped). Resolved once,
 * before the configuration is parsed; the value never passes through the
 * process environment, so it does not show in `/proc/<pid>/environ`.
 *
 * @module
 */
import { ConfigError, SECRET_VARIABLES } from "./env.ts";
import { isPermissionError, readPermissionHint } from "./permission_hint.ts";

/** Reads a file as text; injectable for tests. */
export type ReadText = (path: string) => string;

/**
 * `env` with every `NAME_FILE` replaced by `NAME` = the file's content.
 * Throws {@linkcode ConfigError} listing every problem: both `NAME` and
 * `NAME_FILE` set, an unreadable file (naming the `--allow-read` grant when
 * that is why), an empty file. File contents never appear in messages.
 */
export function resolveSecretFiles(
  env: Readonly<Record<string, string | undefined>>,
  readText: ReadText = Deno.readTextFileSync,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const fileVar = `${name}_FILE`;
    const path = env[fileVar]?.trim();
    if (!path) continue;
    delete out[fileVar];
    if (env[name]?.trim()) {
      problems.push(`${fileVar}: set either ${name} or ${fileVar}, not both`);
      continue;
    }
    let text: string;
    try {
      text = readText(path);
    } catch (error) {
      problems.push(
        isPermissionError(error)
          ? `${fileVar}: ${readPermissionHint(path)}`
          : error instanceof Deno.errors.NotFound
          ? `${fileVar}: no file at ${path}`
          : `${fileVar}: cannot read ${path}`,
      );
      continue;
    }
    const value = text.replace(/\r?\n$/, "");
    if (value === "") {
      problems.push(`${fileVar}: ${path} is empty`);
      continue;
    }
    out[name] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
