/**
 * The real PostgREST binary behind the API edge (edge/server.ts), as `npm
 * start` and docker-compose serve it: every API test's request passes the
 * edge. `postgrestUrl` reaches PostgREST directly, for the tests that compare.
 */
import { startEdge } from "../../edge/server";
import { startPostgrest } from "../../services/postgrest";
import { freePort, TEST_JWT_SECRET } from "../setup/cluster";
import type { TestDatabase } from "./database";

export type TestApi = {
  /** The edge's URL: what clients call. */
  url: string;
  /** PostgREST's own URL, behind the edge. */
  postgrestUrl: string;
  stop(): Promise<void>;
  request(
    path: string,
    init?: RequestInit & { token?: string },
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
};

export type EdgeTestOptions = {
  /** TRUSTED_PROXIES of the edge; default none. Tests that simulate client addresses trust 127.0.0.1. */
  trustedProxies?: readonly string[];
  maxBodyBytes?: number;
  corsAllowedOrigins?: "*" | readonly string[];
};

export async function startApi(
  db: TestDatabase,
  extraEnv: Record<string, string> = {},
  edge: EdgeTestOptions = {},
): Promise<TestApi> {
  const edgePort = await freePort();
  const postgrest = await startPostgrest({
    dbUri: db.connections.authenticator,
    port: await freePort(),
    jwtSecret: TEST_JWT_SECRET,
    publicUrl: `http://127.0.0.1:${edgePort}`,
    extraEnv: { PGRST_DB_POOL: "4", ...extraEnv },
  });
  let server;
  try {
    server = await startEdge({
      upstream: postgrest.url,
      port: edgePort,
      trustedProxies: edge.trustedProxies ?? [],
      maxBodyBytes: edge.maxBodyBytes ?? 1024 * 1024,
      corsAllowedOrigins: edge.corsAllowedOrigins ?? "*",
      onLog: (line) => process.stderr.write(`[edge] ${line}\n`),
    });
  } catch (error) {
    await postgrest.stop();
    throw error;
  }
  const url = server.url;
  return {
    url,
    postgrestUrl: postgrest.url,
    async stop() {
      await server.stop();
      await postgrest.stop();
    },
    async request(path, init = {}) {
      const { token, headers, ...rest } = init;
      const response = await fetch(`${url}${path}`, {
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
