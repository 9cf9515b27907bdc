/**
 * The client's address of a WebSocket upgrade, as the connection rows record
 * it (README, Realtime: WebSocket hub): the TCP peer, unless the peer is a
 * trusted proxy (REALTIME_TRUSTED_PROXIES); then the rightmost
 * X-Forwarded-For address that is not a trusted proxy.
 */
import net from "node:net";
import { normalizeAddress, parseAddressRanges } from "../config/address-ranges";

/** Whether an address is one of the trusted proxies. */
export type ProxyTrust = (address: string) => boolean;

/** The trust of a list of addresses and CIDR ranges (throws naming a wrong entry); empty: nobody is trusted. */
export function trustedProxies(list: string | readonly string[]): ProxyTrust {
  const ranges = parseAddressRanges(list);
  if (!ranges.length) return () => false;
  const blocks = new net.BlockList();
  for (const range of ranges) blocks.addSubnet(range.address, range.prefix, range.family);
  return (address) => {
    const normalized = normalizeAddress(address);
    const version = net.isIP(normalized);
    return version !== 0 && blocks.check(normalized, version === 4 ? "ipv4" : "ipv6");
  };
}

/**
 * The peer, when it is not a trusted proxy (whatever X-Forwarded-For it sends). Else
 * X-Forwarded-For is read from the right: each trusted proxy is passed over, and the first
 * address that is not one is the client (everything left of it was written by that client,
 * and could be anything). When all of them are trusted proxies, the leftmost. An entry that
 * is not an IP address ends the walk at the address before it.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  isTrusted: ProxyTrust,
): string | null {
  if (!peer) return null;
  let client = normalizeAddress(peer);
  if (forwardedFor === undefined || !isTrusted(client)) return client;
  const hops = (typeof forwardedFor === "string" ? forwardedFor : forwardedFor.join(","))
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (!net.isIP(hop)) return client;
    client = hop;
    if (!isTrusted(hop)) return hop;
  }
  return client;
}
