/**
 * Strict parsing of the dates operators write in config (the keys file's
 * `expires`, a deprecated tool's `sunset`). `Date.parse` and `new Date()`
 * roll an impossible date over (`2027-02-30` becomes March 2) or accept
 * forms that differ between engines; a typo in an expiry must be refused at
 * start, not silently move it. Each field is checked on its own: ASCII
 * digits only, months 01–12, days within their month (leap years by the
 * Gregorian rule), hours 00–23, minutes and seconds 00–59 (no leap second,
 * no `24:00`), and nothing after the zone.
 *
 * @module
 */

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|([+-])([0-9]{2}):([0-9]{2}))$/;

/**
 * Epoch milliseconds of `text`, or `undefined` when it is not a real date.
 * `YYYY-MM-DD` is UTC midnight; with `dateTime: true`, an ISO 8601 / RFC
 * 3339 date-time with a zone (`Z` or `±HH:MM`; seconds and a fraction
 * optional) is accepted too.
 *
 * @example Impossible dates are refused, not rolled over
 * ```ts
 * import { parseStrictDate } from "./strict_date.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseStrictDate("2028-02-29"), Date.UTC(2028, 1, 29));
 * assert.equal(parseStrictDate("2027-02-30"), undefined);
 * assert.equal(parseStrictDate("2026-02-29"), undefined);
 * assert.equal(
 *   parseStrictDate("2027-01-02T03:04:05+01:00", { dateTime: true }),
 *   Date.UTC(2027, 0, 2, 2, 4, 5),
 * );
 * assert.equal(parseStrictDate("2027-01-02T24:00Z", { dateTime: true }), undefined);
 * assert.equal(parseStrictDate("2027-01-02T03:04Z"), undefined, "a date only, unless asked");
 * ```
 */
export function parseStrictDate(
  text: string,
  options: { readonly dateTime?: boolean } = {},
): number | undefined {
  const date = DATE.exec(text);
  if (date) return at(+date[1], +date[2], +date[3], 0, 0, 0, 0, 0);
  if (!options.dateTime) return undefined;
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = "0", fraction = "", zone, sign, oh, om] = m;
  let offsetMinutes = 0;
  if (zone !== "Z") {
    if (+oh > 23 || +om > 59) return undefined;
    offsetMinutes = (sign === "-" ? -1 : 1) * (+oh * 60 + +om);
  }
  // Milliseconds: the first three digits of the fraction (finer ones are dropped).
  const ms = fraction === "" ? 0 : +fraction.slice(0, 3).padEnd(3, "0");
  return at(+y, +mo, +d, +h, +mi, +s, ms, offsetMinutes);
}

/** The instant of valid fields, else undefined. */
function at(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  offsetMinutes: number,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime() - offsetMinutes * 60_000;
}

function daysIn(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
