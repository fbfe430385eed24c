/**
 * `vat_breakdown`: its arithmetic, and its input checks through the real
 * pipeline.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTestServer } from "@mcp-tool-server/server";
import { vatBreakdown } from "./vat_breakdown.ts";

Deno.test("vat_breakdown splits a gross amount into net and VAT that add up", async () => {
  await using server = await createTestServer({ tools: [vatBreakdown] });
  const { status, body } = await server.call("vat_breakdown", { gross: 120, rate_percent: 20 });
  assert.equal(status, 200);
  assert.deepEqual(body, { net: 100, vat: 20, gross: 120 });
  // The default rate (20 %), and cents that still add up after rounding.
  const odd = await server.call("vat_breakdown", { gross: 10.01 });
  assert.deepEqual(odd.body, { net: 8.34, vat: 1.67, gross: 10.01 });
});

Deno.test("vat_breakdown refuses a rate above 100 % and unknown fields", async () => {
  await using server = await createTestServer({ tools: [vatBreakdown] });
  assert.equal((await server.call("vat_breakdown", { gross: 1, rate_percent: 150 })).status, 400);
  assert.equal((await server.call("vat_breakdown", { gross: 1, currency: "EUR" })).status, 400);
});
