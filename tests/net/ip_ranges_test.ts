import assert from "node:assert/strict";
import { normalizeCidr, parseAddress } from "../../src/net/ip_ranges.ts";

Deno.test("parseAddress() takes IPv4 and IPv6 and unwraps IPv4-mapped IPv6", () => {
  assert.equal(parseAddress("203.0.113.5")?.toString(), "203.0.113.5");
  assert.equal(parseAddress("2001:DB8::1")?.toString(), "2001:db8::1");
  assert.equal(parseAddress("::ffff:203.0.113.5")?.toString(), "203.0.113.5");
  assert.equal(parseAddress("::ffff:cb00:7105")?.toString(), "203.0.113.5");
  assert.equal(parseAddress("::1")?.toString(), "::1");
});

Deno.test("parseAddress() refuses what no proxy writes: short, octal, hex IPv4, ports, zones, names", () => {
  for (
    const bad of [
      "",
      "unknown",
      "10.1",
      "0x7f.0.0.1",
      "2130706433",
      "203.0.113.5:443",
      "[2001:db8::1]",
      "[2001:db8::1]:443",
      "fe80::1%eth0",
      "proxy.internal",
      "203.0.113.256",
      " 203.0.113.5",
      "203.0.113.5/32",
    ]
  ) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

Deno.test("normalizeCidr() gives canonical blocks and refuses bad prefixes", () => {
  assert.equal(normalizeCidr("10.0.0.1"), "10.0.0.1/32");
  assert.equal(normalizeCidr("10.0.0.0/8"), "10.0.0.0/8");
  assert.equal(normalizeCidr("2001:DB8::/32"), "2001:db8::/32");
  assert.equal(normalizeCidr("::1"), "::1/128");
  assert.equal(normalizeCidr("::ffff:10.0.0.0/104"), "10.0.0.0/8");
  for (
    const bad of [
      "10.0.0.0/33",
      "10.0.0.0/",
      "10.0.0.0/-1",
      "::/129",
      "::ffff:10.0.0.0/95",
      "x/8",
      "*",
    ]
  ) {
    assert.equal(normalizeCidr(bad), undefined, bad);
  }
});
