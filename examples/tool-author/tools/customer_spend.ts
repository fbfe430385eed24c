/**
 * `customer_spend`: one customer's completed orders and what they add up to,
 * read from the SQL database (the embedded demo data unless `DB_URL` names
 * yours).
 *
 * @module
 */
import { defineTool, sql, ToolError, z } from "@mcp-tool-server/server";

export const customerSpend = defineTool({
  name: "customer_spend",
  description:
    "How many completed orders one customer has and their total amount, by the customer's numeric id.",
  // strictObject: a misspelled field is refused (400) instead of silently ignored.
  input: z.strictObject({
    customer_id: z.int().min(1).max(2_147_483_647).describe("The customer's id."),
  }),
  output: z.object({
    customer_id: z.int(),
    name: z.string(),
    completed_orders: z.int(),
    total: z.number(),
  }),
  annotations: { title: "Customer spend", readOnlyHint: true, openWorldHint: false },
  async handler({ customer_id }, ctx) {
    // Every ${value} in sql`` is a bound parameter, never SQL text.
    const { rows } = await ctx.sql.query<
      { name: string; completed_orders: number; total: number }
    >(sql`
      SELECT c.name,
             COUNT(o.id)::int AS completed_orders,
             COALESCE(SUM(o.amount), 0)::float8 AS total
      FROM customers c
      LEFT JOIN orders o ON o.customer_id = c.id AND o.status = 'completed'
      WHERE c.id = ${customer_id}
      GROUP BY c.id, c.name`);
    if (rows.length === 0) {
      // A ToolError's message is shown to the caller (404 here); any other
      // error is logged and answered as a generic 500.
      throw new ToolError("not_found", "Customer not found");
    }
    return { customer_id, ...rows[0] };
  },
});
