import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { SHUTDOWN_GRACE_MS } from "../../main.ts";
import { parseKeysFile } from "../../src/auth/keys_file.ts";
import type { Handler, Middleware } from "../../src/http/context.ts";
import { routes } from "../../src/http/routes.ts";
import { SERVER_NAME, SERVER_VERSION } from "../../src/version.ts";
import { checkToolsFile } from "../../src/tools/file/tools_file.ts";
import { createTestApp, postJson } from "../harness.ts";
import {
  commandUnavailable,
  compilePermissionFlags,
  DEV_CONFIG,
  runDeno,
  toolchainEnv,
} from "../process.ts";
import {
  admitsIngress,
  checkEnvironment,
  checkHardening,
  checkKustomization,
  checkNetwork,
  checkProbes,
  checkScaling,
  checkSchemas,
  checkSelectors,
  checkShutdown,
  containerEnv,
  loadManifests,
  type Manifests,
  mountedFile,
  mountOf,
  parseServerConfig,
  type ServerFacts,
  serverWorkload,
  strictTypeSource,
} from "./kubernetes.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** The paths the route table answers to GET, from the table itself. */
function servedGetPaths(): Set<string> {
  const handler: Handler = () => Promise.resolve(new Response());
  const middleware: Middleware = (_req, _ctx, next) => next();
  const table = routes({
    guard: { hostOrigin: middleware, auth: middleware },
    rest: { call: handler, list: handler },
    mcp: handler,
    health: { health: handler, ready: handler, live: handler },
    openApi: handler,
    docs: { page: handler, asset: handler },
    metrics: { handler, guard: [] },
  });
  return new Set(table.filter((r) => r.method === "GET").map((r) => r.path));
}

/** The `--allow-read` grants of the image's sandbox (the compile task's flags). */
function readGrants(flags: string[]): ServerFacts["readGrants"] {
  const grants: string[] = [];
  for (const flag of flags) {
    if (flag === "--allow-read" || flag === "-A" || flag === "--allow-all") return "all";
    if (flag.startsWith("--allow-read=")) grants.push(...flag.slice(13).split(","));
  }
  return grants;
}

const FACTS: ServerFacts = {
  name: SERVER_NAME,
  version: SERVER_VERSION,
  getPaths: servedGetPaths(),
  shutdownGraceMs: SHUTDOWN_GRACE_MS,
  readGrants: readGrants(await compilePermissionFlags()),
};
const SHIPPED = await loadManifests();

/** A deep copy of the shipped manifests, changed by `change`. */
function mutated(change: (m: Manifests) => void): Manifests {
  const copy = structuredClone(SHIPPED);
  change(copy);
  return copy;
}

/** The object of `kind` named `name` in `m`, for changing it. */
function object(m: Manifests, kind: string, name = SERVER_NAME): Any {
  const found = m.objects.find((o) => o.object.kind === kind && o.object.metadata?.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found.object;
}
const serverContainer = (m: Manifests): Any =>
  object(m, "Deployment").spec.template.spec.containers.find((c: Any) => c.name === SERVER_NAME);
const envVar = (m: Manifests, name: string): Any =>
  serverContainer(m).env.find((e: Any) => e.name === name);

/** Asserts that `problems` has one matching each pattern (so the check can fail). */
function assertCaught(problems: string[], ...patterns: RegExp[]): void {
  for (const pattern of patterns) {
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `expected a problem like ${pattern}, got:\n${problems.join("\n") || "(none)"}`,
    );
  }
}

