/**
 * Who the client is: the TCP peer, unless that peer is a configured trusted
 * proxy (TRUSTED_PROXIES), in which case the proxy's X-Forwarded-For is read
 * from the right, and the rightmost address that is not a trusted proxy is
 * the client. A value that is not an IP address is never returned.
 *
 * Pure and dependency-free (node:net only) so that every server that meets
 * clients directly can use it: the API edge (edge/) today, the realtime hub
 * next. It lives in config/ because every part may import config.
 */
import net from "node:net";

/** A parsed TRUSTED_PROXIES list: addresses and CIDR ranges, IPv4 and IPv6. */
export type TrustedProxies = {
  /** The entries as configured, normalised (for messages and tests). */
  readonly entries: readonly string[];
  has(address: string): boolean;
};

export class TrustedProxiesError extends Error {}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) is 1.2.3.4. */
function normalise(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** An address as written in an X-Forwarded-For entry or by a socket, or undefined if it is none. */
export function parseAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let text = value.trim();
  // Some proxies add the client's port: [v6]:port, or v4:port.
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(text)) text = text.slice(0, text.lastIndexOf(":"));
  return net.isIP(text) ? normalise(text) : undefined;
}

/**
 * Parses a comma-separated list of addresses and CIDR ranges
 * (`127.0.0.1, 10.0.0.0/8, ::1, fd00::/8`); an empty list trusts nobody.
 * Throws TrustedProxiesError naming the first entry that is neither.
 */
export function parseTrustedProxies(list: string | readonly string[]): TrustedProxies {
  const items = (typeof list === "string" ? list.split(",") : list).map((s) => s.trim()).filter(Boolean);
  const blocks = new net.BlockList();
  const entries: string[] = [];
  for (const item of items) {
    const [addressPart, prefixPart, ...rest] = item.split("/");
    const address = parseAddress(addressPart);
    const family = address ? net.isIP(address) : 0;
    const maxPrefix = family === 6 ? 128 : 32;
    const prefix = prefixPart === undefined ? maxPrefix : Number(prefixPart);
    if (
      !address ||
      rest.length ||
      (prefixPart !== undefined && !/^\d{1,3}$/.test(prefixPart)) ||
      prefix < 0 ||
      prefix > maxPrefix
    )
      throw new TrustedProxiesError(`"${item}" is not an IP address or CIDR range (e.g. 10.0.0.0/8)`);
    const type = family === 6 ? "ipv6" : "ipv4";
    if (prefix === maxPrefix) blocks.addAddress(address, type);
    else blocks.addSubnet(address, prefix, type);
    entries.push(prefix === maxPrefix ? address : `${address}/${prefix}`);
  }
  return {
    entries,
    has(address: string): boolean {
      const parsed = parseAddress(address);
      if (!parsed) return false;
      return blocks.check(parsed, net.isIP(parsed) === 6 ? "ipv6" : "ipv4");
    },
  };
}

/**
 * The client's address for a request that arrived from `peer` (the socket's
 * remote address) with the X-Forwarded-For `header` (all of its lines joined
 * with commas, as Node does). The header counts only when the peer is a
 * trusted proxy; then it is read from the right, each trusted hop vouching
 * for the entry before it, and the first untrusted entry is the client. An
 * entry that is not an address stops the walk at the hop that sent it (the
 * garbage is never returned); a chain of trusted proxies only ends at its
 * leftmost entry. Undefined only when the peer itself is not an address (a
 * closed socket).
 */
export function clientAddress(
  peer: string | undefined,
  header: string | undefined,
  trusted: TrustedProxies,
): string | undefined {
  let current = parseAddress(peer);
  if (!current || !header || !trusted.has(current)) return current;
  const entries = header.split(",");
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!.trim();
    if (entry === "") continue;
    const address = parseAddress(entry);
    if (!address) return current;
    if (!trusted.has(address)) return address;
    current = address;
  }
  return current;
}
