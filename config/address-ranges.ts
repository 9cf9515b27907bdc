/**
 * Lists of IP addresses and CIDR ranges in settings (REALTIME_TRUSTED_PROXIES):
 * "127.0.0.1, 10.0.0.0/8, ::1, fc00::/7". Parsed and checked here, so that
 * a wrong entry stops start-up with the entry named.
 */
import net from "node:net";

export type AddressRange = { family: "ipv4" | "ipv6"; address: string; prefix: number };

/** An address as the hub compares it: an IPv4-mapped IPv6 address (::ffff:1.2.3.4) is its IPv4 address. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return (mapped ? mapped[1]! : address).toLowerCase();
}

/** One entry: an address (a range of one) or address/prefix. */
export function parseAddressRange(entry: string): AddressRange | { error: string } {
  const [rawAddress = "", rawPrefix, ...rest] = entry.trim().split("/");
  const address = normalizeAddress(rawAddress);
  const version = net.isIP(address);
  if (!version || rest.length) return { error: `"${entry}" is not an IP address or CIDR range` };
  // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range of its last 32 bits.
  const mapped = version === 4 && net.isIP(rawAddress) === 6;
  const bits = mapped ? 128 : version === 4 ? 32 : 128;
  const prefix = rawPrefix === undefined ? bits : /^\d{1,3}$/.test(rawPrefix) ? Number(rawPrefix) : -1;
  if (prefix < (mapped ? 96 : 0) || prefix > bits)
    return { error: `"${entry}": the prefix must be a number from ${mapped ? 96 : 0} to ${bits}` };
  return { family: version === 4 ? "ipv4" : "ipv6", address, prefix: mapped ? prefix - 96 : prefix };
}

/** A comma-separated list (spaces allowed, empty entries ignored); throws naming the first wrong entry. */
export function parseAddressRanges(list: string | readonly string[]): AddressRange[] {
  const entries = (typeof list === "string" ? list.split(",") : list).map((e) => e.trim()).filter(Boolean);
  return entries.map((entry) => {
    const range = parseAddressRange(entry);
    if ("error" in range) throw new Error(range.error);
    return range;
  });
}
