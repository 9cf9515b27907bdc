/**
 * The API edge on its own (compiled: `node dist/stack/edge.js`), as
 * docker-compose.yml runs it between nginx and PostgREST: it listens on
 * API_HOST:API_PORT and forwards to POSTGREST_URL, with TRUSTED_PROXIES,
 * API_MAX_BODY_BYTES and CORS_ALLOWED_ORIGINS (README "The API edge").
 * `npm start` runs the same edge in its own process (stack/start.ts).
 * SIGTERM or SIGINT stops taking requests, lets those in flight finish
 * (at most 5 s) and exits 0.
 */
import { readConfig } from "../config/settings";
import { StartupError, describeStartupFailure } from "../config/startup-error";
import { startEdge } from "../edge/server";

async function main(): Promise<void> {
  const config = readConfig();
  const upstream = config.edge.postgrestUrl;
  if (!upstream) throw new StartupError("Set POSTGREST_URL (e.g. http://postgrest:3000): where the edge forwards to.");
  const edge = await startEdge({
    upstream,
    port: config.apiPort,
    host: config.apiHost,
    trustedProxies: config.edge.trustedProxies,
    maxBodyBytes: config.edge.maxBodyBytes,
    corsAllowedOrigins: config.edge.corsAllowedOrigins,
    onLog: (line) => process.stderr.write(`edge: ${line}\n`),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`edge: ${signal}, stopping\n`);
    edge.stop().then(
      () => {
        process.stdout.write("edge: stopped\n");
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`edge: stopping failed: ${describeStartupFailure(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const trusted = config.edge.trustedProxies.length ? config.edge.trustedProxies.join(", ") : "none";
  const origins = config.edge.corsAllowedOrigins === "*" ? "any" : config.edge.corsAllowedOrigins.join(", ");
  process.stdout.write(
    `edge: ${edge.url} → ${upstream} (trusted proxies: ${trusted}; CORS origins: ${origins}; bodies up to ${config.edge.maxBodyBytes} bytes)\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`edge: ${describeStartupFailure(error)}\n`);
  process.exit(1);
});
