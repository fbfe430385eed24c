/**
 * The official MCP conformance suite against the real server process,
 * started with `MCP_CONFORMANCE_FIXTURES=true` (test only: the suite's client
 * sends no Authorization header and calls fixture tools), at two versions,
 * both pinned in deno.json (so `deno install` fetches them):
 * - `@modelcontextprotocol/conformance` (0.1.16): the handshake era
 *   (2025-11-25 and earlier), every active server scenario;
 * - `@modelcontextprotocol/conformance-2026` (0.2.0-alpha.12): the
 *   2026-07-28 revision, the scenarios `--requirements 2026-07-28` names.
 * A run fails on any result its baseline (`expected-failures-<version>.yml`)
 * does not expect, and on a baseline entry that passes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { compilePermissionFlags, DEV_CONFIG, spawnServer, toolchainEnv } from "../process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KEY = "conformance-test-key-0123456789";
const IMPORTS = JSON.parse(await Deno.readTextFile(DEV_CONFIG)).imports;

/** One pinned version of the suite, what it runs, and what must pass. */
interface Suite {
  /** The npm specifier, as deno.json pins it (one place for the version). */
  readonly specifier: string;
  readonly baseline: string;
  /** Arguments to `server` beyond the URL and the baseline. */
  readonly args: readonly string[];
  /** Scenarios the issues require to pass: never allowed into the baseline. */
  readonly mustPass: readonly string[];
}

const SUITES: readonly Suite[] = [
  {
    specifier: IMPORTS["@modelcontextprotocol/conformance"],
    baseline: new URL("expected-failures-0.1.yml", import.meta.url).pathname,
    args: [],
    mustPass: [
      "server-initialize",
      "ping",
      "tools-list",
      "tools-call-simple-text",
      "tools-call-image",
      "tools-call-audio",
      "tools-call-embedded-resource",
      "tools-call-mixed-content",
      "tools-call-error",
      "dns-rebinding-protection",
    ],
  },
  {
    specifier: IMPORTS["@modelcontextprotocol/conformance-2026"],
    baseline: new URL("expected-failures-0.2.yml", import.meta.url).pathname,
    args: ["--requirements", "2026-07-28"],
    // Every 2026-07-28 scenario a tools-only server can pass in full (issue #28).
    mustPass: [
      "tools-list",
      "tools-call-simple-text",
      "tools-call-image",
      "tools-call-audio",
      "tools-call-embedded-resource",
      "tools-call-mixed-content",
      "tools-call-error",
      "dns-rebinding-protection",
      "http-header-validation",
      "server-sse-multiple-streams",
      "input-required-result-unsupported-methods",
      "input-required-result-validate-input",
    ],
  },
];

/** Runs a suite's CLI from the project (its node_modules, its lock). */
async function conformance(
  suite: Suite,
  args: string[],
): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DEV_CONFIG, "-A", suite.specifier, ...args],
    cwd: ROOT,
    env: { ...toolchainEnv(), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

/** A baseline: scenario names, and the reason written after each one's `#`. */
async function readBaseline(
  path: string,
): Promise<{ names: string[]; reasons: Map<string, string> }> {
  const text = await Deno.readTextFile(path);
  const names = (parseYaml(text) as { server?: string[] }).server ?? [];
  const reasons = new Map<string, string>();
  for (const m of text.matchAll(/^\s+- ([a-z0-9-]+)\s*#\s*(.*\S)\s*$/gm)) reasons.set(m[1], m[2]);
  return { names, reasons };
}

for (const suite of SUITES) {
  // The scenario list doubles as the probe: without the suite there is nothing to run.
  const listing = await conformance(suite, ["list", "--server"]);
  const scenarios = [...listing.output.matchAll(/^\s+- ([a-z0-9-]+)/gm)].map((m) => m[1]);
  const unavailable = listing.code !== 0 || scenarios.length === 0
    ? `the conformance suite (${suite.specifier}) could not be fetched or run: ${
      listing.output.trim().split("\n").slice(0, 3).join(" | ")
    }`
    : undefined;
  if (unavailable) console.log(`Skipping the MCP conformance tests: ${unavailable}`);

  Deno.test({
    name:
      `${suite.specifier}: the baseline names real scenarios, each with a reason, none required`,
    ignore: unavailable !== undefined,
    async fn() {
      const { names, reasons } = await readBaseline(suite.baseline);
      assert.ok(names.length > 0);
      assert.equal(new Set(names).size, names.length, "duplicate entries");
      for (const name of names) {
        assert.ok(scenarios.includes(name), `${name}: not a server scenario of ${suite.specifier}`);
        assert.ok(reasons.get(name), `${name}: no reason after "#"`);
        assert.ok(
          !suite.mustPass.includes(name),
          `${name}: must pass, cannot be an expected failure`,
        );
      }
      for (const name of suite.mustPass) {
        assert.ok(scenarios.includes(name), `${name}: gone from suite`);
      }
    },
  });

  Deno.test({
    name: `${suite.specifier}: every scenario outside the baseline passes`,
    ignore: unavailable !== undefined,
    async fn() {
      const server = await spawnServer(["run", ...(await compilePermissionFlags()), "main.ts"], {
        MCP_CONFORMANCE_FIXTURES: "true",
        API_KEY_PRIMARY: KEY,
        // ~100 requests in a second or two, all as the one principal `conformance`.
        RATE_LIMIT_RPM: "100000",
        MAX_CONCURRENT_CALLS_PER_KEY: "1000",
      }, { cwd: ROOT });
      const results = await Deno.makeTempDir({ prefix: "conformance-" });
      try {
        const run = await conformance(suite, [
          "server",
          "--url",
          `${server.url}/mcp`,
          "--expected-failures",
          suite.baseline,
          "-o",
          results,
          ...suite.args,
        ]);
        // Each scenario's checks, as the suite saved them.
        const outcome = new Map<string, string[]>();
        for await (const entry of Deno.readDir(results)) {
          const scenario = scenarios.find((s) =>
            entry.name.startsWith(`server-${s}-`) &&
            /^\d{4}-/.test(entry.name.slice(`server-${s}-`.length))
          );
          if (!scenario) continue;
          const checks = JSON.parse(
            await Deno.readTextFile(`${results}/${entry.name}/checks.json`),
          );
          outcome.set(scenario, checks.map((c: { status: string }) => c.status));
        }
        const { names } = await readBaseline(suite.baseline);
        const passed = [...outcome].filter(([, s]) =>
          s.every((x) => x === "SUCCESS" || x === "INFO" || x === "SKIPPED")
        ).map(([name]) => name);
        console.log(
          `${suite.specifier}: ${passed.length} passed, ${names.length} expected failures, ${outcome.size} scenarios`,
        );
        assert.equal(run.code, 0, `the suite reported unexpected results:\n${run.output}`);
        for (const name of suite.mustPass) {
          assert.ok(outcome.has(name), `${name} did not run`);
          assert.ok(passed.includes(name), `${name}: ${outcome.get(name)?.join(", ")}`);
        }
        assert.equal(
          passed.length + names.length,
          outcome.size,
          "a scenario neither passed nor is expected to fail",
        );
      } finally {
        await Deno.remove(results, { recursive: true });
        await server.stop();
      }
    },
  });
}
