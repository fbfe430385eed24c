import assert from "node:assert/strict";
import { parseStrictDate } from "../../src/config/strict_date.ts";

const dateTime = { dateTime: true } as const;

Deno.test("parseStrictDate() reads real dates as UTC midnight, leap years by the Gregorian rule", () => {
  assert.equal(parseStrictDate("2027-06-30"), Date.UTC(2027, 5, 30));
  assert.equal(parseStrictDate("2028-02-29"), Date.UTC(2028, 1, 29), "2028 is a leap year");
  assert.equal(parseStrictDate("2000-02-29"), Date.UTC(2000, 1, 29), "divisible by 400");
  assert.equal(parseStrictDate("2027-12-31"), Date.UTC(2027, 11, 31));
  assert.equal(parseStrictDate("2027-04-30"), Date.UTC(2027, 3, 30));
  const early = new Date(0);
  early.setUTCFullYear(50, 0, 1);
  assert.equal(parseStrictDate("0050-01-01"), early.getTime(), "no 1900s shift for years < 100");
});

Deno.test("parseStrictDate() refuses impossible dates instead of rolling them over", () => {
  for (
    const text of [
      "2027-02-30", // would be March 2
      "2026-02-29", // not a leap year
      "2100-02-29", // divisible by 100, not by 400
      "2027-04-31",
      "2027-13-01",
      "2027-00-10",
      "2027-01-00",
      "2027-01-32",
    ]
  ) {
    assert.equal(parseStrictDate(text), undefined, text);
    assert.equal(parseStrictDate(text, dateTime), undefined, text);
    assert.equal(parseStrictDate(`${text}T00:00:00Z`, dateTime), undefined, `${text}T…`);
  }
});

Deno.test("parseStrictDate() refuses impossible times, zones and any other shape", () => {
  for (
    const text of [
      "2027-01-02T24:00Z",
      "2027-01-02T24:00:00Z",
      "2027-01-02T23:60Z",
      "2027-01-02T23:59:60Z", // a leap second
      "2027-12-31T23:59:60+00:00",
      "2027-01-02T03:04:05+24:00",
      "2027-01-02T03:04:05+01:60",
      "2027-01-02T03:04:05", // no zone
      "2027-01-02T03:04:05.Z",
      "2027-01-02T03:04:05.1234567890Z",
      "2027-01-02 03:04:05Z",
      "2027-01-02t03:04:05z",
      "2027-01-02T03:04:05Zjunk",
      "2027-01-02T03:04:05Z\n",
      "2027-01-02x",
      "2027-01-02 ",
      " 2027-01-02",
      "2027-01-02\n",
      "2027-1-2",
      "27-01-02",
      "+002027-01-02",
      "２０２７-０１-０２", // fullwidth digits
      "٢٠٢٧-٠١-٠٢", // Arabic-Indic digits
      "2027-0١-02",
      "",
      "next tuesday",
    ]
  ) {
    assert.equal(parseStrictDate(text, dateTime), undefined, JSON.stringify(text));
  }
  assert.equal(parseStrictDate("2027-01-02T03:04Z"), undefined, "a date-time only when asked");
});

Deno.test("parseStrictDate() reads date-times with their zone, seconds and fraction optional", () => {
  assert.equal(parseStrictDate("2027-01-02T03:04Z", dateTime), Date.UTC(2027, 0, 2, 3, 4));
  assert.equal(
    parseStrictDate("2027-01-02T03:04:05+01:00", dateTime),
    Date.UTC(2027, 0, 2, 2, 4, 5),
  );
  assert.equal(
    parseStrictDate("2027-01-02T03:04:05-05:30", dateTime),
    Date.UTC(2027, 0, 2, 8, 34, 5),
  );
  assert.equal(
    parseStrictDate("2027-01-02T03:04:05.123456789Z", dateTime),
    Date.UTC(2027, 0, 2, 3, 4, 5, 123),
  );
  assert.equal(
    parseStrictDate("2027-01-02T03:04:05.5Z", dateTime),
    Date.UTC(2027, 0, 2, 3, 4, 5, 500),
  );
  assert.equal(
    parseStrictDate("2028-02-29T23:59:59Z", dateTime),
    Date.UTC(2028, 1, 29, 23, 59, 59),
  );
});
