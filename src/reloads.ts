/**
 * Reloads (SIGHUP): the tools file and the API keys file read again while
 * the server runs. A bad file changes nothing: the old tools or keys keep
 * serving, and the problems are returned and logged. Calls in flight finish
 * on the tools they started with; the sources of replaced tools are closed
 * once the longest deadline has passed.
 *
 * @module
 */
import type { Config } from "./config/env.ts";
import type { KeyRing } from "./auth/key_ring.ts";
import type { FileKey } from "./auth/keys_file.ts";
import type { Logger } from "./observability/logger.ts";
import type { BuildContext } from "./tools/file/build.ts";
import type { ToolsFileSpec } from "./tools/file/spec.ts";
import type { LiveRegistry, Registry } from "./tools/registry.ts";

type ToolsFiles = typeof import("./tools/file/tools_file.ts");
type OpenToolsFile = Awaited<ReturnType<ToolsFiles["openToolsFile"]>>;

/** What a tools reload answers. */
export type ToolsReload = { ok: true; tools: string[] } | { ok: false; error: string };
/** What a keys reload answers. */
export type KeysReload = { ok: true; keys: number } | { ok: false; error: string };

/** What {@linkcode createReloads} takes: the app's pieces a reload replaces. */
export interface ReloadsOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Where the tools file's `${NAME}` references are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The tools-file loader, loaded only when `TOOLS_FILE` is set. */
  readonly toolsFiles: ToolsFiles | undefined;
  readonly buildContext: BuildContext;
  /** The tools file opened at start, if any. */
  readonly fileTools: OpenToolsFile | undefined;
  readonly buildRegistry: (file: OpenToolsFile) => Registry;
  readonly registry: LiveRegistry;
  /** Told each newly served tools file (the RAG tool reads what it reserves). */
  readonly onToolsFile: (spec: ToolsFileSpec) => void;
  readonly keyRing: KeyRing;
  readonly readKeys: (file: string) => Promise<FileKey[]>;
}

/** The two reloads, and the `close()` for what they still hold. */
export interface Reloads {
  reloadTools(): Promise<ToolsReload>;
  reloadKeys(): Promise<KeysReload>;
  /** Closes the current tools file's sources and those still retiring. */
  close(): Promise<void>;
}

/** Builds the reloads over the app's current tools file and key ring. */
export function createReloads(options: ReloadsOptions): Reloads {
  const { config, log, env, toolsFiles, buildContext, buildRegistry, registry, keyRing } = options;
  let fileTools = options.fileTools;
  const retiring = new Set<{ timer: ReturnType<typeof setTimeout>; close: () => Promise<void> }>();

  async function reloadTools(): Promise<ToolsReload> {
    if (config.toolsFile === undefined || !toolsFiles) {
      return { ok: false, error: "TOOLS_FILE is not set" };
    }
    let next: OpenToolsFile;
    try {
      next = await toolsFiles.openToolsFile(config.toolsFile, env, buildContext);
    } catch (error) {
      const message = error instanceof toolsFiles.ToolsFileError
        ? toolsFiles.formatProblems(error.path, error.problems)
        : error instanceof Error
        ? error.message
        : String(error);
      log.error("tools file reload refused; the previous tools keep serving", {
        file: config.toolsFile,
        problems: message,
      });
      return { ok: false, error: message };
    }
    let nextRegistry: Registry;
    try {
      nextRegistry = buildRegistry(next);
    } catch (error) {
      await next.close();
      const message = error instanceof Error ? error.message : String(error);
      log.error("tools file reload refused; the previous tools keep serving", {
        file: config.toolsFile,
        problems: message,
      });
      return { ok: false, error: message };
    }
    const previous = fileTools;
    fileTools = next;
    registry.swap(nextRegistry);
    options.onToolsFile(next.file.spec);
    const names = next.tools.map((t) => t.name);
    log.info("tools file reloaded", { file: config.toolsFile, tools: names });
    if (previous) {
      // Calls that started on the old tools may still use their sources:
      // close those once the longest deadline has passed.
      const graceMs = (Math.max(
        config.toolTimeoutSeconds,
        ...previous.tools.map((t) => t.timeoutSeconds ?? 0),
      ) + 1) * 1000;
      const entry = {
        timer: setTimeout(() => {
          retiring.delete(entry);
          previous.close();
        }, graceMs),
        close: previous.close,
      };
      retiring.add(entry);
    }
    return { ok: true, tools: names };
  }

  async function reloadKeys(): Promise<KeysReload> {
    if (config.apiKeysFile === undefined) return { ok: false, error: "API_KEYS_FILE is not set" };
    try {
      keyRing.replaceFileKeys(await options.readKeys(config.apiKeysFile));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error("API keys file reload refused; the previous keys stay valid", {
        file: config.apiKeysFile,
        problems: message,
      });
      return { ok: false, error: message };
    }
    return { ok: true, keys: keyRing.fileKeyCount };
  }

  return {
    reloadTools,
    reloadKeys,
    async close() {
      for (const r of retiring) {
        clearTimeout(r.timer);
        await r.close();
      }
      await fileTools?.close();
    },
  };
}
