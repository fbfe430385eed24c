/**
 * Where the program may always read its files, and what to tell a user whose
 * file is elsewhere. The binary's permissions are fixed when it is compiled:
 * "grant --allow-read" is advice its user cannot follow, so every message
 * names the folders it can read (and, for `deno run`, the flag).
 *
 * The same folders are granted by the `compile` task (so the binary and the
 * image), the systemd unit and the documented bundle flags; `deno task start`
 * adds the project's own `config/`.
 *
 * @module
 */

/** Folders the binary may read: the configuration folder, Docker/Kubernetes secrets, systemd credentials. */
export const CONFIG_FOLDERS: readonly string[] = [
  "/etc/mcp-tool-server",
  "/run/secrets",
  "/run/credentials",
];

/** The folder the binary may write `LOG_FILE` in (systemd `LogsDirectory=mcp-tool-server`). */
export const LOG_FOLDER = "/var/log/mcp-tool-server";

/** The folder `deno task start` reads, relative to the project. */
export const PROJECT_CONFIG_FOLDER = "config";

/**
 * Why `path` could not be read, and what the user can do about it.
 *
 * @example The message for a tools file outside the granted folders
 * ```ts
 * import { readPermissionHint } from "./permission_hint.ts";
 * import assert from "node:assert/strict";
 *
 * const hint = readPermissionHint("/srv/tools.yaml");
 * assert.match(hint, /put it under \/etc\/mcp-tool-server\//);
 * assert.match(hint, /--allow-read=\/srv\/tools\.yaml/);
 * ```
 */
export function readPermissionHint(path: string): string {
  return `no permission to read ${path}: put it under ${
    CONFIG_FOLDERS.map((f) => `${f}/`).join(", ")
  } (the binary and the image read only there; deno task start also reads ${PROJECT_CONFIG_FOLDER}/), ` +
    `or under deno run grant --allow-read=${path}`;
}

/**
 * Why `path` could not be opened for writing (`LOG_FILE`), and what to do.
 *
 * @example The message for a log file outside the log folder
 * ```ts
 * import { writePermissionHint } from "./permission_hint.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(writePermissionHint("/srv/mcp.log"), /put it under \/var\/log\/mcp-tool-server\//);
 * ```
 */
export function writePermissionHint(path: string): string {
  return `no permission to write ${path}: put it under ${LOG_FOLDER}/ ` +
    `(the binary and the image write only there), or under deno run grant --allow-write=${path}`;
}

/** Whether `error` is a missing permission (sandbox or file system). */
export function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}
