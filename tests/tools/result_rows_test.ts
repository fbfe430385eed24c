import assert from "node:assert/strict";
import { z } from "zod";
import { ResultRows } from "../../src/tools/result_rows.ts";

const asJsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: "output", unrepresentable: "any" });

Deno.test("result rows: clients see the JSON Schema the record schema gave", () => {
  assert.deepEqual(
    asJsonSchema(z.object({ rows: ResultRows })),
    asJsonSchema(z.object({ rows: z.array(z.record(z.string(), z.unknown())) })),
  );
});

Deno.test("result rows: each row is kept as it is, not rebuilt", () => {
  const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, name: `n${i}`, n: 10n ** 20n }));
  const checked = ResultRows.parse(rows);
  assert.equal(checked.length, rows.length);
  for (let i = 0; i < rows.length; i++) assert.equal(checked[i], rows[i]);
  // A key a JSON parser makes an own property stays one, untouched.
  const odd = JSON.parse('[{"__proto__":{"admin":true},"constructor":1}]');
  const [row] = ResultRows.parse(odd);
  assert.equal(row, odd[0]);
  assert.deepEqual(Object.keys(row), ["__proto__", "constructor"]);
  assert.equal(ResultRows.parse([]).length, 0);
});

Deno.test("result rows: anything but an array of objects is refused", () => {
  for (
    const bad of [
      [1],
      ["row"],
      [null],
      [undefined],
      [[1, 2]],
      [{ id: 1 }, 7],
      { 0: { id: 1 }, length: 1 },
      null,
      "rows",
    ]
  ) {
    assert.equal(ResultRows.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
