/**
 * `vat_breakdown`: splits a gross amount into net and VAT. A pure tool: no
 * database, no API, only its input.
 *
 * @module
 */
import { defineTool, z } from "@mcp-tool-server/server";

export const vatBreakdown = defineTool({
  name: "vat_breakdown",
  description:
    "Split a gross amount (VAT included) into its net amount and its VAT, rounded to cents.",
  input: z.strictObject({
    gross: z.number().min(0).max(1e12).describe("The amount with VAT included."),
    rate_percent: z.number().min(0).max(100).default(20).describe("The VAT rate in percent."),
  }),
  output: z.object({ net: z.number(), vat: z.number(), gross: z.number() }),
  annotations: { title: "VAT breakdown", readOnlyHint: true, openWorldHint: false },
  handler({ gross, rate_percent }) {
    // In cents, so net + vat is exactly gross after rounding.
    const grossCents = Math.round(gross * 100);
    const netCents = Math.round(grossCents / (1 + rate_percent / 100));
    return Promise.resolve({
      net: netCents / 100,
      vat: (grossCents - netCents) / 100,
      gross: grossCents / 100,
    });
  },
});
