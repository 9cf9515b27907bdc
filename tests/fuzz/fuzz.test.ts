/**
 * Property-based fuzzing of the whole API through the edge (fast-check):
 * generated requests over every table and function the OpenAPI document
 * lists, as anonymous, client, admin and with tokens that must be refused
 * (tests/helpers/fuzz/requests.ts). Every answer must be a 2xx, or a 4xx (or
 * documented 503) with a code README "Errors" documents for that status,
 * within 5 s, without internals the request did not name
 * (tests/helpers/fuzz/verdict.ts). Afterwards: client B's rows were neither
 * seen by other callers nor changed except by the admin, every change to
 * users, projects and invoices is audited, amounts are positive whole rupiah
 * and statuses valid.
 *
 * `npm test` runs 1,500 requests with a fixed seed; `npm run fuzz` runs
 * FUZZ_RUNS (10,000) with FUZZ_SEED (random unless given). The seed is
 * printed, and the figures go to stdout and bench/results/fuzz-<seed>.json.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, signToken, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { CALLERS, describeRequest, fuzzRequest, type Caller, type FuzzRequest } from "../helpers/fuzz/requests";
import { readSurface, type Surface } from "../helpers/fuzz/surface";
import { judge, readDocumentedCodes, type Catalogue } from "../helpers/fuzz/verdict";

const CI_SEED = 1212;
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_500);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? CI_SEED
    : process.env.FUZZ_SEED === "random"
      ? crypto.randomInt(2 ** 31)
      : Number(process.env.FUZZ_SEED);
/** Every answer within this, or it is a finding. */
const ANSWER_BOUND_MS = 5_000;
const PASSWORD = "password-123";

let db: TestDatabase;
let api: TestApi;
let surface: Surface;
let catalogue: Catalogue;
const users: { admin?: SignedIn; client?: SignedIn; victim?: SignedIn } = {};
const tokens = new Map<Caller, string | undefined>();
/** Strings only client B's rows hold: seen in another caller's answer, they leaked. */
const victimMarkers: string[] = [];

let addressCounter = 0;
const freshAddress = () => {
  addressCounter += 1;
  return `192.0.2.${(addressCounter % 250) + 1}`;
};

