import { startTestCluster, type TestCluster } from "./cluster";

declare global {
  // eslint-disable-next-line no-var
  var __JASAWEB_TEST_CLUSTER__: TestCluster | undefined;
}

export default async function globalSetup(): Promise<void> {
  globalThis.__JASAWEB_TEST_CLUSTER__ = await startTestCluster();
}
