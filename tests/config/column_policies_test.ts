import assert from "node:assert/strict";
import { parseColumnPolicies } from "../../src/config/column_policies.ts";

Deno.test("parseColumnPolicies() refuses what it cannot read, naming the entry", () => {
  for (
    const [raw, reason] of [
      ["customers=mask", /\[schema\.\]table\.column/],
      ["a.b.c.d=mask", /\[schema\.\]table\.column/],
      ['"Customers".email=mask', /unquoted/],
      ["customers.email", /deny, mask, last4 or hash/],
      ["customers.email=show", /deny, mask, last4 or hash/],
      ["customers.email=mask,CUSTOMERS.EMAIL=hash", /two policies/],
    ] as const
  ) assert.throws(() => parseColumnPolicies(raw), reason, raw);
  assert.deepEqual(parseColumnPolicies(""), []);
  assert.deepEqual(parseColumnPolicies(" Customers.Email = MASK ,"), [
    { table: "customers", column: "email", kind: "mask" },
  ]);
});
