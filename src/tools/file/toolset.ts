/**
 * `TOOLSET`: which of the served tools a tools file's toolset keeps. Apart
 * from the tools file loader, so that a server without a tools file never
 * loads it (nor the YAML parser under it, ~10 ms of a start).
 *
 * @module
 */
import type { Tool } from "../define.ts";
import type { ToolsFile } from "./load.ts";

/**
 * The tools to serve: `toolset` (when set) picks from all of them by name.
 * Throws when the toolset is not defined or names a tool that does not exist.
 */
export function selectToolset(
  tools: readonly Tool[],
  file: ToolsFile | undefined,
  toolset: string | undefined,
): Tool[] {
  if (toolset === undefined) return [...tools];
  const names = file?.spec.toolsets[toolset];
  if (names === undefined) {
    throw new Error(`TOOLSET "${toolset}" is not defined in the tools file`);
  }
  const byName = new Map(tools.map((t) => [t.name, t]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new Error(`Toolset "${toolset}" names tools that are not served: ${missing.join(", ")}`);
  }
  return names.map((n) => byName.get(n)!);
}
