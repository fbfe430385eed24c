import assert from "node:assert/strict";
import { aggregateMetrics } from "../../src/parallel/messages.ts";
import { createMetrics } from "../../src/observability/metrics.ts";

Deno.test("aggregateMetrics: counters and histograms summed over isolates, the circuit state by max", async () => {
  const a = createMetrics({ processMetrics: false });
  const b = createMetrics({ processMetrics: false });
  a.toolCall("lookup_customer", "success", 0.002);
  a.toolCall("lookup_customer", "success", 0.003);
  b.toolCall("lookup_customer", "success", 0.004);
  b.toolCall("lookup_customer", "invalid_input", 0.001);
  a.upstreamCircuit("api", "open");
  b.upstreamCircuit("api", "open");
  const text = await aggregateMetrics([
    await a.registry.getMetricsAsJSON(),
    await b.registry.getMetricsAsJSON(),
  ]);
  assert.match(text, /tool_calls_total\{tool_name="lookup_customer",status="success"\} 3\n/);
  assert.match(text, /tool_calls_total\{tool_name="lookup_customer",status="invalid_input"\} 1\n/);
  assert.match(text, /tool_duration_seconds_count\{tool_name="lookup_customer"\} 4\n/);
  // Both isolates' breakers are open: the alert (== 1) must see 1, not 2.
  assert.match(text, /upstream_circuit_state\{upstream="api",state="open"\} 1\n/);
  assert.match(text, /upstream_circuit_state\{upstream="api",state="closed"\} 0\n/);
});
