/**
 * Overhead of the gateway's policies (breaker → retry → timeout, and the
 * abort-signal plumbing) on a successful call: sequential GET status calls
 * against an in-process simulator through the gateway and through the bare
 * midtrans-client in the same run, in alternating rounds so that drift of a
 * shared machine hits both alike. Used by `npm run bench:gateway` and
 * `npm run bench:payments`.
 */
import { readConfig } from "../config/settings";
import { startSimulator } from "../simulator";
import { createCoreApi } from "../worker/payments/midtrans-client";
import { createMidtransGateway } from "../worker/payments/midtrans-gateway";

const SERVER_KEY = "SB-Mid-server-BENCHKEY";
const ROUNDS = 10;

export type GatewayOverhead = {
  /** Status calls per path (bare, gateway). */
  calls: number;
  bareMsPerCall: number;
  gatewayMsPerCall: number;
  /** gateway time ÷ bare time. */
  ratio: number;
  overheadMsPerCall: number;
};

export async function measureGatewayOverhead(calls: number): Promise<GatewayOverhead> {
  const simulator = await startSimulator({
    port: 0,
    host: "127.0.0.1",
    serverKey: SERVER_KEY,
    notificationUrl: undefined,
    notificationRetryScale: 0.001,
    notificationTimeoutMs: 1000,
  });
  try {
    // The defaults of production (real timeouts and budgets), only pointed at the simulator.
    const settings = readConfig({ MIDTRANS_BASE_URL: simulator.url }).midtrans;
    const gateway = createMidtransGateway({ serverKey: SERVER_KEY, settings });
    const bare = createCoreApi({ serverKey: SERVER_KEY, baseUrl: simulator.url });
    const order = `bench-${process.pid}-${Date.now()}`;
    await gateway.createQrisPayment({ orderId: order, grossAmount: 10_000, expiryMinutes: 60 });

    const perRound = Math.max(1, Math.floor(calls / ROUNDS));
    const timed = async (call: () => Promise<unknown>): Promise<number> => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) await call();
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const viaBare = () => bare.transaction.status(order);
    const viaGateway = () => gateway.getPaymentStatus(order);

    // Warm-up: JIT, keep-alive sockets, the simulator's own paths.
    await timed(viaBare);
    await timed(viaGateway);

    let bareMs = 0;
    let gatewayMs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first.
      if (round % 2 === 0) {
        bareMs += await timed(viaBare);
        gatewayMs += await timed(viaGateway);
      } else {
        gatewayMs += await timed(viaGateway);
        bareMs += await timed(viaBare);
      }
    }
    const n = perRound * ROUNDS;
    const snapshot = gateway.resilienceSnapshot();
    if (snapshot.totals.failures !== 0 || snapshot.state !== "closed") throw new Error("a call failed during the run");
    return {
      calls: n,
      bareMsPerCall: bareMs / n,
      gatewayMsPerCall: gatewayMs / n,
      ratio: gatewayMs / bareMs,
      overheadMsPerCall: (gatewayMs - bareMs) / n,
    };
  } finally {
    await simulator.stop();
  }
}
