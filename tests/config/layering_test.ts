/**
 * Config sits at the bottom of the import graph: every module `src/config/`
 * reaches imports nothing from the layers above it (tools, http, mcp,
 * observability), so no import cycle can run through config again.
 *
 * @module
 */
import assert from "node:assert/strict";

const SRC = new URL("../../src/", import.meta.url).href;
/** What config may import outside its own folder: dependency-free leaves. */
const ALLOWED = ["config/", "auth/scope_names.ts", "net/ip_ranges.ts"];

Deno.test("src/config/ imports nothing above it", async () => {
  for await (const entry of Deno.readDir(new URL("config/", SRC))) {
    if (!entry.name.endsWith(".ts")) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(`config/${entry.name}`, SRC).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string }[];
    };
    const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith(SRC))
      .map((s) => s.slice(SRC.length));
    const above = local.filter((s) => !ALLOWED.some((a) => s.startsWith(a)));
    assert.deepEqual(above, [], `config/${entry.name} reaches ${above.join(", ")}`);
  }
});
