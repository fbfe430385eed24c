/**
 * docs/RUNBOOK.md cannot drift from the code: every log message and metric it
 * tells an operator to look for must exist.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createMetrics } from "../../src/observability/metrics.ts";

const root = new URL("../../", import.meta.url);
const runbook = await Deno.readTextFile(new URL("docs/RUNBOOK.md", root));
const spans = [...runbook.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);

/** Every string literal passed to a logger call anywhere in src/ and main.ts. */
async function logMessages(): Promise<Set<string>> {
  const out = new Set<string>();
  const files = ["main.ts"];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts")) files.push(url.pathname.slice(root.pathname.length));
    }
  };
  await walk(new URL("src/", root));
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const m of text.matchAll(/\.(?:debug|info|warn|error)\(\s*[`"]([^`"]+)[`"]/g)) {
      out.add(m[1]);
    }
  }
  return out;
}

Deno.test("RUNBOOK: every log message it names is one the server writes", async () => {
  const messages = await logMessages();
  // Lowercase phrases of two or more words in backticks are log messages.
  const named = spans.filter((s) =>
    /^[a-z][a-z :;,-]*[a-z]$/.test(s) && s.includes(" ") && !/ -/.test(s) &&
    // not a command line
    !/^(kubectl|journalctl|docker|curl|ss|ps|jq|mcp-tool-server|deno)\b/.test(s) &&
    !s.includes("file:line")
  );
  assert.ok(named.length >= 10, named.join(" | "));
  for (const message of named) assert.ok(messages.has(message), `not a log message: "${message}"`);
  // And the jq filters select on real messages too.
  for (const m of runbook.matchAll(/\.message == \\?"([^"\\]+)\\?"/g)) {
    assert.ok(messages.has(m[1]), `jq filter on a message the server never writes: "${m[1]}"`);
  }
});

Deno.test("RUNBOOK: every metric it names is exported", async () => {
  const metrics = createMetrics({ processMetrics: true });
  await metrics.loadProcessMetrics();
  const exported = await metrics.registry.metrics();
  const types = new Set([...exported.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  const named = new Set(
    [...runbook.matchAll(
      /\b([a-z][a-z0-9]*(?:_[a-z0-9]+)*_(?:total|seconds|state|connections|waiting|bytes)(?:_bucket)?)\b/g,
    )]
      .map((m) => m[1].replace(/_bucket$/, "")),
  );
  assert.ok(named.size >= 8, [...named].join(", "));
  for (const name of named) assert.ok(types.has(name), `not exported: ${name}`);
});

Deno.test("RUNBOOK: every alert it names is in deploy/alerts.yml", async () => {
  const alerts = await Deno.readTextFile(new URL("deploy/alerts.yml", root));
  const named = [...runbook.matchAll(/alert\s+`([A-Za-z]+)`/g)].map((m) => m[1]);
  assert.ok(named.length >= 4, named.join(", "));
  for (const alert of named) assert.match(alerts, new RegExp(`alert: ${alert}\\b`));
});
