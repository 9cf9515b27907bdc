/**
 * Jest projects:
 *   migrations  tests/db     schema, constraints, indexes, reversibility (SQL level)
 *   api         tests/api    the real PostgREST over HTTP
 *   stack       tests/stack  `npm start` as a user runs it
 *   structure   tests/structure  the layout's import rules (no database)
 *   deploy      tests/deploy docker-compose.yml and the Dockerfile's image, without Docker
 *   payments    tests/payments  the payment flow with every real part and the simulator
 *   simulator   tests/simulator  the Midtrans simulator with the official midtrans-client (no database)
 *   worker      tests/worker the worker's Midtrans gateway against the simulator (no database)
 *   bench       tests/bench  the benchmarks' drivers on tiny runs, so that they cannot rot (not timed)
 *   realtime    tests/realtime  the WebSocket hub with PostgreSQL, PostgREST and real sockets
 *   edge        tests/edge   the API edge in front of the real PostgREST (client address, limits, CORS, errors)
 *   fuzz        tests/fuzz   generated requests over the whole API (`npm run fuzz` only: JASAWEB_FUZZ=1)
 * One embedded PostgreSQL cluster per run (global setup); every test file
 * gets its own database cloned from a migrated template.
 * With DATABASE_URL set, the cluster is that server instead (CI runs the
 * migrations project against the system PostgreSQL 15 this way).
 */
const transform = {
  "^.+\\.ts$": [
    "@swc/jest",
    {
      jsc: { parser: { syntax: "typescript" }, target: "es2022" },
      module: { type: "commonjs", ignoreDynamic: true },
    },
  ],
};

const project = (name, dir) => ({
  displayName: name,
  testMatch: [`<rootDir>/tests/${dir}/**/*.test.ts`],
  transform,
  testEnvironment: "node",
});

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: "<rootDir>/tests/setup/global-setup.ts",
  globalTeardown: "<rootDir>/tests/setup/global-teardown.ts",
  projects: [
    project("migrations", "db"),
    project("api", "api"),
    project("stack", "stack"),
    project("structure", "structure"),
    project("deploy", "deploy"),
    project("payments", "payments"),
    project("simulator", "simulator"),
    project("worker", "worker"),
    project("bench", "bench"),
    project("realtime", "realtime"),
    project("edge", "edge"),
    // Not part of `npm test` yet (README, Tests: Fuzzing): `npm run fuzz` runs it.
    ...(process.env.JASAWEB_FUZZ === "1" ? [project("fuzz", "fuzz")] : []),
  ],
  testTimeout: 60_000,
  maxWorkers: 2,
};
