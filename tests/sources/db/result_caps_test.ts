import assert from "node:assert/strict";
import { jsonSize, RowCollector } from "../../../src/sources/db/result_caps.ts";

Deno.test("jsonSize() is the length of the JSON a caller receives, bigints as text", () => {
  const row = { id: 1, name: "Ada", total: 12.5, note: null };
  assert.equal(jsonSize(row), JSON.stringify(row).length);
  // A bigint column counts as a JSON string of its digits.
  assert.equal(jsonSize({ n: 12345678901234567890n }), '{"n":"12345678901234567890"}'.length);
  assert.equal(jsonSize({ nested: [1n, { m: 2n }] }), '{"nested":["1",{"m":"2"}]}'.length);
  assert.equal(jsonSize(undefined), 0);
});

Deno.test("RowCollector stops at the row cap and at the byte cap, and says which", () => {
  const byRows = new RowCollector({ maxRows: 2, maxBytes: 1000 });
  assert.deepEqual([1, 2, 3].map((id) => byRows.add({ id })), [true, true, false]);
  assert.deepEqual(byRows.truncated, { reason: "max_rows", limit: 2 });
  assert.equal(byRows.rows.length, 2);

  const row = { id: 10n };
  const size = jsonSize(row);
  const byBytes = new RowCollector({ maxRows: 100, maxBytes: size * 2 + 1 });
  assert.deepEqual([1, 2, 3].map(() => byBytes.add(row)), [true, true, false]);
  assert.deepEqual(byBytes.truncated, { reason: "max_bytes", limit: size * 2 + 1 });
});
