/**
 * Reads `deploy/kubernetes/` for the tests and checks it two ways: every object
 * against the Kubernetes API schemas (`kubernetes-models`), and every name,
 * path, port and number that must agree with the server against the server's
 * own code (its config parser, secret-file resolver, route table, shutdown
 * grace, version and sandbox flags). Each check returns its problems, empty
 * when all is well, so a test can hand it a mutated copy and watch it complain.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import {
  ConfigMap,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type IProbe,
  type ISecret,
  type IService,
  type IVolumeMount,
  Secret,
  Service,
} from "kubernetes-models/v1";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from "kubernetes-models/autoscaling/v2";
import { type IPodDisruptionBudget, PodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  type INetworkPolicy,
  type INetworkPolicyPort,
  NetworkPolicy,
} from "kubernetes-models/networking.k8s.io/v1";
import {
  type Config,
  CONFIG_VARIABLES,
  ConfigError,
  parseConfig,
  SECRET_VARIABLES,
} from "../../src/config/env.ts";
import { resolveSecretFiles } from "../../src/config/secret_files.ts";

export const KUBERNETES_DIR = new URL("../../deploy/kubernetes/", import.meta.url);

/** One object of one manifest file. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The `kustomization.yaml` fields these files use. */
export interface Kustomization {
  apiVersion: string;
  kind: string;
  namespace?: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  [field: string]: unknown;
}

/** The whole folder, parsed. */
export interface Manifests {
  /** Every `*.yaml`/`*.yml` file in the folder, sorted. */
  files: string[];
  kustomization: Kustomization;
  objects: { file: string; object: KubeObject }[];
}

/** What the checks compare the manifests with: facts taken from the server's code. */
export interface ServerFacts {
  /** The server's name (src/version.ts): its Deployment, container and image are named so. */
  name: string;
  /** The server's version (src/version.ts): the image tag. */
  version: string;
  /** Paths the route table answers to GET. */
  getPaths: ReadonlySet<string>;
  /** How long the server lets in-flight requests finish after SIGTERM (main.ts). */
  shutdownGraceMs: number;
  /** The image's `--allow-read` grants (the compile task's flags); "all" for a bare flag. */
  readGrants: readonly string[] | "all";
}

/** Reads and parses the folder; YAML syntax errors throw. */
export async function loadManifests(dir: URL = KUBERNETES_DIR): Promise<Manifests> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /\.ya?ml$/.test(entry.name)) files.push(entry.name);
  }
  files.sort();
  const parse = async (file: string): Promise<unknown[]> => {
    const docs = parseAllDocuments(await Deno.readTextFile(new URL(file, dir)));
    if (!Array.isArray(docs)) return [];
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    }
    return docs.map((d) => d.toJS()).filter((o) => o !== null);
  };
  const [kustomization] = await parse("kustomization.yaml") as Kustomization[];
  const objects: Manifests["objects"] = [];
  for (const file of kustomization.resources ?? []) {
    if (!files.includes(file)) continue; // reported by checkKustomization
    for (const object of await parse(file)) objects.push({ file, object: object as KubeObject });
  }
  return { files, kustomization, objects };
}

// ---------------------------------------------------------------------------
// Schemas

/** The kinds the folder may hold, with their model (schema) class. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

/** The module and interface of each kind, for the strict (unknown-field) type check. */
const TYPES: Record<string, { module: string; type: string }> = {
  "v1/ConfigMap": { module: "kubernetes-models/v1", type: "IConfigMap" },
  "v1/Secret": { module: "kubernetes-models/v1", type: "ISecret" },
  "v1/Service": { module: "kubernetes-models/v1", type: "IService" },
  "apps/v1/Deployment": { module: "kubernetes-models/apps/v1", type: "IDeployment" },
  "autoscaling/v2/HorizontalPodAutoscaler": {
    module: "kubernetes-models/autoscaling/v2",
    type: "IHorizontalPodAutoscaler",
  },
  "policy/v1/PodDisruptionBudget": {
    module: "kubernetes-models/policy/v1",
    type: "IPodDisruptionBudget",
  },
  "networking.k8s.io/v1/NetworkPolicy": {
    module: "kubernetes-models/networking.k8s.io/v1",
    type: "INetworkPolicy",
  },
};

const typeKey = (o: KubeObject) => `${o.apiVersion}/${o.kind}`;
const label = (file: string, o: KubeObject) => `${file}: ${o.kind} "${o.metadata?.name ?? "?"}"`;

