/**
 * `npm run bench`: PostgREST and SQL speed of the main read paths, as ratios
 * against a trivial baseline measured in the same run (the machines are
 * shared and noisy; absolute numbers are for context only).
 *
 *   BENCH_SCALE=1      data volume (1 = 10k users, 100k projects, 1M invoices, 100k posts)
 *   BENCH_DURATION=10  seconds per HTTP scenario
 *   BENCH_CONNECTIONS=20
 *   BENCH_SQL_ITERATIONS=200  timed runs of each scenario's SQL
 *   BENCH_ONLY=regex   only the scenarios whose name matches (plus the baseline)
 *
 * It starts its own embedded PostgreSQL in a temporary directory (or uses
 * DATABASE_URL's server, in a new database it drops afterwards), loads the
 * data, starts the real PostgREST, and measures with autocannon.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import { Client } from "pg";
import { databaseUrl } from "../db/pg";
import { prepareDatabase } from "../db/prepare";
import { startEmbeddedPostgres, temporaryDataDir, type EmbeddedServer } from "../services/embedded-postgres";
import { startPostgrest, type PostgrestServer } from "../services/postgrest";
import { freePort } from "../services/ports";
import { generateData } from "./generate-data";

const scale = Number(process.env.BENCH_SCALE ?? 1);
const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const sqlIterations = Number(process.env.BENCH_SQL_ITERATIONS ?? 200);
/** Only the scenarios whose name matches (the baseline always runs). */
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, "i") : undefined;

type Scenario = {
  name: string;
  path: string;
  token?: string;
  /** The same work in SQL: role, claims and statement, timed directly. */
  sql: { role: string; claims: Record<string, unknown>; statement: string };
};

type HttpResult = { rps: number; p50: number; p99: number; non2xx: number; errors: number };
type SqlResult = { p50: number; p99: number };

