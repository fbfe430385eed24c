/**
 * A tool server of your own: the mcp-tool-server pipeline (auth, rate
 * limits, deadlines, both doors, health, metrics) with your tools, configured
 * from the environment like the server itself (`PORT`, `DB_URL`,
 * `API_KEY_PRIMARY`, `TOOLS_FILE`, …).
 *
 *   deno task start    serve (the embedded demo database unless DB_URL is set)
 *   deno task test     your tools' tests, through the real pipeline
 *
 * @module
 */
import { serve, type Tool } from "@mcp-tool-server/server";
import { customerSpend } from "./tools/customer_spend.ts";
import { vatBreakdown } from "./tools/vat_breakdown.ts";

/** The tools this server serves: add yours here (one file per tool under tools/). */
export const TOOLS: readonly Tool[] = [customerSpend, vatBreakdown];

if (import.meta.main) {
  Deno.exit(await serve({ tools: TOOLS }));
}