/** The kustomization lists exactly the folder's manifest files, in a known shape. */
export function checkKustomization(m: Manifests): string[] {
  const problems: string[] = [];
  const k = m.kustomization;
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
    problems.push("kustomization.yaml: expected kustomize.config.k8s.io/v1beta1 Kustomization");
  }
  const known = new Set(["apiVersion", "kind", "namespace", "resources", "images"]);
  for (const field of Object.keys(k)) {
    if (!known.has(field)) problems.push(`kustomization.yaml: unexpected field "${field}"`);
  }
  const listed = [...(k.resources ?? [])].sort();
  const present = m.files.filter((f) => f !== "kustomization.yaml");
  for (const f of listed) {
    if (!present.includes(f)) problems.push(`kustomization.yaml lists "${f}", which is not there`);
  }
  for (const f of present) {
    if (!listed.includes(f)) problems.push(`"${f}" is not listed in kustomization.yaml`);
  }
  if (new Set(listed).size !== listed.length) {
    problems.push("kustomization.yaml lists a file twice");
  }
  return problems;
}

/** Every object is a kind we know and valid against its Kubernetes schema. */
export function checkSchemas(m: Manifests): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const { file, object } of m.objects) {
    const Model = MODELS[typeKey(object)];
    if (!Model) {
      problems.push(`${file}: unknown kind ${typeKey(object)} (add it to the checker's MODELS)`);
      continue;
    }
    try {
      new Model(object as never).validate();
    } catch (error) {
      problems.push(`${label(file, object)}: ${(error as Error).message}`);
    }
    if (!object.metadata?.name) problems.push(`${label(file, object)}: no metadata.name`);
    const id = `${object.kind}/${object.metadata?.name}`;
    if (names.has(id)) problems.push(`${label(file, object)}: defined twice`);
    names.add(id);
    if ("namespace" in (object.metadata ?? {})) {
      problems.push(`${label(file, object)}: sets a namespace (the folder is namespace-agnostic)`);
    }
  }
  return problems;
}

/**
 * TypeScript source that assigns each object to its `kubernetes-models`
 * interface: type-checking it finds fields no schema has (the schemas'
 * validators let unknown fields through; `kubectl apply`'s strict field
 * validation does not).
 */
export function strictTypeSource(m: Manifests): string {
  const imports = new Map<string, Set<string>>();
  const lines: string[] = [];
  m.objects.forEach(({ file, object }, i) => {
    const t = TYPES[typeKey(object)];
    if (!t) return; // reported by checkSchemas
    imports.set(t.module, (imports.get(t.module) ?? new Set()).add(t.type));
    lines.push(`// ${file}`, `export const object${i}: ${t.type} = ${JSON.stringify(object)};`);
  });
  const head = [...imports].map(([module, types]) =>
    `import type { ${[...types].join(", ")} } from "${module}";`
  );
  return [...head, ...lines, ""].join("\n");
}

// ---------------------------------------------------------------------------
// Lookups

function objectsOf<T>(m: Manifests, kind: string): { file: string; object: T }[] {
  return m.objects.filter((o) => o.object.kind === kind) as unknown as {
    file: string;
    object: T;
  }[];
}

function named<T extends { metadata?: { name?: string } }>(
  m: Manifests,
  kind: string,
  name: string,
): T | undefined {
  return objectsOf<T>(m, kind).find((o) => o.object.metadata?.name === name)?.object;
}

/** The server's Deployment, pod spec and container (named for the server). */
export function serverWorkload(
  m: Manifests,
  facts: Pick<ServerFacts, "name">,
): { deployment: IDeployment; pod: IPodSpec; container: IContainer } {
  const deployment = named<IDeployment>(m, "Deployment", facts.name);
  const pod = deployment?.spec?.template.spec;
  const container = pod?.containers.find((c) => c.name === facts.name);
  if (!deployment || !pod || !container) {
    throw new Error(`no Deployment "${facts.name}" with a container "${facts.name}"`);
  }
  return { deployment, pod, container };
}

/** A Secret's or ConfigMap's value by key (stringData wins, as the API server merges it). */
function secretValue(secret: ISecret, key: string): string | undefined {
  const s = secret.stringData?.[key];
  if (s !== undefined) return s;
  const d = secret.data?.[key];
  return d === undefined ? undefined : new TextDecoder().decode(
    Uint8Array.from(atob(d), (c) => c.charCodeAt(0)),
  );
}