Deno.test("deploy/kubernetes: the kustomization lists every file and each object passes its Kubernetes schema", () => {
  assert.deepEqual(checkKustomization(SHIPPED), []);
  assert.deepEqual(checkSchemas(SHIPPED), []);
  assert.deepEqual(
    SHIPPED.objects.map((o) => `${o.object.kind}/${o.object.metadata?.name}`).sort(),
    [
      "ConfigMap/mcp-tool-server",
      "ConfigMap/mcp-tool-server-tools",
      "Deployment/mcp-redis",
      "Deployment/mcp-tool-server",
      "HorizontalPodAutoscaler/mcp-tool-server",
      "NetworkPolicy/mcp-redis",
      "NetworkPolicy/mcp-tool-server",
      "PodDisruptionBudget/mcp-tool-server",
      "Secret/mcp-tool-server",
      "Service/mcp-redis",
      "Service/mcp-tool-server",
    ],
  );
  // The checker fails: a file left out, an unknown kind, wrong types, a missing field.
  assertCaught(
    checkKustomization(mutated((m) => {
      m.kustomization.resources = m.kustomization.resources.filter((f) => f !== "pdb.yaml");
    })),
    /"pdb\.yaml" is not listed/,
  );
  assertCaught(
    checkSchemas(mutated((m) => {
      m.objects.push({
        file: "cron.yaml",
        object: { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "x" } },
      });
      object(m, "Deployment").spec.replicas = "two";
      delete object(m, "Service").spec.ports[0].port;
      object(m, "ConfigMap").metadata.namespace = "prod";
    })),
    /unknown kind batch\/v1\/CronJob/,
    /Deployment "mcp-tool-server": .*replicas must be integer/,
    /Service "mcp-tool-server": .*must have required property port/,
    /sets a namespace/,
  );
});

