/**
 * Time from process spawn to the first successful tool call, for the given
 * command (default: the server from source with the compile permissions, as
 * deployed: packages installed once, then `--node-modules-dir=manual`).
 *
 *   deno run -A scripts/cold_start.ts [runs] [-- command args...]
 *
 * Why manual: with `deno.json`'s `"nodeModulesDir": "auto"` (what lets a
 * fresh clone run without an install step) every `deno run` first checks
 * node_modules against the lockfile, ~45 ms here; a deployment installs
 * once (`deno install`), and the compiled binary has no node_modules at all.
 * Pass `-- deno run --allow-net --allow-env main.ts` to measure auto mode.
 *
 * The call is the demo's `get_top_customers` (checked for its ten rows);
 * `COLD_START_TOOL=<name>` calls that tool instead, with `COLD_START_ARGS`
 * (JSON, default `{}`) as its arguments, and takes any 200 as success: a
 * tools-file server (`TOOLS_FILE`, the benchmark's scripts/bench/tools.yaml).
 *
 * It also reports the server's RSS right after its first call (Linux: from
 * `/proc/<pid>/status`; a command that runs the server under a wrapper reports
 * the wrapper's).
 *
 * @module
 */
const sep = Deno.args.indexOf("--");
const runs = Number(Deno.args[0] && sep !== 0 ? Deno.args[0] : 5);
const command = sep === -1
  ? [Deno.execPath(), "run", "--node-modules-dir=manual", "--allow-net", "--allow-env", "main.ts"]
  : Deno.args.slice(sep + 1);
if (sep === -1) {
  const installed = await new Deno.Command(Deno.execPath(), { args: ["install", "-q"] }).output();
  if (!installed.success) throw new Error("deno install failed");
}
const key = "cold-start-key-0123456789abc";
const tool = Deno.env.get("COLD_START_TOOL") ?? "get_top_customers";
const body = Deno.env.get("COLD_START_ARGS") ?? "{}";
const answered = async (res: Response) =>
  res.status === 200 &&
  (tool !== "get_top_customers" || (await res.json()).customers.length === 10);
const times: number[] = [];
const rss: number[] = [];
for (let i = 0; i < runs; i++) {
  // A free loopback port, chosen by the OS, for each run.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const started = performance.now();
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    env: { API_KEY_PRIMARY: key, PORT: String(port), LOG_LEVEL: "error" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  // A server that never answers (no database, a bad flag) fails the run instead of hanging it.
  const giveUpAt = started + 30_000;
  for (;;) {
    if (performance.now() > giveUpAt) {
      child.kill("SIGKILL");
      await child.status;
      console.error(`no successful call within 30 s: ${command.join(" ")}`);
      Deno.exit(1);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/mcp/${tool}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body,
      });
      const ok = await answered(res);
      if (!res.bodyUsed) await res.body?.cancel();
      if (ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  times.push(performance.now() - started);
  try {
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    rss.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
  } catch { /* not Linux */ }
  child.kill("SIGTERM");
  await child.status;
}
times.sort((a, b) => a - b);
rss.sort((a, b) => a - b);
console.log(
  `spawn -> first successful call over ${runs} runs: median ${
    times[times.length >> 1].toFixed(0)
  } ms, min ${times[0].toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms${
    rss.length === runs ? `; RSS after it: median ${rss[rss.length >> 1].toFixed(0)} MB` : ""
  }`,
);