/**
 * The container's environment as the kubelet builds it: `envFrom` first,
 * then `env` (which wins). Problems for references to objects not in the folder.
 */
export function containerEnv(
  m: Manifests,
  container: IContainer,
): { env: Map<string, string | undefined>; problems: string[] } {
  const env = new Map<string, string | undefined>();
  const problems: string[] = [];
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? "";
    if (source.configMapRef) {
      const cm = named<IConfigMap>(m, "ConfigMap", source.configMapRef.name ?? "");
      if (!cm) problems.push(`envFrom: no ConfigMap "${source.configMapRef.name}"`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(prefix + k, v);
    }
    if (source.secretRef) {
      const secret = named<ISecret>(m, "Secret", source.secretRef.name ?? "");
      if (!secret) problems.push(`envFrom: no Secret "${source.secretRef.name}"`);
      const keys = [...Object.keys(secret?.data ?? {}), ...Object.keys(secret?.stringData ?? {})];
      for (const k of keys) env.set(prefix + k, secretValue(secret!, k));
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env.set(variable.name, variable.value);
    } else if (variable.valueFrom?.secretKeyRef) {
      const ref = variable.valueFrom.secretKeyRef;
      const secret = named<ISecret>(m, "Secret", ref.name ?? "");
      const value = secret && secretValue(secret, ref.key);
      if (value === undefined) {
        problems.push(`${variable.name}: no key "${ref.key}" in Secret "${ref.name}"`);
      }
      env.set(variable.name, value);
    } else if (variable.valueFrom?.configMapKeyRef) {
      const ref = variable.valueFrom.configMapKeyRef;
      const value = named<IConfigMap>(m, "ConfigMap", ref.name ?? "")?.data?.[ref.key];
      if (value === undefined) {
        problems.push(`${variable.name}: no key "${ref.key}" in ConfigMap "${ref.name}"`);
      }
      env.set(variable.name, value);
    } else {
      env.set(variable.name, "");
    }
  }
  return { env, problems };
}

/** The container's volume mount that holds `path`, if any. */
export function mountOf(container: IContainer, path: string): IVolumeMount | undefined {
  return (container.volumeMounts ?? []).find((v) =>
    path.startsWith(v.mountPath.replace(/\/$/, "") + "/")
  );
}

/**
 * The content the container sees at `path`, from a Secret or ConfigMap volume
 * in the folder; or why there is none.
 */
export function mountedFile(
  m: Manifests,
  pod: IPodSpec,
  container: IContainer,
  path: string,
): { value: string } | { problem: string } {
  const mount = mountOf(container, path);
  if (!mount) return { problem: `${path} is not inside any volume mount of the container` };
  if (mount.subPath) return { problem: `${path}: subPath mounts are not followed by the checker` };
  const rel = path.slice(mount.mountPath.replace(/\/$/, "").length + 1);
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  const source = volume?.secret ?? volume?.configMap;
  if (!volume || !source) {
    return { problem: `${path}: volume "${mount.name}" is not a Secret or ConfigMap volume` };
  }
  const key = source.items ? source.items.find((i) => i.path === rel)?.key : rel;
  if (volume.secret) {
    const secret = named<ISecret>(m, "Secret", volume.secret.secretName ?? "");
    if (!secret) return { problem: `${path}: no Secret "${volume.secret.secretName}"` };
    const value = key === undefined ? undefined : secretValue(secret, key);
    if (value === undefined) {
      return { problem: `${path}: Secret "${volume.secret.secretName}" has no key "${rel}"` };
    }
    return { value };
  }
  const cm = named<IConfigMap>(m, "ConfigMap", volume.configMap!.name ?? "");
  const value = key === undefined ? undefined : cm?.data?.[key];
  if (value === undefined) {
    return { problem: `${path}: ConfigMap "${volume.configMap!.name}" has no key "${rel}"` };
  }
  return { value };
}

const inGrant = (path: string, grants: ServerFacts["readGrants"]) =>
  grants === "all" || grants.some((g) => path === g || path.startsWith(g.replace(/\/$/, "") + "/"));

// ---------------------------------------------------------------------------
// The server's environment