Deno.test("deploy/kubernetes: no object has a field its schema lacks (kubectl's strict field validation)", async () => {
  // The schemas' validators let unknown fields through; the models' TypeScript
  // interfaces do not: each object is type-checked as an object literal.
  const dir = await Deno.makeTempDir({ prefix: "mcp-k8s-" });
  try {
    const check = async (m: Manifests, name: string) => {
      const file = `${dir}/${name}.ts`;
      await Deno.writeTextFile(file, strictTypeSource(m));
      return await runDeno(
        [
          "check",
          "--quiet",
          "--config",
          DEV_CONFIG,
          file,
        ],
        toolchainEnv(),
      );
    };
    const [shipped, typo] = await Promise.all([
      check(SHIPPED, "shipped"),
      check(
        mutated((m) => {
          serverContainer(m).readinessProbe.httpGet.paht = "/health/ready";
          object(m, "NetworkPolicy").spec.egres = [];
        }),
        "typo",
      ),
    ]);
    assert.equal(shipped.code, 0, shipped.stderr);
    assert.notEqual(typo.code, 0);
    assert.match(typo.stderr, /paht"?' does not exist/);
    assert.match(typo.stderr, /egres"?' does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/kubernetes: every variable is one the server reads; NAME_FILE paths are mounted Secret keys the image may read", () => {
  assert.deepEqual(checkEnvironment(SHIPPED, FACTS), []);
  // Secrets travel as files only, through the secret variables' _FILE form.
  const { env } = containerEnv(SHIPPED, serverWorkload(SHIPPED, FACTS).container);
  for (const name of ["API_KEY_PRIMARY", "DB_URL", "REDIS_URL", "METRICS_TOKEN"]) {
    assert.ok(!env.has(name), `${name} is set in plain text`);
    assert.match(env.get(`${name}_FILE`) ?? "", /^\/run\/secrets\//, `${name}_FILE`);
  }
  assert.equal(env.get("API_KEYS_FILE"), "/run/secrets/mcp-tool-server/api-keys.yaml");
  assertCaught(
    checkEnvironment(
      mutated((m) => {
        object(m, "ConfigMap").data.RATE_LIMIT_STORE = "redis";
        envVar(m, "API_KEY_PRIMARY_FILE").name = "API_KEY_PRIMRY_FILE";
        serverContainer(m).env.push({ name: "LOG_LEVEL_FILE", value: "/run/secrets/x" });
        envVar(m, "DB_URL_FILE").value = "/run/secrets/mcp-tool-server/database-url";
        envVar(m, "REDIS_URL_FILE").value = "/etc/redis-url";
        serverContainer(m).env.push({ name: "METRICS_TOKEN", value: "metrics-token-0123456789" });
        object(m, "ConfigMap").data.LOG_FILE = "/var/log/mcp.log";
      }),
      FACTS,
    ),
    /RATE_LIMIT_STORE: not a variable the server reads/,
    /API_KEY_PRIMRY_FILE: not a variable .*nor the _FILE form of a secret variable/,
    /LOG_LEVEL_FILE: not a variable/,
    /DB_URL_FILE: .*Secret "mcp-tool-server" has no key "database-url"/,
    /REDIS_URL_FILE: \/etc\/redis-url is not inside any volume mount/,
    /METRICS_TOKEN_FILE: METRICS_TOKEN is set too/,
    /LOG_FILE: the image may not write files/,
  );
  // A sandbox without the read grant cannot read the mounted files.
  assertCaught(
    checkEnvironment(SHIPPED, { ...FACTS, readGrants: [] }),
    /API_KEY_PRIMARY_FILE: the image's sandbox cannot read/,
    /API_KEYS_FILE: the image's sandbox cannot read/,
  );
});

Deno.test("deploy/kubernetes: the server's own start-up path refuses only the placeholder keys, and reads the rest as production", () => {
  const workload = serverWorkload(SHIPPED, FACTS);
  // As shipped: the placeholder keys (with a space) are refused, so nothing
  // serves with a key published here; every other value is accepted.
  const shipped = parseServerConfig(SHIPPED, FACTS);
  assert.ok("problems" in shipped, "the placeholders must not start a server");
  assert.deepEqual(shipped.problems.map((p) => p.split(":")[0]).sort(), [
    "API_KEY_PRIMARY",
    "METRICS_TOKEN",
  ]);
  const keysFile = mountedFile(
    SHIPPED,
    workload.pod,
    workload.container,
    "/run/secrets/mcp-tool-server/api-keys.yaml",
  );
  assert.ok("value" in keysFile);
  const keys = parseKeysFile(keysFile.value);
  assert.ok(!keys.ok, "the placeholder keys file must be refused");
  assert.match(JSON.stringify(keys.problems), /sha256/);
  const secret = object(SHIPPED, "Secret");
  for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) {
    assert.match(value, /CHANGE|\.invalid|^redis:\/\/mcp-redis:/, `${key} is not a placeholder`);
  }

  // Filled in by an operator: a production config that matches the manifests.
  const filled = mutated((m) => {
    const data = object(m, "Secret").stringData;
    data["api-key-primary"] = "k8s-test-primary-key-0123456789";
    data["metrics-token"] = "k8s-test-metrics-token-0123456789";
  });
  const parsed = parseServerConfig(filled, FACTS);
  assert.ok("config" in parsed, JSON.stringify(parsed));
  const { config } = parsed;
  assert.equal(config.environment, "production");
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, workload.container.ports?.[0].containerPort);
  assert.equal(config.rateLimit.storage, "redis");
  assert.equal(config.rateLimit.redisUrl, "redis://mcp-redis:6379/0");
  // Client pods reach the port directly (NetworkPolicy): no peer may speak for another.
  assert.deepEqual(config.trustedProxies, []);
  assert.ok(config.allowedHosts.length > 0);
  assert.deepEqual(config.apiKeys.map((k) => k.id), ["primary"]);
  assert.match(config.db.url ?? "", /^postgres:\/\//);
  assert.equal(config.toolsFile, "/etc/mcp-tool-server/tools.yaml");
  assert.ok(config.upstream.baseUrl && config.upstream.auth && config.metricsToken);
  // At full scale the pools stay under PostgreSQL's default max_connections (100).
  const maxReplicas = object(SHIPPED, "HorizontalPodAutoscaler").spec.maxReplicas;
  assert.ok(maxReplicas * (config.db.poolSize + config.db.poolMaxOverflow) < 100);

  // The checker fails: Redis storage without a Redis URL.
  const broken = parseServerConfig(
    mutated((m) => {
      Object.assign(object(m, "Secret").stringData, {
        "api-key-primary": "k8s-test-primary-key-0123456789",
        "metrics-token": "k8s-test-metrics-token-0123456789",
      });
      const c = serverContainer(m);
      c.env = c.env.filter((e: Any) => e.name !== "REDIS_URL_FILE");
    }),
    FACTS,
  );
  assert.ok("problems" in broken);
  assertCaught([...broken.problems], /REDIS_URL: is required when RATE_LIMIT_STORAGE is "redis"/);
});

Deno.test("deploy/kubernetes: the probes ask paths the server serves, on its port, and it answers them", async () => {
  assert.deepEqual(checkProbes(SHIPPED, FACTS), []);
  assertCaught(
    checkProbes(
      mutated((m) => {
        serverContainer(m).livenessProbe.httpGet.path = "/healthz";
        serverContainer(m).readinessProbe.httpGet.port = 8080;
        serverContainer(m).startupProbe.httpGet.path = "/health/started";
      }),
      FACTS,
    ),
    /livenessProbe: path \/healthz, expected \/health\/live/,
    /livenessProbe: the server serves no GET \/healthz/,
    /readinessProbe: port 8080 is not the server's port 8000/,
    /startupProbe: the server serves no GET \/health\/started/,
  );
  assertCaught(
    checkProbes(mutated((m) => object(m, "ConfigMap").data.PORT = "9000"), FACTS),
    /no containerPort 9000/,
    /livenessProbe: port http is not the server's port 9000/,
  );
  assertCaught(
    checkProbes(mutated((m) => object(m, "ConfigMap").data.HOST = "127.0.0.1"), FACTS),
    /HOST 127\.0\.0\.1 is loopback/,
  );

  // The real app, with the ConfigMap's Host and proxy settings, asked as the
  // kubelet asks: by pod IP, no key.
  const data = object(SHIPPED, "ConfigMap").data;
  const app = await createTestApp({
    env: {
      ALLOWED_HOSTS: data.ALLOWED_HOSTS,
      ...(data.TRUSTED_PROXIES && { TRUSTED_PROXIES: data.TRUSTED_PROXIES }),
    },
  });
  try {
    const container = serverContainer(SHIPPED);
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const path = container[probe].httpGet.path;
      const res = await app.handler(new Request(`http://10.244.1.7:${data.PORT}${path}`));
      await res.body?.cancel();
      assert.ok(
        path === "/health/ready" ? [200, 503].includes(res.status) : res.status === 200,
        `${probe} ${path}: ${res.status}`,
      );
    }
    // The same request on a path the server does not serve is a 404: the check can fail.
    const missing = await app.handler(new Request(`http://10.244.1.7:${data.PORT}/healthz`));
    await missing.body?.cancel();
    assert.equal(missing.status, 404);
  } finally {
    await app.close();
  }
});

Deno.test("deploy/kubernetes: with the ConfigMap's settings a pod cannot escape the auth-failure limit by forging X-Forwarded-For", async () => {
  // The NetworkPolicy admits labelled client pods straight to the server port.
  const data = object(SHIPPED, "ConfigMap").data;
  const env: Record<string, string> = {
    AUTH_FAILURE_LIMIT: "3",
    ALLOWED_HOSTS: data.ALLOWED_HOSTS,
  };
  for (const name of ["TRUST_PROXY", "TRUSTED_PROXIES"]) {
    if (data[name] !== undefined) env[name] = data[name];
  }
  const app = await createTestApp({ env });
  try {
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.request("/v1/mcp", {
        key: "wrong-key-wrong-key-wrong",
        peer: "10.244.3.9",
        headers: { host: "mcp-tool-server", "x-forwarded-for": `198.51.100.${i}` },
      });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  } finally {
    await app.close();
  }
});

Deno.test("deploy/kubernetes: termination outlasts the preStop sleep plus the server's shutdown grace", () => {
  assert.deepEqual(checkShutdown(SHIPPED, FACTS), []);
  const pod = serverWorkload(SHIPPED, FACTS).pod;
  const sleep = serverWorkload(SHIPPED, FACTS).container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  assert.ok(pod.terminationGracePeriodSeconds! > sleep + SHUTDOWN_GRACE_MS / 1000);
  assertCaught(
    checkShutdown(SHIPPED, { ...FACTS, shutdownGraceMs: 30_000 }),
    /terminationGracePeriodSeconds 30 must exceed the preStop sleep \(5 s\) plus the server's shutdown grace \(30 s\)/,
  );
  assertCaught(
    checkShutdown(
      mutated((m) => {
        serverContainer(m).lifecycle.preStop = { exec: { command: ["sleep", "5"] } };
      }),
      FACTS,
    ),
    /exec needs a binary the distroless image lacks/,
  );
});

Deno.test("deploy/kubernetes: Service, HPA, PodDisruptionBudget and NetworkPolicies pick the right pods; 2+ replicas", () => {
  assert.deepEqual(checkSelectors(SHIPPED), []);
  assert.deepEqual(checkScaling(SHIPPED, FACTS), []);
  assertCaught(
    checkSelectors(mutated((m) => {
      object(m, "PodDisruptionBudget").spec.selector.matchLabels["app.kubernetes.io/name"] = "mcp";
      object(m, "HorizontalPodAutoscaler").spec.scaleTargetRef.name = "mcp";
      object(m, "Service").spec.ports[0].targetPort = "web";
      // Redis pods labelled like the server's: the server's selectors pick both.
      object(m, "Deployment", "mcp-redis").spec.template.metadata.labels["app.kubernetes.io/name"] =
        SERVER_NAME;
    })),
    /pdb\.yaml: the PodDisruptionBudget selector picks the pods of \[\]/,
    /hpa\.yaml: scaleTargetRef .* is no Deployment here/,
    /service\.yaml: targetPort web is no container port/,
    /deployment\.yaml: its selector picks the pods of \[mcp-tool-server, mcp-redis\]/,
  );
  assertCaught(
    checkScaling(
      mutated((m) => {
        object(m, "Deployment").spec.replicas = 1;
        object(m, "HorizontalPodAutoscaler").spec.minReplicas = 1;
        object(m, "PodDisruptionBudget").spec = {
          minAvailable: 2,
          selector: object(m, "PodDisruptionBudget").spec.selector,
        };
        delete serverContainer(m).resources.requests.cpu;
      }),
      FACTS,
    ),
    /fewer than 2 replicas/,
    /minReplicas 1/,
    /no CPU request/,
    /must keep one replica and let one go/,
  );
});

Deno.test("deploy/kubernetes: hardened containers, and the image tag is the server's version", () => {
  assert.deepEqual(checkHardening(SHIPPED, FACTS), []);
  assertCaught(
    checkHardening(
      mutated((m) => {
        const redis = object(m, "Deployment", "mcp-redis").spec.template.spec;
        redis.containers[0].securityContext.readOnlyRootFilesystem = false;
        redis.containers[0].image = "redis:latest";
        delete object(m, "Deployment").spec.template.spec.securityContext.runAsUser;
        serverContainer(m).securityContext.capabilities.drop = [];
        serverContainer(m).image = "mcp-tool-server:0.0.9";
        m.kustomization.images![0].newTag = "latest";
      }),
      FACTS,
    ),
    /"redis": readOnlyRootFilesystem is not true/,
    /"redis": image redis:latest is not pinned/,
    /"mcp-tool-server": no numeric non-root runAsUser/,
    /"mcp-tool-server": does not drop ALL capabilities/,
    /server image mcp-tool-server:0\.0\.9, expected mcp-tool-server:0\.1\.0/,
    /newTag latest, expected/,
  );
});

Deno.test("deploy/kubernetes: the NetworkPolicies let the server reach DNS and its URLs' ports, and only the server reach Redis", () => {
  assert.deepEqual(checkNetwork(SHIPPED, FACTS), []);
  assertCaught(
    checkNetwork(
      mutated((m) => {
        const data = object(m, "Secret").stringData;
        data["db-url"] = data["db-url"].replace(":5432/", ":6432/");
        data["api-base-url"] = "https://upstream.example.invalid:8443/v1";
        const policy = object(m, "NetworkPolicy").spec;
        policy.ingress[0].ports.push({ protocol: "TCP", port: 9090 });
        policy.egress = policy.egress.filter((r: Any) => r.ports[0].port !== 53);
        object(m, "NetworkPolicy", "mcp-redis").spec.ingress[0].from[0].podSelector.matchLabels = {
          app: "other",
        };
      }),
      FACTS,
    ),
    /no egress to DB_URL's port 6432/,
    /no egress to API_BASE_URL's port 8443/,
    /ingress on port 9090/,
    /no egress to DNS/,
    /mcp-redis's NetworkPolicy does not let the server's pods in on 6379/,
  );
  assertCaught(
    checkNetwork(
      mutated((m) => {
        const egress = object(m, "NetworkPolicy").spec.egress;
        egress.find((r: Any) => r.ports[0].port === 6379).to[0].podSelector.matchLabels = {
          "app.kubernetes.io/name": "redis",
        };
      }),
      FACTS,
    ),
    /the egress rule for REDIS_URL does not select mcp-redis's pods/,
  );
});

Deno.test("deploy/kubernetes: the tools file is a read-only ConfigMap mount at TOOLS_FILE, and the server checks and runs its tools", async () => {
  const { pod, container } = serverWorkload(SHIPPED, FACTS);
  const { env } = containerEnv(SHIPPED, container);
  const path = env.get("TOOLS_FILE");
  assert.equal(path, "/etc/mcp-tool-server/tools.yaml");
  // Inside the folder the image may read, on a read-only mount of the ConfigMap the kustomization lists.
  assert.ok(FACTS.readGrants === "all" || FACTS.readGrants.includes("/etc/mcp-tool-server"));
  assert.equal(mountOf(container, path)?.mountPath, "/etc/mcp-tool-server");
  assert.equal(mountOf(container, path)?.readOnly, true);
  const volume = pod.volumes?.find((v) => v.name === mountOf(container, path)?.name);
  assert.equal(volume?.configMap?.name, "mcp-tool-server-tools");
  assert.ok(SHIPPED.kustomization.resources.includes("tools-configmap.yaml"));
  const file = mountedFile(SHIPPED, pod, container, path);
  assert.ok("value" in file, JSON.stringify(file));

  // The server's own tools-file check, on the file as the pod sees it.
  const dir = await Deno.makeTempDir({ prefix: "mcp-k8s-tools-" });
  try {
    const toolsFile = `${dir}/tools.yaml`;
    await Deno.writeTextFile(toolsFile, file.value);
    const checked = await checkToolsFile(toolsFile, Object.fromEntries(env));
    assert.ok(checked.ok, JSON.stringify(checked));
    const sqlTools = [...checked.file.tools].filter(([, t]) => t.kind === "sql").map(([n]) => n);
    assert.deepEqual(sqlTools.sort(), [
      "list_tables",
      "table_columns",
    ]);
    // Its tools read only the catalog, so they answer on any PostgreSQL: here the embedded one.
    const app = await createTestApp({ env: { TOOLS_FILE: toolsFile } });
    try {
      const tables = await postJson(app, "/v1/mcp/list_tables", {});
      assert.equal(tables.status, 200);
      const names = (await tables.json()).rows.map((r: Any) => r.table_name);
      assert.ok(names.includes("customers"), JSON.stringify(names));
      const columns = await postJson(app, "/v1/mcp/table_columns", {
        table_name: "customers",
        table_schema: "public",
      });
      assert.equal(columns.status, 200);
      const rows = (await columns.json()).rows;
      assert.deepEqual(rows.slice(0, 2).map((r: Any) => r.column_name), ["id", "name"]);
      assert.equal(typeof rows[0].nullable, "boolean");
    } finally {
      await app.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  // The checker fails: a writable mount, a TOOLS_FILE outside it, a key the ConfigMap lacks.
  assertCaught(
    checkEnvironment(
      mutated((m) => {
        const mount = serverContainer(m).volumeMounts.find((v: Any) => v.name === "tools");
        mount.readOnly = false;
      }),
      FACTS,
    ),
    /TOOLS_FILE: the volume mount at \/etc\/mcp-tool-server is not readOnly/,
  );
  assertCaught(
    checkEnvironment(
      mutated((m) => object(m, "ConfigMap").data.TOOLS_FILE = "/etc/mcp/tools.yaml"),
      FACTS,
    ),
    /TOOLS_FILE: \/etc\/mcp\/tools\.yaml is not inside any volume mount/,
    /TOOLS_FILE: the image's sandbox cannot read/,
  );
  assertCaught(
    checkEnvironment(
      mutated((m) => object(m, "ConfigMap").data.TOOLS_FILE = "/etc/mcp-tool-server/tools.yml"),
      FACTS,
    ),
    /TOOLS_FILE: .*ConfigMap "mcp-tool-server-tools" has no key "tools\.yml"/,
  );
  assertCaught(
    checkKustomization(mutated((m) => {
      m.kustomization.resources = m.kustomization.resources.filter((f) =>
        f !== "tools-configmap.yaml"
      );
    })),
    /"tools-configmap\.yaml" is not listed/,
  );
});

Deno.test("deploy/kubernetes: the NetworkPolicy admits Prometheus from the monitoring namespace to the server port, and no other pod there", () => {
  const ns = "mcp-tool-server";
  const prometheus = {
    namespace: "monitoring",
    labels: { "app.kubernetes.io/name": "prometheus" },
  };
  const reaches = (m: Manifests, peer: Parameters<typeof admitsIngress>[3], port = 8000) =>
    admitsIngress(m, FACTS, ns, peer, port);
  assert.equal(reaches(SHIPPED, prometheus), true);
  assert.equal(reaches(SHIPPED, { namespace: "monitoring", labels: {} }), false);
  assert.equal(reaches(SHIPPED, prometheus, 9090), false);
  assert.equal(reaches(SHIPPED, { ...prometheus, namespace: "default" }), false);
  assert.equal(reaches(SHIPPED, { ...prometheus, namespace: ns }), false);
  // The other ways in are unchanged: the ingress controller, labelled clients.
  assert.equal(reaches(SHIPPED, { namespace: "ingress-nginx", labels: {} }), true);
  assert.equal(
    reaches(SHIPPED, { namespace: ns, labels: { "mcp-tool-server/client": "true" } }),
    true,
  );
  assert.equal(reaches(SHIPPED, { namespace: ns, labels: {} }), false);
  assert.equal(
    reaches(SHIPPED, { namespace: "default", labels: { "mcp-tool-server/client": "true" } }),
    false,
  );

  // The scrape path is a route the server serves, and the comment names its guard.
  assert.ok(FACTS.getPaths.has("/metrics"));

  // The model can fail: the selectors split into two entries (the usual YAML
  // slip) admit the whole namespace; without any policy, everyone gets in.
  const split = mutated((m) => {
    const from = object(m, "NetworkPolicy").spec.ingress[0].from;
    const entry = from.find((e: Any) => e.namespaceSelector && e.podSelector);
    from.push({ podSelector: entry.podSelector });
    delete entry.podSelector;
  });
  assert.equal(reaches(split, { namespace: "monitoring", labels: {} }), true);
  const open = mutated((m) => {
    m.objects = m.objects.filter((o) => o.object.kind !== "NetworkPolicy");
  });
  assert.equal(reaches(open, { namespace: "monitoring", labels: {} }), true);
});

Deno.test("deploy/kubernetes: deploy/prometheus.yml's Kubernetes job scrapes each server pod's port at /metrics with the token", async () => {
  const text = await Deno.readTextFile(new URL("../../deploy/prometheus.yml", import.meta.url));
  const block = text.match(/# BEGIN kubernetes job\n([\s\S]*?)\n\s*# END kubernetes job/);
  assert.ok(block, "no Kubernetes job in deploy/prometheus.yml");
  const jobText = block[1].split("\n").map((l) => l.replace(/^ {2}# ?/, "")).join("\n");
  const [job] = parse(jobText) as Any[];
  assert.equal(job.metrics_path, "/metrics");
  assert.ok(FACTS.getPaths.has(job.metrics_path));
  assert.ok(job.authorization?.credentials_file, "the job sends no METRICS_TOKEN");
  assert.equal(job.kubernetes_sd_configs[0].role, "pod");
  // The keep rule picks the server's pods on the container port the NetworkPolicy opens.
  const { deployment, container } = serverWorkload(SHIPPED, FACTS);
  const keep = job.relabel_configs.find((r: Any) => r.action === "keep");
  const [podLabel, portName] = keep.regex.split(";");
  assert.equal(podLabel, deployment.spec?.template.metadata?.labels?.["app.kubernetes.io/name"]);
  const port = container.ports?.find((p) => p.name === portName)?.containerPort;
  assert.equal(port, Number(object(SHIPPED, "ConfigMap").data.PORT));
  assert.equal(
    admitsIngress(SHIPPED, FACTS, "mcp-tool-server", {
      namespace: "monitoring",
      labels: { "app.kubernetes.io/name": "prometheus" },
    }, port!),
    true,
  );
  // promtool accepts the job as a whole config.
  const promtool = await commandUnavailable("promtool", "Debian package prometheus");
  if (promtool) return console.log(`Skipping promtool: ${promtool}`);
  const dir = await Deno.makeTempDir({ prefix: "mcp-k8s-prom-" });
  try {
    await Deno.writeTextFile(`${dir}/mcp_metrics_token`, "token");
    job.authorization.credentials_file = `${dir}/mcp_metrics_token`;
    await Deno.writeTextFile(`${dir}/prometheus.yml`, stringify({ scrape_configs: [job] }));
    const out = await new Deno.Command("promtool", {
      args: ["check", "config", `${dir}/prometheus.yml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    // Debian builds Prometheus without Kubernetes discovery: its promtool cannot judge the job.
    if (/field kubernetes_sd_configs not found/.test(output)) {
      return console.log("Skipping promtool: this build has no Kubernetes service discovery");
    }
    assert.equal(out.code, 0, output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
