/**
 * `npm run bench:edge`: the API edge's overhead on `GET /rpc/health`, as
 * requests per second through the edge ÷ directly to PostgREST in the same
 * run (bench/edge-overhead.ts says how it is measured). It starts its own
 * embedded PostgreSQL in a temporary directory (the boot sequence of
 * npm start, no demo data), the real PostgREST (npm start's settings) and the
 * edge as its own process.
 *
 *   npm run bench:edge
 *   BENCH_EDGE_ROUNDS=6 BENCH_EDGE_SECONDS=5 BENCH_CONNECTIONS=20 npm run bench:edge
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { databaseUrl, withClient } from "../db/pg";
import { prepareDatabase } from "../db/prepare";
import { startEmbeddedPostgres, temporaryDataDir } from "../services/embedded-postgres";
import { freePort } from "../services/ports";
import { startPostgrest } from "../services/postgrest";
import { createCleanup } from "./cleanup";
import { measureEdgeOverhead, startEdgeProcess } from "./edge-overhead";

async function main(): Promise<void> {
  const cleanup = createCleanup();
  try {
    const dataDir = temporaryDataDir("jasaweb-bench-edge");
    cleanup.add("the temporary data directory", () =>
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }),
    );
    const server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      superuserPassword: crypto.randomBytes(16).toString("base64url"),
    });
    cleanup.add("PostgreSQL", () => server.stop());
    await withClient(server.url("postgres"), (client) => client.query("create database jasaweb_bench"));
    const password = () => crypto.randomBytes(16).toString("base64url");
    const secret = crypto.randomBytes(32).toString("base64url");
    const { connections } = await prepareDatabase({
      superuserUrl: databaseUrl(server.url("postgres"), "jasaweb_bench"),
      passwords: { owner: password(), authenticator: password(), worker: password() },
      settings: { jwtSecret: secret, credentialsKey: crypto.randomBytes(32).toString("base64url") },
    });
    const postgrest = await startPostgrest({
      dbUri: connections.authenticator,
      port: await freePort(),
      jwtSecret: secret,
    });
    cleanup.add("PostgREST", () => postgrest.stop());
    const edge = await startEdgeProcess(postgrest.url);
    cleanup.add("the edge", () => edge.stop());

    const result = await measureEdgeOverhead(
      { direct: postgrest.url, edge: edge.url, edgePid: edge.pid },
      {
        rounds: Number(process.env.BENCH_EDGE_ROUNDS ?? 6),
        secondsPerRound: Number(process.env.BENCH_EDGE_SECONDS ?? 5),
        connections: Number(process.env.BENCH_CONNECTIONS ?? 20),
      },
    );
    const row = (name: string, f: typeof result.direct) =>
      `${name}${f.rps.toFixed(0).padStart(8)} req/s   p50 ${f.p50Ms.toFixed(1)} ms   p99 ${f.p99Ms.toFixed(1)} ms   non-2xx ${f.non2xx}   errors ${f.errors}`;
    console.log(
      `GET /rpc/health, ${result.connections} connections, ${result.rounds} alternating rounds of ${result.secondsPerRound} s`,
    );
    console.log(row("PostgREST directly: ", result.direct));
    console.log(row("through the edge:   ", result.edge));
    console.log(`ratio edge/direct:  ${result.ratio.toFixed(3)}`);
    if (result.edgeCpuMsPerRequest !== undefined)
      console.log(`edge CPU:           ${result.edgeCpuMsPerRequest.toFixed(3)} ms per request`);
  } finally {
    await cleanup.runAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
