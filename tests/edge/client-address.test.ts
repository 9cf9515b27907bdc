/**
 * config/client-address.ts: who the client is, from the TCP peer and, only
 * when that peer is a trusted proxy, its X-Forwarded-For read from the right.
 * Pure: no server.
 */
import { clientAddress, parseAddress, parseTrustedProxies } from "../../config/client-address";

const none = parseTrustedProxies("");
const nginx = parseTrustedProxies("127.0.0.1");
const chain = parseTrustedProxies("127.0.0.1, 10.0.0.0/8, fd00::/8");

describe("parseTrustedProxies", () => {
  test("reads addresses and CIDR ranges of both families; an empty list trusts nobody", () => {
    expect(chain.entries).toEqual(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);
    expect(["10.1.2.3", "10.255.0.1", "fd12::1", "127.0.0.1", "::ffff:127.0.0.1"].map(chain.has)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["11.0.0.1", "127.0.0.2", "fe80::1", "not-an-ip"].map(chain.has)).toEqual([false, false, false, false]);
    expect(none.entries).toEqual([]);
    expect(none.has("127.0.0.1")).toBe(false);
  });

  test.each(["localhost", "10.0.0.0/33", "10.0.0.0/x", "1.2.3.4/8/9", "::1/129", "300.1.1.1"])(
    "refuses %p, naming it",
    (entry) => {
      expect(() => parseTrustedProxies(`127.0.0.1, ${entry}`)).toThrow(`"${entry}" is not an IP address or CIDR range`);
    },
  );
});

describe("parseAddress", () => {
  test("accepts IPv4 and IPv6, with a port some proxies add, and unmaps IPv4-mapped IPv6", () => {
    expect(
      ["203.0.113.7", " 203.0.113.7:5555 ", "[2001:db8::1]:443", "2001:DB8::1", "::ffff:203.0.113.7"].map(parseAddress),
    ).toEqual(["203.0.113.7", "203.0.113.7", "2001:db8::1", "2001:db8::1", "203.0.113.7"]);
  });

  test("refuses everything else", () => {
    expect(["not-an-ip", "9".repeat(5000), "", "1.2.3", "1.2.3.4/32", "unknown", "<script>"].map(parseAddress)).toEqual(
      new Array(7).fill(undefined),
    );
  });
});

describe("clientAddress", () => {
  test("an untrusted peer is the client, whatever its X-Forwarded-For says", () => {
    expect(clientAddress("198.51.100.9", "203.0.113.7", nginx)).toBe("198.51.100.9");
    expect(clientAddress("127.0.0.1", "203.0.113.7", none)).toBe("127.0.0.1");
    expect(clientAddress("::ffff:127.0.0.1", "not-an-ip", none)).toBe("127.0.0.1");
  });

  test("a trusted peer vouches for the rightmost entry; trusted hops are skipped; the first untrusted one wins", () => {
    expect(clientAddress("127.0.0.1", "203.0.113.7", nginx)).toBe("203.0.113.7");
    // The client wrote the left part itself: only what the proxy appended counts.
    expect(clientAddress("127.0.0.1", "1.1.1.1, 203.0.113.7", nginx)).toBe("203.0.113.7");
    expect(clientAddress("127.0.0.1", "1.1.1.1, 203.0.113.7, 10.0.0.5", chain)).toBe("203.0.113.7");
    expect(clientAddress("::ffff:127.0.0.1", "2001:db8::7", nginx)).toBe("2001:db8::7");
  });

  test("an invalid entry is never returned: the walk stops at the hop that sent it", () => {
    expect(clientAddress("127.0.0.1", "not-an-ip", nginx)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "9".repeat(5000), nginx)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "203.0.113.7, garbage, 10.0.0.5", chain)).toBe("10.0.0.5");
  });

  test("no header, or a chain of trusted proxies only: the peer, or the leftmost proxy", () => {
    expect(clientAddress("127.0.0.1", undefined, nginx)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "10.0.0.9, 10.0.0.5", chain)).toBe("10.0.0.9");
  });

  test("a peer that is not an address (a closed socket) gives none", () => {
    expect(clientAddress(undefined, "203.0.113.7", nginx)).toBeUndefined();
  });
});
