/**
 * The built-in tools. Adding a tool: write `builtin/<name>.ts` exporting one
 * `defineTool({...})`, then add it to the list of the source it needs.
 *
 * @module
 */
import type { Tool } from "../define.ts";
import { getCustomer } from "./get_customer.ts";
import { getOrders } from "./get_orders.ts";
import { getTopCustomers } from "./get_top_customers.ts";
import { lookupCustomer } from "./lookup_customer.ts";

/** Tools that read the SQL source. */
export const SQL_TOOLS: readonly Tool[] = [
  getTopCustomers,
  lookupCustomer,
];

/** Tools that read the upstream REST API; served only when one is configured. */
export const API_TOOLS: readonly Tool[] = [
  getCustomer,
  getOrders,
];

/** Every built-in tool. */
export const BUILTIN_TOOLS: readonly Tool[] = [...SQL_TOOLS, ...API_TOOLS];
