/**
 * `lookup_customer`: one customer by id (a primary-key lookup).
 *
 * @module
 */
import { z } from "zod";
import { sql } from "../../sources/db/sql_source.ts";
import { defineTool } from "../define.ts";
import { ToolError } from "../errors.ts";

export const lookupCustomer = defineTool({
  name: "lookup_customer",
  description: "Look up one customer by id: name and email.",
  input: z.strictObject({
    id: z.int().min(1).max(2_147_483_647).describe("The customer's id."),
  }),
  output: z.object({ id: z.int(), name: z.string(), email: z.string() }),
  annotations: { title: "Look up a customer", readOnlyHint: true, openWorldHint: false },
  async handler({ id }, ctx) {
    const { rows: [row] } = await ctx.sql.query<{ id: number; name: string; email: string }>(
      sql`SELECT id, name, email FROM customers WHERE id = ${id}`,
    );
    if (!row) throw new ToolError("not_found", "Customer not found");
    return row;
  },
});
