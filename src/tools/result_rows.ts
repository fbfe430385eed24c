/**
 * The output schema of a database result's rows, for the tools that return
 * them as the database gave them: tools-file `sql` tools, `sql_query` and
 * `sample_rows`.
 *
 * Why not `z.array(z.record(z.string(), z.unknown()))`: every call's output is
 * checked against its tool's schema (tools/invoke.ts), and zod checks a record
 * key by key and builds a new object for it, so a result of many rows cost
 * more CPU in its check than in the rest of its handling (docs/BENCHMARKS.md,
 * session 17), to re-check rows the driver had just built. This schema checks
 * that each row is an object, keeps the row as it is, and gives clients the
 * same JSON Schema as the record did.
 *
 * @example
 * ```ts
 * import { ResultRows } from "./result_rows.ts";
 * import assert from "node:assert/strict";
 *
 * const rows = [{ id: 1, name: "Ada" }];
 * assert.equal(ResultRows.parse(rows)[0], rows[0]);
 * assert.equal(ResultRows.safeParse([42]).success, false);
 * ```
 *
 * @module
 */
import { z } from "zod";

/** A row: a plain object (not an array, not null). */
function isRow(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A result's rows (each kept as it is), advertised as an array of objects. */
export const ResultRows = z.array(
  z.custom<Record<string, unknown>>(isRow, "Expected a row object").meta({
    type: "object",
    propertyNames: { type: "string" },
    additionalProperties: {},
  }),
);