/**
 * Every variable the container gets is one the server reads: a name of its
 * config schema, or `<secret>_FILE` for a secret variable. Every path handed
 * over in a `*_FILE` variable is a key of a Secret (or ConfigMap) mounted
 * read-only, inside a read grant of the image's sandbox (`LOG_FILE`, a file to write, is
 * refused: the image may write none).
 */
export function checkEnvironment(m: Manifests, facts: ServerFacts): string[] {
  const { pod, container } = serverWorkload(m, facts);
  const { env, problems } = containerEnv(m, container);
  for (const [name, value] of env) {
    const base = name.replace(/_FILE$/, "");
    const secretFile = name.endsWith("_FILE") && SECRET_VARIABLES.has(base);
    if (!CONFIG_VARIABLES.has(name) && !secretFile) {
      problems.push(
        `${name}: not a variable the server reads (src/config/env.ts)` +
          (name.endsWith("_FILE") ? `, nor the _FILE form of a secret variable` : ""),
      );
    }
    if (secretFile && env.get(base)) {
      problems.push(`${name}: ${base} is set too (a start-up error)`);
    }
    if (name === "LOG_FILE") {
      problems.push("LOG_FILE: the image may not write files; logs go to stdout");
      continue;
    }
    // Every other *_FILE names a file the server reads.
    if (name.endsWith("_FILE") && value) {
      if (!value.startsWith("/")) {
        problems.push(`${name}: ${value} is not an absolute path`);
        continue;
      }
      const file = mountedFile(m, pod, container, value);
      if ("problem" in file) problems.push(`${name}: ${file.problem}`);
      const mount = mountOf(container, value);
      if (mount && mount.readOnly !== true) {
        problems.push(`${name}: the volume mount at ${mount.mountPath} is not readOnly`);
      }
      if (!inGrant(value, facts.readGrants)) {
        problems.push(
          `${name}: the image's sandbox cannot read ${value} (the compile task grants ` +
            `--allow-read=${facts.readGrants === "all" ? "" : facts.readGrants.join(",")})`,
        );
      }
    }
  }
  return problems;
}

/**
 * Runs the container's environment through the server's own start-up path:
 * `NAME_FILE` read from the mounted files by `resolveSecretFiles`, then
 * `parseConfig`. Returns the config, or the parser's problem lines.
 */
