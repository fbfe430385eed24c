import assert from "node:assert/strict";
import { compilePermissionFlags, runDeno } from "../process.ts";

const METRICS = new URL("../../src/observability/metrics.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

Deno.test("process_resident_memory_bytes is the true RSS under the compile permission flags", async () => {
  const dir = await Deno.makeTempDir();
  const script = `${dir}/rss.ts`;
  await Deno.writeTextFile(
    script,
    `import { createMetrics } from "${METRICS}";
const m = createMetrics({ processMetrics: true });
await m.loadProcessMetrics();
const text = await m.registry.metrics();
console.log(/^process_resident_memory_bytes (\\S+)$/m.exec(text)?.[1] ?? "missing");
`,
  );
  try {
    const out = await runDeno([
      "run",
      "--config",
      CONFIG,
      ...(await compilePermissionFlags()),
      script,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const rss = Number(out.stdout.trim());
    // A Deno process is tens of megabytes resident; 0 or "missing" is the sandboxed /proc read.
    assert.ok(rss > 10 * 1024 * 1024, `RSS ${out.stdout.trim()}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
