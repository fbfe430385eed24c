/**
 * A first `deno task start` (and the image's `deno install --frozen`) installs
 * what serving needs and nothing else. Deno installs every package of the
 * lock a configuration uses, and every npm entry of its import map, whatever
 * the program imports: so deno.json and deno.lock hold the serving packages
 * only, and deno.dev.json / deno.dev.lock add what tests, scripts and RAG use.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DEV_CONFIG, runDeno, toolchainEnv } from "./process.ts";

const ROOT = new URL("../", import.meta.url);
const readJson = async (name: string) => JSON.parse(await Deno.readTextFile(new URL(name, ROOT)));

/** Packages that must never reach the serving install (test, dev and RAG only). */
const NOT_SERVING = [
  "@huggingface/transformers",
  "onnxruntime-node",
  "onnxruntime-web",
  "sharp",
  "playwright-core",
  "kubernetes-models",
  "@modelcontextprotocol/inspector",
  "@modelcontextprotocol/conformance",
  "@modelcontextprotocol/client",
  "@modelcontextprotocol/server",
  "oidc-provider",
];

/** `name@version_peer...` (a lock key) or `name@version` to its package name. */
const nameOf = (key: string) => key.slice(0, key.indexOf("@", 1));

Deno.test("deno info main.ts: no test, dev or RAG package is in the serving graph", async () => {
  const out = await runDeno(
    ["info", "--json", "--config", new URL("deno.json", ROOT).pathname, "main.ts"],
    toolchainEnv(),
    { cwd: ROOT.pathname },
  );
  assert.equal(out.code, 0, out.stderr);
  const info = JSON.parse(out.stdout);
  const names = new Set(
    Object.values(info.npmPackages as Record<string, { name: string }>).map((p) => p.name),
  );
  assert.ok(names.has("@modelcontextprotocol/sdk") && names.has("zod"), [...names].join(", "));
  assert.deepEqual(NOT_SERVING.filter((n) => names.has(n)), []);
});

Deno.test("deno.lock (what a first start installs) holds no test, dev or RAG package", async () => {
  const lock = await readJson("deno.lock");
  const names = new Set(Object.keys(lock.npm).map(nameOf));
  assert.deepEqual(NOT_SERVING.filter((n) => names.has(n)), []);
  // And nothing a program no longer imports: every top-level specifier is in the import map.
  const mapped = new Set(Object.values((await readJson("deno.json")).imports as object));
  const stray = Object.keys(lock.specifiers).filter((s) =>
    ![...mapped].some((m) => String(m).replace(/^npm:\//, "npm:").replace(/\/$/, "") === s)
  );
  assert.deepEqual(stray, [], "deno.lock names packages deno.json does not map");
  // ~120 packages today (the MCP SDK brings express and hono); 491 before the split.
  assert.ok(Object.keys(lock.npm).length < 160, `${Object.keys(lock.npm).length} packages`);
});

Deno.test("deno.lock: no package's build script asks for `deno approve-scripts`", async () => {
  const config = await readJson("deno.json");
  const denied = new Set((config.allowScripts?.deny ?? []).map((s: string) => s.slice(4)));
  const lock = await readJson("deno.lock");
  const withScripts = Object.entries(lock.npm as Record<string, { scripts?: boolean }>)
    .filter(([, p]) => p.scripts).map(([key]) => nameOf(key));
  assert.deepEqual(withScripts.filter((n) => !denied.has(n)), []);
});

Deno.test("deno.dev.json maps every serving import to the same version, and shares the rest", async () => {
  const serving = await readJson("deno.json");
  const dev = JSON.parse(await Deno.readTextFile(DEV_CONFIG));
  for (const [name, target] of Object.entries(serving.imports)) {
    assert.equal(dev.imports[name], target, `deno.dev.json's "${name}"`);
  }
  for (const name of Object.keys(dev.imports)) {
    if (!(name in serving.imports)) {
      assert.ok(
        NOT_SERVING.some((n) => dev.imports[name].includes(n)),
        `add "${name}" to NOT_SERVING`,
      );
    }
  }
  for (const key of ["unstable", "nodeModulesDir", "links", "compilerOptions", "allowScripts"]) {
    assert.deepEqual(
      dev[key],
      serving[key],
      `"${key}" differs between deno.json and deno.dev.json`,
    );
  }
  assert.equal(dev.lock, "./deno.dev.lock");
});
