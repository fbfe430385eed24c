/**
 * IP addresses and CIDR blocks, parsed strictly with `ipaddr.js` (the parser
 * Express's `proxy-addr` uses). Strictly: IPv4 in four decimal parts only
 * (`ipaddr.js` alone also takes `10.1`, octal and hex forms, which no proxy
 * writes and which would let one address be spelt many ways), no IPv6 zone,
 * and an IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`) is the IPv4 one.
 *
 * @module
 */
import ipaddr from "ipaddr.js";

/** A parsed address. */
export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * A strictly parsed IP address (IPv4-mapped IPv6 unwrapped to IPv4), or
 * undefined for anything else (ports, brackets, zones, `unknown`, short or
 * octal IPv4 forms).
 *
 * @example
 * ```ts
 * import { parseAddress } from "./ip_ranges.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseAddress("::ffff:10.0.0.1")?.toString(), "10.0.0.1");
 * assert.equal(parseAddress("10.1"), undefined);
 * ```
 */
export function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes(":") || text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/**
 * An address, or `address/prefix` (a `TRUSTED_PROXIES` entry), as a
 * canonical CIDR string, or undefined when it is neither. An IPv4-mapped
 * IPv6 block (`::ffff:10.0.0.0/104`) becomes its IPv4 block.
 *
 * @example
 * ```ts
 * import { normalizeCidr } from "./ip_ranges.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(normalizeCidr("10.0.0.1"), "10.0.0.1/32");
 * assert.equal(normalizeCidr("FD00::/8"), "fd00::/8");
 * assert.equal(normalizeCidr("10.0.0.0/33"), undefined);
 * ```
 */
export function normalizeCidr(entry: string): string | undefined {
  const slash = entry.indexOf("/");
  const address = parseAddress(slash === -1 ? entry : entry.slice(0, slash));
  if (!address) return undefined;
  const max = address.kind() === "ipv4" ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const text = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text)) return undefined;
    prefix = Number(text);
    // A mapped IPv6 block counts its prefix over the 96 bits in front of the IPv4 part.
    const mapped = address.kind() === "ipv4" && entry.includes(":");
    if (mapped) prefix -= 96;
    if (prefix < 0 || prefix > max || (mapped && Number(text) > 128)) return undefined;
  }
  return `${address.toString()}/${prefix}`;
}
