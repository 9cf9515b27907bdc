/** The real PostgREST binary in front of a test database. */
import { startPostgrest } from "../../services/postgrest";
import { freePort, TEST_JWT_SECRET } from "../setup/cluster";
import type { TestDatabase } from "./database";

export type TestApi = {
  url: string;
  stop(): Promise<void>;
  request(
    path: string,
    init?: RequestInit & { token?: string },
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
};

export async function startApi(db: TestDatabase, extraEnv: Record<string, string> = {}): Promise<TestApi> {
  const server = await startPostgrest({
    dbUri: db.connections.authenticator,
    port: await freePort(),
    jwtSecret: TEST_JWT_SECRET,
    extraEnv: { PGRST_DB_POOL: "4", ...extraEnv },
  });
  return {
    url: server.url,
    stop: server.stop,
    async request(path, init = {}) {
      const { token, headers, ...rest } = init;
      const response = await fetch(`${server.url}${path}`, {
        ...rest,
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(headers as Record<string, string> | undefined),
        },
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body, headers: response.headers };
    },
  };
}
