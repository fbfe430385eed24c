/**
 * `get_customer`: one customer from the upstream REST API (`GET /customers/{id}`).
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../../sources/http/path.ts";
import { defineTool } from "../define.ts";

/** What the tool returns; the upstream's extra fields are dropped. */
export const Customer = z.object({ id: z.int(), name: z.string(), email: z.string() });

export const getCustomer = defineTool({
  name: "get_customer",
  description:
    "Get one customer (id, name, email) from the customer API by the customer's numeric id.",
  input: z.strictObject({
    customer_id: z.int().min(1).max(2_147_483_647).describe("The customer's id."),
  }),
  output: Customer,
  annotations: { title: "Get a customer", readOnlyHint: true, openWorldHint: true },
  async handler({ customer_id }, ctx) {
    const body = await ctx.api.get(apiPath`/customers/${customer_id}`, {
      notFound: "Customer not found",
    });
    const customer = Customer.safeParse(body);
    if (!customer.success) {
      // The upstream's contract broke: its fault, not the caller's input.
      throw new Error("Upstream customer has an unexpected shape", { cause: customer.error });
    }
    return { id: customer.data.id, name: customer.data.name, email: customer.data.email };
  },
});
