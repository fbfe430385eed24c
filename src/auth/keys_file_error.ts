/**
 * The error a bad `API_KEYS_FILE` raises, apart from its parser: `main.ts`
 * tells it from other start failures without loading the keys file module
 * and the YAML parser under it (~10 ms of a start), which load only when a
 * keys file is configured.
 *
 * @module
 */

/** One problem, where it is. */
export interface KeysFileProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Thrown by {@linkcode readKeysFile}; the message lists every problem as `file:line:column`. */
export class KeysFileError extends Error {
  constructor(readonly path: string, readonly problems: readonly KeysFileProblem[]) {
    super(problems.map((p) => `${path}:${p.line}:${p.column}: ${p.message}`).join("\n"));
    this.name = "KeysFileError";
  }
}