async function rpc(name: string, args: unknown, token?: string): Promise<unknown> {
  const { status, body } = await api.request(`/rpc/${name}`, { method: "POST", body: JSON.stringify(args), token });
  if (status !== 200) throw new Error(`${name}: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** The hostile tokens: all must be refused (or, for a foreign role, never served as that role). */
async function makeTokens(client: SignedIn, admin: SignedIn): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { role: "app_client", sub: client.user.id, email: client.user.email };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  tokens.set("anonymous", undefined);
  tokens.set("client", client.token);
  tokens.set("admin", admin.token);
  tokens.set("expired", await signToken({ ...claims, iat: now - 7200, exp: now - 3600 }, { expiresIn: null }));
  tokens.set("forged", await signToken(claims, { secret: "not-the-secret-but-long-enough-0123456789" }));
  tokens.set("algNone", `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, exp: now + 3600 })}.`);
  tokens.set("withoutExp", await signToken(claims, { expiresIn: null }));
  tokens.set("foreignRoleAdmin", await signToken({ ...claims, role: "app_admin" }));
  tokens.set("rolePostgres", await signToken({ ...claims, role: "postgres" }));
  tokens.set("roleAuthenticator", await signToken({ ...claims, role: "authenticator" }));
  tokens.set("roleMissing", await signToken({ ...claims, role: "no_such_role" }));
  tokens.set("garbage", "not.a.jwt");
}

/** Signs a real caller in again after the fuzz signed it out (logout is among the functions). */
async function renewToken(caller: "client" | "admin"): Promise<void> {
  const user = users[caller]!;
  const { status, body } = await api.request("/rpc/login", {
    method: "POST",
    body: JSON.stringify({ email: user.user.email, password: PASSWORD }),
    headers: { "x-forwarded-for": freshAddress() },
  });
  if (status === 200) tokens.set(caller, (body as SignedIn).token);
}

type Snapshot = Map<string, string>;
/** Rows as JSON text keyed by table:id, read as superuser. */
async function snapshot(sql: string): Promise<Snapshot> {
  const rows = await db.query<{ key: string; row: unknown }>(sql);
  return new Map(rows.map((r) => [r.key, JSON.stringify(r.row)]));
}
const AUDITED_ROWS = `
  select 'users:' || id as key, to_jsonb(t) - 'updated_at' as row from api.users t
  union all select 'projects:' || id, to_jsonb(t) - 'updated_at' from api.projects t
  union all select 'invoices:' || id, to_jsonb(t) - 'updated_at' from api.invoices t`;
const victimRows = (victimId: string) => `
  select 'users:' || id as key, to_jsonb(t) as row from api.users t where id = '${victimId}'
  union all select 'projects:' || id, to_jsonb(t) from api.projects t where user_id = '${victimId}'
  union all select 'invoices:' || i.id, to_jsonb(i) from api.invoices i join api.projects p on p.id = i.project_id
   where p.user_id = '${victimId}'
  union all select 'real_time_notifications:' || id, to_jsonb(t) from api.real_time_notifications t
   where user_id = '${victimId}'`;

function changedKeys(before: Snapshot, after: Snapshot): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

beforeAll(async () => {
  db = await createSeededDatabase();
  // The fuzz's logins come from one place; its own re-logins from fresh addresses, as through a proxy.
  api = await startApi(db, {}, { trustedProxies: ["127.0.0.1"] });
  users.admin = await createAdmin(api, db);
  users.client = await registerClient(api);
  const marker = crypto.randomBytes(6).toString("hex");
  users.victim = await registerClient(api, { name: `Klien B ${marker}` });
  victimMarkers.push(`Klien B ${marker}`);
  for (const [i, type] of (["sekolah", "berita"] as const).entries()) {
    victimMarkers.push(`Proyek rahasia ${i} ${marker}`);
    await rpc("create_project", { name: `Proyek rahasia ${i} ${marker}`, type }, users.victim.token);
  }
  await rpc("create_project", { name: "Proyek A", type: "company" }, users.client.token);
  victimMarkers.push(`Pesan rahasia ${marker}`);
  await db.query(
    `insert into api.real_time_notifications (user_id, type, title, message)
     select $1, type, 'Untuk B', $2 from (select enum_range(null::api.notification_type) r) e, unnest(e.r) type limit 1`,
    [users.victim.user.id, `Pesan rahasia ${marker}`],
  );
  await makeTokens(users.client, users.admin);
  surface = await readSurface(api, users.admin.token);
  catalogue = readDocumentedCodes();
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

type Finding = { run: number; request: string; problem: string };

async function send(request: FuzzRequest): Promise<{ status: number; text: string; contentType: string | null }> {
  const token = tokens.get(request.caller);
  const response = await fetch(`${api.url}${request.target}`, {
    method: request.method,
    headers: { ...request.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(request.body ? { body: new Uint8Array(request.body) } : {}),
    signal: AbortSignal.timeout(ANSWER_BOUND_MS),
  });
  return { status: response.status, text: await response.text(), contentType: response.headers.get("content-type") };
}

test(
  `${RUNS} generated requests (seed ${SEED}) answer 2xx or a documented error, quickly, leak nothing, and the invariants hold`,
  async () => {
    process.stdout.write(
      `fuzz: seed ${SEED}, ${RUNS} requests (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npm run fuzz)\n`,
    );
    const victim = users.victim!;
    const [client, admin] = [users.client!, users.admin!];
    const ownIds = await db.query<{ id: string }>(
      `select id::text from api.projects union all select id::text from api.invoices
     union all select id::text from api.real_time_notifications`,
    );
    const everyId = [client.user.id, victim.user.id, admin.user.id, ...ownIds.map((r) => r.id)];
    const emails = [client.user.email, victim.user.email, admin.user.email, "admin@jasaweb.id"];
    // The admin's writes never name the admin or client A (so the fuzz cannot delete or promote its own callers).
    const victimIds = (await db.query<{ id: string }>(`select id::text from api.projects where user_id = $1
      union all select i.id::text from api.invoices i join api.projects p on p.id = i.project_id where p.user_id = $1`, [victim.user.id])).map((r) => r.id); // prettier-ignore
    const arbitrary = fc.oneof(
      {
        weight: 5,
        arbitrary: fuzzRequest(
          surface,
          { uuids: everyId, emails },
          CALLERS.filter((c) => c !== "admin"),
        ),
      },
      {
        weight: 1,
        arbitrary: fuzzRequest(
          surface,
          {
            uuids: [victim.user.id, ...victimIds, "00000000-0000-0000-0000-000000000000"],
            emails: [victim.user.email],
          },
          ["admin"],
          true,
        ),
      },
    );

    const auditedBefore = await snapshot(AUDITED_ROWS);
    const victimBefore = await snapshot(victimRows(victim.user.id));
    const [{ started }] = (await db.query<{ started: string }>("select now()::text as started")) as [
      { started: string },
    ];
    const histogram: Record<string, number> = {};
    const findings: Finding[] = [];
    let run = 0;
    const began = Date.now();

    await fc.assert(
      fc.asyncProperty(arbitrary, async (request) => {
        run += 1;
        const requestText = `${request.target} ${JSON.stringify(request.headers)} ${request.body?.toString("latin1") ?? ""}`;
        let answer;
        try {
          answer = await send(request);
        } catch (error) {
          const e = error as Error & { cause?: Error };
          const problem =
            e.name === "TimeoutError"
              ? `no answer within ${ANSWER_BOUND_MS} ms`
              : `network error: ${e.message} ${e.cause?.message ?? ""}`;
          histogram[problem.split(":")[0]!] = (histogram[problem.split(":")[0]!] ?? 0) + 1;
          findings.push({ run, request: describeRequest(request), problem });
          return true;
        }
        let code = "";
        try {
          code = answer.status >= 400 ? String((JSON.parse(answer.text) as { code?: unknown }).code) : "";
        } catch {
          code = "(not JSON)";
        }
        const key = `${answer.status}${code ? ` ${code}` : ""}`;
        histogram[key] = (histogram[key] ?? 0) + 1;
        const problem = judge(answer, catalogue, requestText, request.method);
        if (problem) findings.push({ run, request: describeRequest(request), problem });
        if (request.caller !== "admin" && answer.status < 300) {
          const seen = victimMarkers.find((m) => answer.text.includes(m));
          if (seen)
            findings.push({ run, request: describeRequest(request), problem: `client B's data visible: ${seen}` });
        }
        if ((request.caller === "client" || request.caller === "admin") && /TOKEN_REVOKED|TOKEN_INVALID/.test(code))
          await renewToken(request.caller);
        return true;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const seconds = (Date.now() - began) / 1000;

    // Invariants, as superuser.
    const auditedAfter = await snapshot(AUDITED_ROWS);
    const victimAfter = await snapshot(victimRows(victim.user.id));
    for (const key of changedKeys(victimBefore, victimAfter)) {
      const [table, id] = key.split(":") as [string, string];
      const actors = await db.query<{ user_id: string | null }>(
        `select user_id::text from api.audit_logs where resource = $1 and resource_id = $2 and "timestamp" >= $3`,
        [table, id, started],
      );
      if (table === "real_time_notifications" && victimBefore.has(key))
        findings.push({ run: 0, request: "-", problem: `client B's notification ${id} changed or deleted` });
      else if (table !== "real_time_notifications" && actors.some((a) => a.user_id !== admin.user.id))
        findings.push({ run: 0, request: "-", problem: `client B's ${key} changed by ${JSON.stringify(actors)}` });
    }
    for (const key of changedKeys(auditedBefore, auditedAfter)) {
      const [table, id] = key.split(":") as [string, string];
      const [{ n }] = (await db.query<{ n: number }>(
        `select count(*)::int as n from api.audit_logs where resource = $1 and resource_id = $2 and "timestamp" >= $3`,
        [table, id, started],
      )) as [{ n: number }];
      if (n === 0) findings.push({ run: 0, request: "-", problem: `${key} changed without an audit row` });
    }
    const [bad] = await db.query<{ amounts: number; statuses: number }>(`select
      (select count(*) from api.invoices where amount <= 0 or amount <> trunc(amount))
    + (select count(*) from api.refunds where amount <= 0 or amount <> trunc(amount)) ::int as amounts,
      (select count(*) from api.refunds where status not in ('requested', 'succeeded', 'failed'))::int as statuses`);
    if (bad!.amounts > 0)
      findings.push({ run: 0, request: "-", problem: `${bad!.amounts} amounts not positive whole rupiah` });
    if (bad!.statuses > 0)
      findings.push({ run: 0, request: "-", problem: `${bad!.statuses} refunds with an invalid status` });

    const report = {
      seed: SEED,
      requests: run,
      seconds,
      surface: { tables: surface.tables.length, functions: surface.functions.length },
      changedRows: changedKeys(auditedBefore, auditedAfter).length,
      statuses: Object.fromEntries(Object.entries(histogram).sort(([a], [b]) => a.localeCompare(b))),
      findings,
    };
    const resultsDir = path.join(__dirname, "../../bench/results");
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, `fuzz-${SEED}-${RUNS}.json`), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`fuzz: ${JSON.stringify({ ...report, findings: findings.length })}\n`);
    for (const f of findings.slice(0, 50))
      process.stdout.write(`fuzz finding #${f.run}: ${f.problem}\n   ${f.request}\n`);

    expect(run).toBe(RUNS);
    expect(findings).toEqual([]);
  },
  Math.max(120_000, RUNS * 200),
);
