/**
 * Overhead of the API edge (edge/server.ts) on the cheapest call,
 * `GET /rpc/health`: autocannon against PostgREST directly and through the
 * edge in the same run, in alternating rounds so that drift of a shared
 * machine hits both alike. The edge runs as its own process
 * (`node --import tsx stack/edge.ts`, as compose runs the compiled one), so
 * it does not share an event loop with the load generator. Used by
 * `npm run bench:edge` and tests/bench/edge-overhead.test.ts.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import autocannon from "autocannon";
import { projectRoot } from "../config/paths";
import { freePort } from "../services/ports";
import { cpuSecondsOf } from "./cpu-usage";

export type EdgeOverheadOptions = {
  rounds: number;
  secondsPerRound: number;
  connections: number;
};

export type PathFigures = {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
};

export type EdgeOverhead = EdgeOverheadOptions & {
  direct: PathFigures;
  edge: PathFigures;
  /** Requests per second through the edge ÷ directly (1: no overhead). */
  ratio: number;
  /** CPU time the edge process spent per request it forwarded (undefined where /proc cannot tell). */
  edgeCpuMsPerRequest: number | undefined;
};

export type EdgeProcess = { url: string; pid: number | undefined; stop(): Promise<void> };

/** The stand-alone edge (stack/edge.ts) in a child process, in front of `postgrestUrl`. */
export async function startEdgeProcess(postgrestUrl: string): Promise<EdgeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "stack", "edge.ts")], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? "", POSTGREST_URL: postgrestUrl, API_PORT: String(port), API_HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 30_000;
  while (!output.includes(`edge: http://127.0.0.1:${port}`)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the edge did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}

type Run = { requests: number; p50: number; p99: number; non2xx: number; errors: number };

async function load(base: string, seconds: number, connections: number): Promise<Run> {
  const result = await autocannon({ url: `${base}/rpc/health`, connections, duration: seconds });
  return {
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function summarise(runs: Run[], seconds: number): PathFigures {
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const mean = (pick: (r: Run) => number) => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
  return {
    requests,
    rps: requests / seconds,
    p50Ms: mean((r) => r.p50),
    p99Ms: mean((r) => r.p99),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

export async function measureEdgeOverhead(
  urls: { direct: string; edge: string; edgePid?: number },
  options: EdgeOverheadOptions,
): Promise<EdgeOverhead> {
  const { rounds, secondsPerRound, connections } = options;
  // Warm-up: JIT, keep-alive sockets, PostgREST's pool.
  await load(urls.direct, 1, connections);
  await load(urls.edge, 1, connections);
  const direct: Run[] = [];
  const edge: Run[] = [];
  const edgeCpu = () => (urls.edgePid === undefined ? undefined : cpuSecondsOf([urls.edgePid]));
  let edgeCpuSeconds: number | undefined = 0;
  const throughEdge = async () => {
    const before = edgeCpu();
    edge.push(await load(urls.edge, secondsPerRound, connections));
    const after = edgeCpu();
    edgeCpuSeconds =
      before === undefined || after === undefined || edgeCpuSeconds === undefined
        ? undefined
        : edgeCpuSeconds + after - before;
  };
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first.
    if (round % 2 === 0) {
      direct.push(await load(urls.direct, secondsPerRound, connections));
      await throughEdge();
    } else {
      await throughEdge();
      direct.push(await load(urls.direct, secondsPerRound, connections));
    }
  }
  const seconds = rounds * secondsPerRound;
  const directFigures = summarise(direct, seconds);
  const edgeFigures = summarise(edge, seconds);
  return {
    ...options,
    direct: directFigures,
    edge: edgeFigures,
    ratio: edgeFigures.rps / directFigures.rps,
    edgeCpuMsPerRequest:
      urls.edgePid === undefined || edgeCpuSeconds === undefined
        ? undefined
        : (edgeCpuSeconds * 1000) / edgeFigures.requests,
  };
}
