import assert from "node:assert/strict";
import { createLogger, createMemorySink } from "../../../src/observability/logger.ts";
import { CircuitOpenError, createCircuit } from "../../../src/sources/http/circuit.ts";
import { sleep } from "./upstream_fixture.ts";

class Unwell extends Error {}
const signal = new AbortController().signal;
const fail = () => Promise.reject(new Unwell("503"));
const succeed = () => Promise.resolve("ok");

function circuit(failures: number, minCallers: number, cooldownMs = 60_000) {
  const states: string[] = [];
  const sink = createMemorySink();
  const c = createCircuit({
    name: "api",
    failures,
    cooldownMs,
    minCallers,
    counts: (e) => e instanceof Unwell,
    log: createLogger({ level: "debug", sinks: [sink] }),
    onStateChange: (s) => states.push(s),
  });
  return { c, states, records: sink.records };
}

/** What one call for `caller` ends as. */
async function run(c: ReturnType<typeof circuit>["c"], caller: string, fn: () => Promise<string>) {
  try {
    return await c.execute(caller, fn, signal);
  } catch (error) {
    if (error instanceof CircuitOpenError) return `open:${error.scope}`;
    if (error instanceof Unwell) return "failed";
    return "other";
  }
}

Deno.test("createCircuit() opens a caller's own breaker on its failures, and serves the others", async () => {
  const { c, states } = circuit(2, 2);
  assert.deepEqual(
    [await run(c, "a", fail), await run(c, "a", fail), await run(c, "a", fail)],
    ["failed", "failed", "open:caller"],
  );
  assert.equal(await run(c, "b", succeed), "ok");
  assert.equal(c.state, "closed");
  assert.deepEqual(states, ["closed"]);
});

Deno.test("createCircuit() opens for all on a run of failures from minCallers callers; a probe decides", async () => {
  const { c, states } = circuit(3, 2, 50);
  assert.equal(await run(c, "a", fail), "failed");
  assert.equal(await run(c, "a", fail), "failed");
  assert.equal(await run(c, "b", fail), "failed");
  assert.equal(c.state, "open");
  assert.equal(await run(c, "c", succeed), "open:upstream");
  await sleep(60);
  // The run is not over: a failed probe, from anyone, opens it again.
  assert.equal(await run(c, "c", fail), "failed");
  assert.equal(c.state, "open");
  await sleep(60);
  assert.equal(await run(c, "c", succeed), "ok");
  assert.equal(c.state, "closed");
  assert.deepEqual(states, ["closed", "open", "half_open", "open", "half_open", "closed"]);
});

Deno.test("createCircuit() neither counts nor resets on errors that do not say the upstream is unwell", async () => {
  const { c } = circuit(2, 1);
  const other = () => Promise.reject(new TypeError("a 404, say"));
  assert.equal(await run(c, "a", fail), "failed");
  for (let i = 0; i < 5; i++) assert.equal(await run(c, "a", other), "other");
  assert.equal(await run(c, "a", fail), "failed");
  assert.equal(c.state, "open", "the two failures were still in a row");
});
