/**
 * `npm run bench:gateway`: the overhead of the gateway's policies per
 * successful call, as a ratio against the bare midtrans-client in the same
 * run (bench/gateway-overhead.ts says how it is measured).
 *
 *   npm run bench:gateway                 # 2000 calls each
 *   BENCH_GATEWAY_CALLS=500 npm run bench:gateway
 */
import { measureGatewayOverhead } from "./gateway-overhead";

async function main(): Promise<void> {
  const result = await measureGatewayOverhead(Number(process.env.BENCH_GATEWAY_CALLS ?? 2000));
  console.log(`status calls per path:  ${result.calls} (sequential, 10 alternating rounds)`);
  console.log(`bare midtrans-client:   ${result.bareMsPerCall.toFixed(3)} ms/call`);
  console.log(`through the gateway:    ${result.gatewayMsPerCall.toFixed(3)} ms/call`);
  console.log(`ratio gateway/bare:     ${result.ratio.toFixed(3)}`);
  console.log(`overhead per call:      ${result.overheadMsPerCall.toFixed(3)} ms`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
