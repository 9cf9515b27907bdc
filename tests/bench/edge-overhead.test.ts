/**
 * `npm run bench:edge` on a tiny run, so that it cannot rot: the edge as its
 * own process (stack/edge.ts) in front of a test PostgREST, and both paths
 * loaded with autocannon. Not timed: the figures are only checked to be there
 * and clean (every answer 2xx).
 */
import { measureEdgeOverhead, startEdgeProcess, type EdgeProcess } from "../../bench/edge-overhead";
import { startApi, type TestApi } from "../helpers/api";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let edge: EdgeProcess;

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db);
  edge = await startEdgeProcess(api.postgrestUrl);
});

afterAll(async () => {
  await edge?.stop();
  await api?.stop();
  await db?.drop();
});

test("measures GET /rpc/health directly and through the edge, in the same run", async () => {
  const result = await measureEdgeOverhead(
    { direct: api.postgrestUrl, edge: edge.url, edgePid: edge.pid },
    { rounds: 2, secondsPerRound: 1, connections: 2 },
  );
  for (const figures of [result.direct, result.edge]) {
    expect(figures.requests).toBeGreaterThan(0);
    expect([figures.non2xx, figures.errors]).toEqual([0, 0]);
    expect(figures.p99Ms).toBeGreaterThanOrEqual(figures.p50Ms);
  }
  expect(result.ratio).toBeCloseTo(result.edge.rps / result.direct.rps, 10);
  // Linux: /proc tells the edge process's CPU time.
  expect(result.edgeCpuMsPerRequest).toBeGreaterThan(0);
  // The edge really is in front: it answers what PostgREST would answer with a 500.
  const refused = await fetch(`${edge.url}/rpc/login?email=a&password=%ED%A0%80`);
  expect(refused.status).toBe(400);
});
