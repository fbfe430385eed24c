/**
 * `get_top_customers`: customers ranked by the total of their orders.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../define.ts";
import { sql } from "../../sources/db/sql_source.ts";

const Customer = z.object({ name: z.string(), total: z.number() });

export const getTopCustomers = defineTool({
  name: "get_top_customers",
  description:
    "List customers ranked by the total amount of their orders, highest first. Pages with limit and offset; total_count is the number of customers with orders.",
  input: z.strictObject({
    limit: z.int().min(1).max(1000).default(10).describe("How many customers to return (1-1000)."),
    offset: z.int().min(0).max(1_000_000).default(0).describe("How many to skip, for paging."),
  }),
  output: z.object({
    customers: z.array(Customer),
    limit: z.int(),
    offset: z.int(),
    total_count: z.int(),
  }),
  annotations: { title: "Top customers", readOnlyHint: true, openWorldHint: false },
  async handler({ limit, offset }, ctx) {
    // One round trip: the window count is taken over the groups before LIMIT.
    const { rows } = await ctx.sql.query<{ name: string; total: number; total_count: number }>(
      sql`
      SELECT c.name, SUM(o.amount)::float8 AS total, COUNT(*) OVER ()::int AS total_count
      FROM orders o JOIN customers c ON c.id = o.customer_id
      GROUP BY c.id, c.name
      ORDER BY total DESC, c.id
      LIMIT ${limit} OFFSET ${offset}`,
    );
    let totalCount = rows[0]?.total_count;
    if (totalCount === undefined) {
      // Past the last page there is no row to carry the count.
      const { rows: [row] } = await ctx.sql.query<{ n: number }>(
        sql`SELECT COUNT(DISTINCT customer_id)::int AS n FROM orders`,
        { name: "count_customers_with_orders" },
      );
      totalCount = row.n;
    }
    return {
      customers: rows.map((r) => ({ name: r.name, total: r.total })),
      limit,
      offset,
      total_count: totalCount,
    };
  },
});
