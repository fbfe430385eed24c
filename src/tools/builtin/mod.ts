/**
 * The built-in tools. Adding a tool: write `builtin/<name>.ts` exporting one
 * `defineTool({...})`, then add it to this list.
 *
 * @module
 */
import type { Tool } from "../define.ts";
import { getTopCustomers } from "./get_top_customers.ts";
import { lookupCustomer } from "./lookup_customer.ts";

export const BUILTIN_TOOLS: readonly Tool[] = [
  getTopCustomers,
  lookupCustomer,
];
