import { stopTestCluster } from "./cluster";

export default async function globalTeardown(): Promise<void> {
  const cluster = globalThis.__JASAWEB_TEST_CLUSTER__;
  if (cluster) await stopTestCluster(cluster);
}
