/**
 * The server this project serves: exactly its tools, each described.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTestServer } from "@mcp-tool-server/server";
import { TOOLS } from "./main.ts";

Deno.test("the server serves this project's tools and no demo tool", async () => {
  await using server = await createTestServer({ tools: TOOLS });
  assert.deepEqual([...server.tools].sort(), ["customer_spend", "vat_breakdown"]);
});
