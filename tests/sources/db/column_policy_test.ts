import assert from "node:assert/strict";
import { hmacPads, policyExpression } from "../../../src/sources/db/column_policy.ts";
import { createTestDatabase, postgresUnavailable } from "./pg_fixture.ts";

Deno.test({
  name:
    "policyExpression() computes in PostgreSQL what the policies promise (HMAC as WebCrypto does)",
  ignore: postgresUnavailable !== undefined,
  async fn() {
    const db = await createTestDatabase();
    try {
      const key = "a-hash-key-of-at-least-thirty-two-chars";
      const pads = await hmacPads(key);
      const keys = { outer: "$1", inner: "$2" };
      const show = async (kind: "mask" | "last4" | "hash", value: string | null) => {
        const expression = policyExpression("v", kind, keys)!;
        const text =
          `SELECT ${expression} AS out FROM (SELECT $3::text AS v, $1::text AS o, $2::text AS i) t`;
        const rows = await db.admin.unsafe(text, [pads.outer, pads.inner, value]);
        return rows[0].out as string | null;
      };
      assert.equal(await show("mask", "jane.doe@example.com"), "j***@example.com");
      assert.equal(await show("mask", "Jane Doe"), "J***");
      assert.equal(await show("mask", "@handle"), "@***");
      assert.equal(await show("mask", null), null);
      assert.equal(await show("last4", "+1 555 010 1234"), "***1234");
      assert.equal(await show("last4", "123"), "***");
      const hmac = await crypto.subtle.sign(
        "HMAC",
        await crypto.subtle.importKey(
          "raw",
          new TextEncoder().encode(key),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        ),
        new TextEncoder().encode("ünï value"),
      );
      const expected = Array.from(new Uint8Array(hmac), (b) => b.toString(16).padStart(2, "0"))
        .join("").slice(0, 32);
      assert.equal(await show("hash", "ünï value"), expected);
      const long = await hmacPads("k".repeat(100));
      assert.equal(long.outer.length, 128, "a long key is hashed to fit the block");
    } finally {
      await db.drop();
    }
  },
});