async function measureHttp(url: string, token: string | undefined): Promise<HttpResult> {
  const result = await autocannon({
    url,
    connections,
    duration,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measureSql(client: Client, scenario: Scenario["sql"]): Promise<SqlResult> {
  const times: number[] = [];
  for (let i = 0; i < sqlIterations; i++) {
    const started = process.hrtime.bigint();
    await client.query("begin");
    await client.query(`set local role ${scenario.role}`);
    await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(scenario.claims)]);
    await client.query(scenario.statement);
    await client.query("rollback");
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main(): Promise<void> {
  let server: EmbeddedServer | undefined;
  let adminUrl: string;
  let dataDir: string | undefined;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    dataDir = temporaryDataDir("jasaweb-bench");
    server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      superuserPassword: "bench-superuser",
      settings: { shared_buffers: "512MB", work_mem: "16MB", max_connections: "200" },
    });
    adminUrl = server.url("postgres");
  }
  const dbName = `jasaweb_bench_${crypto.randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const dbUrl = databaseUrl(adminUrl, dbName);
  let postgrest: PostgrestServer | undefined;
  const client = new Client({ connectionString: dbUrl });
  try {
    const secret = crypto.randomBytes(32).toString("base64url");
    const password = () => crypto.randomBytes(16).toString("base64url");
    // The same boot sequence as npm start (bootstrap, migrations as the owner, settings, seed).
    const { connections: logins } = await prepareDatabase({
      superuserUrl: dbUrl,
      passwords: { owner: password(), authenticator: password(), worker: password() },
      settings: { jwtSecret: secret, credentialsKey: crypto.randomBytes(32).toString("base64url") },
      seed: { adminEmail: "admin@bench.jasaweb.id", adminPassword: "bench-admin-password" },
    });
    await client.connect();

    let started = Date.now();
    const volumes = await generateData(client, scale);
    const loadSeconds = (Date.now() - started) / 1000;
    console.log(`loaded ${JSON.stringify(volumes)} in ${loadSeconds.toFixed(1)} s`);

    const tokenFor = async (where: string) => {
      const { rows } = await client.query<{ id: string; session: { token: string } }>(
        `select u.id, app_private.session_for(u) as session from api.users u where ${where} limit 1`,
      );
      return { id: rows[0]!.id, token: rows[0]!.session.token };
    };
    await client.query("begin");
    const benchClient = await tokenFor("u.role = 'client' and u.email like '%@bench.jasaweb.id'");
    const benchAdmin = await tokenFor("u.role = 'admin' and u.email like '%@bench.jasaweb.id'");
    await client.query("commit");

    postgrest = await startPostgrest({ dbUri: logins.authenticator, port: await freePort(), jwtSecret: secret });

    const clientClaims = { role: "app_client", sub: benchClient.id };
    const adminClaims = { role: "app_admin", sub: benchAdmin.id };
    const scenarios: Scenario[] = [
      {
        name: "baseline: GET /rpc/health (anonymous)",
        path: "/rpc/health",
        sql: { role: "web_anon", claims: { role: "web_anon" }, statement: "select api.health()" },
      },
      {
        name: "baseline: GET /rpc/health (client JWT)",
        path: "/rpc/health",
        token: benchClient.token,
        sql: { role: "app_client", claims: clientClaims, statement: "select api.health()" },
      },
      {
        name: "client: own projects with invoices embedded (RLS)",
        path: "/projects?select=id,name,status,created_at,invoices(id,amount,status,paid_at)&order=created_at.desc&limit=20",
        token: benchClient.token,
        sql: {
          role: "app_client",
          claims: clientClaims,
          statement: `select p.id, p.name, p.status, p.created_at,
                             (select json_agg(json_build_object('id', i.id, 'amount', i.amount, 'status', i.status, 'paid_at', i.paid_at))
                                from api.invoices i where i.project_id = p.id) as invoices
                        from api.projects p order by p.created_at desc limit 20`,
        },
      },
      {
        name: "admin: GET /rpc/admin_dashboard",
        path: "/rpc/admin_dashboard",
        token: benchAdmin.token,
        sql: { role: "app_admin", claims: adminClaims, statement: "select api.admin_dashboard()" },
      },
      {
        name: "anonymous: search_content (English)",
        path: "/rpc/search_content?query=fast%20website&lang=en&limit=10",
        sql: {
          role: "web_anon",
          claims: { role: "web_anon" },
          statement: "select * from api.search_content('fast website', 'en', 10, 0)",
        },
      },
      {
        name: "anonymous: search_content (both languages)",
        path: "/rpc/search_content?query=pembangunan%20sekolah&limit=10",
        sql: {
          role: "web_anon",
          claims: { role: "web_anon" },
          statement: "select * from api.search_content('pembangunan sekolah', null, 10, 0)",
        },
      },
    ];

    const rows: string[] = [];
    let baseline: { http: HttpResult; sql: SqlResult } | undefined;
    for (const scenario of scenarios.filter((s, i) => i === 0 || !only || only.test(s.name))) {
      const probe = await fetch(`${postgrest.url}${scenario.path}`, {
        headers: scenario.token ? { authorization: `Bearer ${scenario.token}` } : {},
      });
      if (probe.status !== 200) throw new Error(`${scenario.name}: ${probe.status} ${await probe.text()}`);
      const http = await measureHttp(`${postgrest.url}${scenario.path}`, scenario.token);
      const sql = await measureSql(client, scenario.sql);
      baseline ??= { http, sql };
      rows.push(
        `| ${scenario.name} | ${http.rps.toFixed(0)} | ${http.p50} | ${http.p99} | ${(http.rps / baseline.http.rps).toFixed(2)} | ` +
          `${sql.p50.toFixed(2)} | ${sql.p99.toFixed(2)} | ${(sql.p50 / baseline.sql.p50).toFixed(1)} | ${http.non2xx + http.errors} |`,
      );
      console.log(rows.at(-1));
    }

    const report = [
      `Run ${new Date().toISOString()}, scale ${scale} (${JSON.stringify(volumes)}), load ${loadSeconds.toFixed(0)} s, ` +
        `${connections} connections × ${duration} s per scenario, ${sqlIterations} SQL iterations.`,
      "",
      "| scenario | req/s | p50 ms | p99 ms | req/s ÷ baseline | SQL p50 ms | SQL p99 ms | SQL p50 ÷ baseline | errors |",
      "|---|---|---|---|---|---|---|---|---|",
      ...rows,
    ].join("\n");
    fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
    fs.writeFileSync(path.join(__dirname, "results", "latest.md"), report + "\n");
    console.log(`\n${report}\n\nwritten to bench/results/latest.md`);
  } finally {
    await postgrest?.stop();
    await client.end().catch(() => undefined);
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    await server?.stop();
    if (dataDir) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
