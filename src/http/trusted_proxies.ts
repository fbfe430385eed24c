/**
 * Which peers may speak for the client: `TRUSTED_PROXIES`, a list of IP
 * addresses and CIDR blocks (IPv4 and IPv6). `X-Forwarded-For` and
 * `X-Forwarded-Host` count only on a connection from one of them; from any
 * other peer they are whatever the client chose to write.
 *
 * The client address is the right-most `X-Forwarded-For` entry that is not a
 * trusted proxy: each trusted hop appended the address it saw, so walking
 * from the right past the trusted ones reaches the first address no trusted
 * hop can vouch beyond. Entries further left were written by the client.
 *
 * Addresses are parsed strictly (see `net/ip_ranges.ts`): an IPv4 address
 * mapped into IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports for
 * an IPv4 peer) is the IPv4 address, and an entry with a port, a zone or a
 * short IPv4 form is not an address.
 *
 * @module
 */
import { type Address, parseAddress } from "../net/ip_ranges.ts";

/** What the HTTP layer asks of `TRUSTED_PROXIES`. */
export interface ProxyTrust {
  /** Whether any proxy is trusted at all (none: forwarded headers are never read). */
  readonly enabled: boolean;
  /** Whether the socket peer `peer` is a trusted proxy. */
  trusts(peer: string | undefined): boolean;
  /**
   * The client's address: the socket peer, or, when the peer is trusted, the
   * right-most `X-Forwarded-For` entry that is not (canonical form: an IPv4
   * address mapped into IPv6 is given as IPv4). An entry that is not an IP
   * address stops the walk at the trusted hop that passed it on.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | null): string | undefined;
}

/**
 * Builds the trust from canonical entries (see `normalizeCidr` in `net/ip_ranges.ts`:
 * the config has checked them).
 *
 * @example Spoofed from an untrusted peer, honoured from a trusted one
 * ```ts
 * import { createProxyTrust } from "./trusted_proxies.ts";
 * import assert from "node:assert/strict";
 *
 * const trust = createProxyTrust(["10.0.0.0/8"]);
 * assert.equal(trust.clientAddress("203.0.113.5", "198.51.100.1"), "203.0.113.5");
 * assert.equal(trust.clientAddress("10.0.0.2", "198.51.100.1, 10.0.0.9"), "198.51.100.1");
 * ```
 */
export function createProxyTrust(entries: readonly string[]): ProxyTrust {
  const ranges = entries.map((entry) => {
    const [address, prefix] = entry.split("/");
    return [parseAddress(address)!, Number(prefix)] as const;
  });
  const inRanges = (address: Address) =>
    ranges.some(([range, prefix]) =>
      range.kind() === address.kind() && address.match(range as never, prefix)
    );
  // Peers are the same few proxies on every request: each is judged once.
  // Bounded: past TRUST_VERDICTS_MAX distinct peers it starts over.
  const verdicts = new Map<string, boolean>();
  function trusts(peer: string | undefined): boolean {
    if (peer === undefined || ranges.length === 0) return false;
    let trusted = verdicts.get(peer);
    if (trusted === undefined) {
      const address = parseAddress(peer);
      trusted = address !== undefined && inRanges(address);
      if (verdicts.size >= TRUST_VERDICTS_MAX) verdicts.clear();
      verdicts.set(peer, trusted);
    }
    return trusted;
  }
  // A connection's peer is asked for on every request it carries: its
  // canonical form is kept like the verdicts are (parsing is not free).
  const canonicals = new Map<string, string>();
  function canonical(peer: string): string {
    let text = canonicals.get(peer);
    if (text === undefined) {
      text = parseAddress(peer)?.toString() ?? peer;
      if (canonicals.size >= TRUST_VERDICTS_MAX) canonicals.clear();
      canonicals.set(peer, text);
    }
    return text;
  }
  return {
    enabled: ranges.length > 0,
    trusts,
    clientAddress(peer, forwardedFor) {
      const direct = peer === undefined ? undefined : canonical(peer);
      if (forwardedFor === null || !trusts(peer)) return direct;
      // Several X-Forwarded-For headers arrive joined by ", ", in order: one list.
      const hops = forwardedFor.split(",");
      let client = direct;
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i].trim();
        if (hop === "") continue;
        const address = parseAddress(hop);
        // Not an address: nothing to its left can be vouched for.
        if (!address) return client;
        client = address.toString();
        if (!inRanges(address)) return client;
      }
      // Every hop is a trusted proxy: the left-most is the closest to the client.
      return client;
    },
  };
}

/** How many distinct peers keep their verdict. */
const TRUST_VERDICTS_MAX = 1024;
