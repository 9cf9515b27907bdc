/**
 * The client address a socket's row records (api.websocket_connections.ip_address)
 * behind proxies: X-Forwarded-For is believed only from a trusted proxy
 * (REALTIME_TRUSTED_PROXIES), and then its rightmost address that is not a
 * trusted proxy is the client. Real sockets from 127.0.0.1 (trusted here) and
 * from 127.0.0.2 (not trusted), a hub with PostgreSQL and PostgREST; and the
 * rule itself on address lists.
 */
import { startRealtimeHub, type RealtimeHub } from "../../realtime/hub";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { connectHub, type HubClient } from "../helpers/realtime-client";
import { until } from "../helpers/until";
import { freePort, TEST_JWT_SECRET } from "../setup/cluster";

let db: TestDatabase;
let api: TestApi;
/** Trusts 127.0.0.1 (a proxy on the same host) and 10.0.0.0/8 (proxies inside the network). */
let behindProxy: RealtimeHub;
/** Trusts nobody (the default). */
let direct: RealtimeHub;
const open: HubClient[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  const options = {
    connectionString: db.connections.worker,
    host: "127.0.0.1",
    jwtSecret: TEST_JWT_SECRET,
    recordsFlushMs: 100,
  };
  behindProxy = await startRealtimeHub({
    ...options,
    port: await freePort(),
    trustedProxies: "127.0.0.1, 10.0.0.0/8",
  });
  direct = await startRealtimeHub({ ...options, port: await freePort() });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await behindProxy?.stop();
  await direct?.stop();
  await api?.stop();
  await db?.drop();
});

/** A new user's socket on `hub` from `from`, with `forwardedFor`; resolves with the address its row records. */
async function recordedAddress(hub: RealtimeHub, from: string, forwardedFor?: string): Promise<string> {
  const user = await registerClient(api);
  const client = await connectHub(hub.url, user.token, "query", {
    localAddress: from,
    headers: forwardedFor === undefined ? {} : { "X-Forwarded-For": forwardedFor },
  });
  open.push(client);
  return until("the socket's row", async () => {
    const [row] = await db.query<{ ip_address: string }>(
      "select ip_address from api.websocket_connections where user_id = $1",
      [user.user.id],
    );
    return row?.ip_address;
  });
}

test("from a trusted proxy, the forwarded client is recorded: the rightmost address that is not a trusted proxy", async () => {
  expect(await recordedAddress(behindProxy, "127.0.0.1", "203.0.113.9")).toBe("203.0.113.9");
  // What the client wrote itself (left) is not believed; proxies of the network (right) are passed over.
  expect(await recordedAddress(behindProxy, "127.0.0.1", "198.51.100.7, 203.0.113.9, 10.0.0.5")).toBe("203.0.113.9");
  expect(await recordedAddress(behindProxy, "127.0.0.1", "2001:DB8::7")).toBe("2001:db8::7");
  // No header: the proxy itself.
  expect(await recordedAddress(behindProxy, "127.0.0.1")).toBe("127.0.0.1");
});

test("from a peer that is not a trusted proxy, the peer is recorded whatever X-Forwarded-For it sends", async () => {
  expect(await recordedAddress(behindProxy, "127.0.0.2", "203.0.113.9")).toBe("127.0.0.2");
  // By default nobody is trusted.
  expect(await recordedAddress(direct, "127.0.0.1", "203.0.113.9")).toBe("127.0.0.1");
});
