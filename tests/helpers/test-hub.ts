/**
 * A realtime hub as the worker process starts it (startRealtimeHub as
 * app_worker, with PostgREST's JWT secret), on a free loopback port, writing
 * its connection records every 100 ms so that tests see them soon. Options
 * override any of that.
 */
import { startRealtimeHub, type RealtimeHub, type RealtimeHubOptions } from "../../realtime/hub";
import { freePort, TEST_JWT_SECRET } from "../setup/cluster";

export async function startTestHub(
  workerConnectionString: string,
  options: Partial<RealtimeHubOptions> = {},
): Promise<RealtimeHub> {
  return startRealtimeHub({
    connectionString: workerConnectionString,
    port: await freePort(),
    host: "127.0.0.1",
    jwtSecret: TEST_JWT_SECRET,
    recordsFlushMs: 100,
    ...options,
  });
}
