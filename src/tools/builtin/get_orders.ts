/**
 * `get_orders`: a customer's orders from the upstream REST API
 * (`GET /customers/{id}/orders?status=…`).
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../../sources/http/path.ts";
import { defineTool } from "../define.ts";

const Order = z.object({
  id: z.int(),
  amount: z.number(),
  status: z.enum(["pending", "completed", "cancelled"]),
  created_at: z.string(),
});
const Orders = z.object({ orders: z.array(Order) });

export const getOrders = defineTool({
  name: "get_orders",
  description:
    "List a customer's orders (id, amount, status, created_at) from the order API, newest first, optionally only those with one status.",
  input: z.strictObject({
    customer_id: z.int().min(1).max(2_147_483_647).describe("The customer's id."),
    status: z.enum(["all", "pending", "completed", "cancelled"]).default("all")
      .describe("Only orders with this status (default: all)."),
  }),
  output: z.object({
    customer_id: z.int(),
    status: z.string(),
    orders: z.array(Order),
  }),
  annotations: { title: "Get a customer's orders", readOnlyHint: true, openWorldHint: true },
  async handler({ customer_id, status }, ctx) {
    const body = await ctx.api.get(apiPath`/customers/${customer_id}/orders`, {
      query: { status },
      notFound: "Customer not found",
    });
    const parsed = Orders.safeParse(body);
    if (!parsed.success) {
      throw new Error("Upstream orders have an unexpected shape", { cause: parsed.error });
    }
    return {
      customer_id,
      status,
      orders: parsed.data.orders.map(({ id, amount, status, created_at }) => ({
        id,
        amount,
        status,
        created_at,
      })),
    };
  },
});