export function parseServerConfig(
  m: Manifests,
  facts: Pick<ServerFacts, "name">,
): { config: Config } | { problems: readonly string[] } {
  const { pod, container } = serverWorkload(m, facts);
  const { env } = containerEnv(m, container);
  const readText = (path: string) => {
    const file = mountedFile(m, pod, container, path);
    if ("problem" in file) throw new Deno.errors.NotFound(file.problem);
    return file.value;
  };
  try {
    return { config: parseConfig(resolveSecretFiles(Object.fromEntries(env), readText)) };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Ports, probes, shutdown

/** The server's port as its own parser reads the container's PORT. */
function serverPort(m: Manifests, facts: ServerFacts): { port: number; host: string } {
  const { container } = serverWorkload(m, facts);
  const { env } = containerEnv(m, container);
  const config = parseConfig({ PORT: env.get("PORT"), HOST: env.get("HOST") });
  return { port: config.port, host: config.host };
}

/** A container port by name or number, as probes and Services name it. */
function resolvePort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * The container listens where the server does (PORT, on a non-loopback HOST),
 * and each probe asks a path the route table serves, on that port: liveness
 * `/health/live`, readiness `/health/ready`.
 */
export function checkProbes(m: Manifests, facts: ServerFacts): string[] {
  const problems: string[] = [];
  const { container } = serverWorkload(m, facts);
  let server;
  try {
    server = serverPort(m, facts);
  } catch (error) {
    return [`PORT/HOST: ${(error as Error).message}`];
  }
  if (/^(127\.|localhost$|::1$|\[::1\]$)/.test(server.host)) {
    problems.push(`HOST ${server.host} is loopback: probes and the Service cannot reach it`);
  }
  if (!(container.ports ?? []).some((p) => p.containerPort === server.port)) {
    problems.push(`no containerPort ${server.port} (the server's PORT)`);
  }
  const probes: [string, IProbe | undefined, string | undefined][] = [
    ["livenessProbe", container.livenessProbe, "/health/live"],
    ["readinessProbe", container.readinessProbe, "/health/ready"],
    ["startupProbe", container.startupProbe, undefined],
  ];
  for (const [name, probe, expected] of probes) {
    if (!probe) {
      if (expected) problems.push(`${name}: missing`);
      continue;
    }
    const get = probe.httpGet;
    if (!get) {
      problems.push(`${name}: expected an httpGet probe`);
      continue;
    }
    if (expected && get.path !== expected) {
      problems.push(`${name}: path ${get.path}, expected ${expected}`);
    }
    if (!facts.getPaths.has(get.path ?? "")) {
      problems.push(`${name}: the server serves no GET ${get.path} (src/http/routes.ts)`);
    }
    const port = resolvePort(container, get.port);
    if (port !== server.port) {
      problems.push(`${name}: port ${get.port} is not the server's port ${server.port}`);
    }
    if ((get.scheme ?? "HTTP") !== "HTTP") problems.push(`${name}: scheme ${get.scheme}`);
  }
  return problems;
}

/**
 * Shutdown: a preStop `sleep` (the image has no shell or sleep binary) so the
 * endpoints go before the server stops accepting, and a grace period longer
 * than that sleep plus the server's own drain.
 */
export function checkShutdown(m: Manifests, facts: ServerFacts): string[] {
  const problems: string[] = [];
  const { pod, container } = serverWorkload(m, facts);
  const preStop = container.lifecycle?.preStop;
  if (preStop?.exec) {
    problems.push("preStop: exec needs a binary the distroless image lacks; use sleep");
  }
  if (!preStop?.sleep) problems.push("preStop: expected a sleep action");
  const sleep = preStop?.sleep?.seconds ?? 0;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  const needed = sleep + facts.shutdownGraceMs / 1000;
  if (!(grace > needed)) {
    problems.push(
      `terminationGracePeriodSeconds ${grace} must exceed the preStop sleep (${sleep} s) plus ` +
        `the server's shutdown grace (${facts.shutdownGraceMs / 1000} s)`,
    );
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Selectors, scaling

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Does `selector` select pods labelled `labels`? (An empty selector selects all.) */
export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok = e.operator === "In"
      ? has && (e.values ?? []).includes(labels[e.key])
      : e.operator === "NotIn"
      ? !has || !(e.values ?? []).includes(labels[e.key])
      : e.operator === "Exists"
      ? has
      : e.operator === "DoesNotExist"
      ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

/** A Service's selector is a plain label map; none selects no pods here. */
const serviceSelector = (service: IService): Selector | undefined =>
  service.spec?.selector ? { matchLabels: service.spec.selector } : undefined;

/** The Deployments whose pods a selector picks. */
function selected(m: Manifests, selector: Selector | undefined): string[] {
  return objectsOf<IDeployment>(m, "Deployment")
    .filter(({ object }) => selects(selector, object.spec?.template.metadata?.labels ?? {}))
    .map(({ object }) => object.metadata?.name ?? "?");
}

/**
 * Each Deployment selects its own pods and no other's; each Service,
 * PodDisruptionBudget and NetworkPolicy picks exactly one Deployment's pods
 * (Services on a port that Deployment's container has); the HPA targets an
 * existing Deployment.
 */
export function checkSelectors(m: Manifests): string[] {
  const problems: string[] = [];
  for (const { file, object } of objectsOf<IDeployment>(m, "Deployment")) {
    const picks = selected(m, object.spec?.selector);
    if (picks.length !== 1 || picks[0] !== object.metadata?.name) {
      problems.push(`${file}: its selector picks the pods of [${picks.join(", ")}]`);
    }
  }
  const single = (file: string, what: string, selector: Selector | undefined) => {
    const picks = selected(m, selector);
    if (picks.length !== 1) {
      problems.push(`${file}: ${what} picks the pods of [${picks.join(", ")}]`);
    }
    return picks[0];
  };
  for (const { file, object } of objectsOf<IService>(m, "Service")) {
    const target = single(file, "the Service selector", serviceSelector(object));
    const deployment = target ? named<IDeployment>(m, "Deployment", target) : undefined;
    for (const port of object.spec?.ports ?? []) {
      const containers = deployment?.spec?.template.spec?.containers ?? [];
      const targetPort = port.targetPort ?? port.port;
      const declared = containers.some((c) => {
        const number = resolvePort(c, targetPort);
        return (c.ports ?? []).some((p) => p.containerPort === number);
      });
      if (!declared) {
        problems.push(`${file}: targetPort ${targetPort} is no container port of "${target}"`);
      }
    }
  }
  for (const { file, object } of objectsOf<IPodDisruptionBudget>(m, "PodDisruptionBudget")) {
    single(file, "the PodDisruptionBudget selector", object.spec?.selector);
  }
  for (const { file, object } of objectsOf<INetworkPolicy>(m, "NetworkPolicy")) {
    single(file, "the NetworkPolicy podSelector", object.spec?.podSelector);
  }
  for (
    const { file, object } of objectsOf<IHorizontalPodAutoscaler>(m, "HorizontalPodAutoscaler")
  ) {
    const ref = object.spec?.scaleTargetRef;
    if (
      ref?.kind !== "Deployment" || ref.apiVersion !== "apps/v1" ||
      !named(m, "Deployment", ref.name)
    ) {
      problems.push(`${file}: scaleTargetRef ${JSON.stringify(ref)} is no Deployment here`);
    }
  }
  return problems;
}

/**
 * The server runs 2+ replicas; the HPA scales it on CPU (which needs a CPU
 * request) from 2 up; the PodDisruptionBudget lets a drain take one at a time.
 */
export function checkScaling(m: Manifests, facts: ServerFacts): string[] {
  const problems: string[] = [];
  const { deployment, container } = serverWorkload(m, facts);
  if ((deployment.spec?.replicas ?? 1) < 2) problems.push("Deployment: fewer than 2 replicas");
  const hpa = objectsOf<IHorizontalPodAutoscaler>(m, "HorizontalPodAutoscaler")
    .find((h) => h.object.spec?.scaleTargetRef.name === facts.name)?.object;
  if (!hpa) {
    problems.push("no HorizontalPodAutoscaler for the server");
  } else {
    const { minReplicas = 1, maxReplicas, metrics = [] } = hpa.spec!;
    if (minReplicas < 2) problems.push(`HPA: minReplicas ${minReplicas} (at least 2)`);
    if (maxReplicas <= minReplicas) problems.push("HPA: maxReplicas must exceed minReplicas");
    if (!metrics.some((x) => x.type === "Resource" && x.resource?.name === "cpu")) {
      problems.push("HPA: no CPU metric");
    }
  }
  if (!container.resources?.requests?.cpu) {
    problems.push("container: no CPU request (the HPA needs it)");
  }
  const pdb = objectsOf<IPodDisruptionBudget>(m, "PodDisruptionBudget")
    .find((p) => selects(p.object.spec?.selector, deployment.spec?.template.metadata?.labels ?? {}))
    ?.object;
  if (!pdb) {
    problems.push("no PodDisruptionBudget for the server's pods");
  } else {
    const { minAvailable, maxUnavailable } = pdb.spec!;
    const floor = Math.min(deployment.spec?.replicas ?? 1, hpa?.spec?.minReplicas ?? Infinity);
    const blocks = typeof minAvailable === "number"
      ? minAvailable >= floor || minAvailable < 1
      : typeof maxUnavailable === "number"
      ? maxUnavailable < 1
      : minAvailable === "100%" || maxUnavailable === "0%";
    if (blocks) problems.push("PodDisruptionBudget: must keep one replica and let one go");
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Hardening, image

/**
 * Every container: non-root by number (the kubelet cannot check a user name),
 * read-only root filesystem, no privilege escalation, no capabilities,
 * RuntimeDefault seccomp, CPU and memory requests and limits, a pinned image;
 * no service-account token. The server's image tag is the server's version,
 * in the Deployment and in the kustomization.
 */
export function checkHardening(m: Manifests, facts: ServerFacts): string[] {
  const problems: string[] = [];
  for (const { file, object } of objectsOf<IDeployment>(m, "Deployment")) {
    const pod = object.spec?.template.spec;
    if (!pod) continue;
    if (pod.automountServiceAccountToken !== false) {
      problems.push(`${file}: automountServiceAccountToken is not false`);
    }
    for (const c of pod.containers) {
      const at = `${file}: container "${c.name}"`;
      const sc = c.securityContext ?? {};
      const psc = pod.securityContext ?? {};
      if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) {
        problems.push(`${at}: runAsNonRoot is not true`);
      }
      const uid = sc.runAsUser ?? psc.runAsUser;
      if (!(typeof uid === "number" && uid > 0)) {
        problems.push(`${at}: no numeric non-root runAsUser`);
      }
      if (sc.readOnlyRootFilesystem !== true) {
        problems.push(`${at}: readOnlyRootFilesystem is not true`);
      }
      if (sc.allowPrivilegeEscalation !== false) {
        problems.push(`${at}: allowPrivilegeEscalation is not false`);
      }
      if (sc.privileged) problems.push(`${at}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
        problems.push(`${at}: does not drop ALL capabilities`);
      }
      if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities`);
      if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== "RuntimeDefault") {
        problems.push(`${at}: seccomp profile is not RuntimeDefault`);
      }
      for (const kind of ["requests", "limits"] as const) {
        for (const resource of ["cpu", "memory"]) {
          if (!c.resources?.[kind]?.[resource]) problems.push(`${at}: no ${resource} ${kind}`);
        }
      }
      if (!/:[\w][\w.-]*$/.test(c.image ?? "") || /:latest$/.test(c.image ?? "")) {
        problems.push(`${at}: image ${c.image} is not pinned to a tag`);
      }
    }
  }
  const { container } = serverWorkload(m, facts);
  if (container.image !== `${facts.name}:${facts.version}`) {
    problems.push(`server image ${container.image}, expected ${facts.name}:${facts.version}`);
  }
  const image = m.kustomization.images?.find((i) => i.name === facts.name);
  if (image?.newTag !== facts.version) {
    problems.push(
      `kustomization.yaml: images ${facts.name} newTag ${image?.newTag}, expected ${facts.version}`,
    );
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Network

function allowsPort(
  ports: INetworkPolicyPort[] | undefined,
  port: number,
  protocol: string,
): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) =>
    (p.protocol ?? "TCP") === protocol &&
    (p.port === undefined ||
      (typeof p.port === "number" && port >= p.port && port <= (p.endPort ?? p.port)))
  );
}

const DEFAULT_PORTS: Record<string, number> = {
  "postgres:": 5432,
  "postgresql:": 5432,
  "redis:": 6379,
  "rediss:": 6379,
  "http:": 80,
  "https:": 443,
};

/**
 * The server's NetworkPolicy: ingress only on the server port; egress to DNS
 * and to the ports of DB_URL, REDIS_URL and API_BASE_URL as the Secret gives
 * them. When REDIS_URL names a Service of the folder, that egress rule selects
 * its pods, and the Redis pods' own policy lets the server's pods in on that port.
 */
export function checkNetwork(m: Manifests, facts: ServerFacts): string[] {
  const problems: string[] = [];
  const { deployment } = serverWorkload(m, facts);
  const serverLabels = deployment.spec?.template.metadata?.labels ?? {};
  const policy = objectsOf<INetworkPolicy>(m, "NetworkPolicy")
    .find((p) => selects(p.object.spec?.podSelector, serverLabels))?.object;
  if (!policy?.spec) return ["no NetworkPolicy selects the server's pods"];
  const types = policy.spec.policyTypes ?? [];
  if (!types.includes("Ingress") || !types.includes("Egress")) {
    problems.push("server NetworkPolicy: policyTypes must list Ingress and Egress");
  }
  const { port } = serverPort(m, facts);
  for (const rule of policy.spec.ingress ?? []) {
    const ports = rule.ports ?? [];
    if (ports.length === 0) {
      problems.push("server NetworkPolicy: an ingress rule allows every port");
    }
    for (const p of ports) {
      if (p.port !== port && p.port !== "http") {
        problems.push(`server NetworkPolicy: ingress on port ${p.port}, not the server's ${port}`);
      }
    }
  }
  const egress = policy.spec.egress ?? [];
  if (!egress.some((r) => allowsPort(r.ports, 53, "UDP"))) {
    problems.push("server NetworkPolicy: no egress to DNS (UDP 53)");
  }
  // The URLs as the server would read them (placeholders included).
  const { pod, container } = serverWorkload(m, facts);
  const { env } = containerEnv(m, container);
  const valueOf = (name: string): string | undefined => {
    if (env.get(name)) return env.get(name);
    const path = env.get(`${name}_FILE`);
    if (!path) return undefined;
    const file = mountedFile(m, pod, container, path);
    return "value" in file ? file.value.replace(/\r?\n$/, "") : undefined;
  };
  for (const name of ["DB_URL", "REDIS_URL", "API_BASE_URL"]) {
    const raw = valueOf(name);
    if (raw === undefined) continue;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push(`${name}: not a URL`);
      continue;
    }
    const target = Number(url.port) || DEFAULT_PORTS[url.protocol];
    const rules = egress.filter((r) => allowsPort(r.ports, target, "TCP"));
    if (rules.length === 0) {
      problems.push(`server NetworkPolicy: no egress to ${name}'s port ${target}`);
      continue;
    }
    const service = named<IService>(m, "Service", url.hostname);
    if (!service) continue;
    const podsOf = selected(m, serviceSelector(service));
    const labels = podsOf.map((n) =>
      named<IDeployment>(m, "Deployment", n)?.spec?.template.metadata?.labels ?? {}
    );
    if (
      !rules.some((r) =>
        (r.to ?? []).some((peer) => labels.some((l) => selects(peer.podSelector, l)))
      )
    ) {
      problems.push(
        `server NetworkPolicy: the egress rule for ${name} does not select ${url.hostname}'s pods`,
      );
    }
    const servicePort = service.spec?.ports?.find((p) => p.port === target);
    if (!servicePort) problems.push(`${name}: Service "${url.hostname}" has no port ${target}`);
    for (const l of labels) {
      const theirs = objectsOf<INetworkPolicy>(m, "NetworkPolicy")
        .find((p) => selects(p.object.spec?.podSelector, l))?.object;
      const backend = named<IDeployment>(m, "Deployment", podsOf[labels.indexOf(l)]);
      const backendPort = backend?.spec?.template.spec?.containers
        .map((c) => resolvePort(c, servicePort?.targetPort ?? target)).find((p) => p !== undefined);
      if (!theirs) continue;
      const admits = (theirs.spec?.ingress ?? []).some((r) =>
        (r.from ?? []).some((peer) => selects(peer.podSelector, serverLabels)) &&
        allowsPort(r.ports, backendPort ?? target, "TCP")
      );
      if (!admits) {
        problems.push(
          `${url.hostname}'s NetworkPolicy does not let the server's pods in on ${backendPort}`,
        );
      }
    }
  }
  return problems;
}

/** A pod that opens a connection: its namespace, that namespace's labels, its own labels. */
export interface Peer {
  namespace: string;
  /** Default: `kubernetes.io/metadata.name: <namespace>`, set by Kubernetes on every namespace. */
  namespaceLabels?: Record<string, string>;
  labels: Record<string, string>;
}

/**
 * Do the folder's NetworkPolicies, applied in `namespace`, let `peer` open a
 * TCP connection to the server's pods on `port`? As the API defines it: with
 * no policy selecting the pods for Ingress, yes; otherwise only through some
 * ingress rule listing the port (or none) and the peer (or no `from`). An entry
 * with a podSelector alone means pods of the policy's own namespace; with a
 * namespaceSelector alone, every pod of the matching namespaces; with both,
 * the matching pods of the matching namespaces. ipBlock entries are not
 * modelled (a pod's address is not known here), so they admit no pod.
 */
export function admitsIngress(
  m: Manifests,
  facts: Pick<ServerFacts, "name">,
  namespace: string,
  peer: Peer,
  port: number,
): boolean {
  const { deployment, container } = serverWorkload(m, facts);
  const serverLabels = deployment.spec?.template.metadata?.labels ?? {};
  const policies = objectsOf<INetworkPolicy>(m, "NetworkPolicy").map((p) => p.object)
    .filter((p) =>
      selects(p.spec?.podSelector, serverLabels) &&
      (p.spec?.policyTypes ?? ["Ingress"]).includes("Ingress")
    );
  if (policies.length === 0) return true;
  const namespaceLabels = peer.namespaceLabels ??
    { "kubernetes.io/metadata.name": peer.namespace };
  const portNumbers = (ports: INetworkPolicyPort[] | undefined) =>
    ports?.map((p) => ({ ...p, port: resolvePort(container, p.port) ?? -1 }));
  return policies.some((policy) =>
    (policy.spec?.ingress ?? []).some((rule) => {
      if (!allowsPort(portNumbers(rule.ports), port, "TCP")) return false;
      const from = rule.from ?? [];
      return from.length === 0 || from.some((entry) => {
        if (entry.ipBlock) return false;
        const inNamespace = entry.namespaceSelector
          ? selects(entry.namespaceSelector, namespaceLabels)
          : peer.namespace === namespace;
        return inNamespace && (!entry.podSelector || selects(entry.podSelector, peer.labels));
      });
    })
  );
}
