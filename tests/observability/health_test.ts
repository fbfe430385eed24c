import assert from "node:assert/strict";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp } from "../harness.ts";
import { freePort } from "../process.ts";

/** A real upstream on loopback that answers every request with `status`. */
function upstream(status: number) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(null, { status }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

async function health(env: Record<string, string>) {
  const app = await createTestApp({ tools: TEST_TOOLS, env });
  try {
    const res = await app.request("/health", { key: null });
    return { status: res.status, body: await res.json() };
  } finally {
    await app.close();
  }
}

Deno.test("/health checks the upstream API with a light request", async (t) => {
  await t.step("an upstream that answers (even 404) is responding", async () => {
    const api = upstream(404);
    try {
      const { status, body } = await health({ API_BASE_URL: api.url });
      assert.equal(status, 200);
      assert.equal(body.upstream_api, "responding");
      assert.equal(body.status, "healthy");
    } finally {
      await api.stop();
    }
  });
  await t.step("an upstream answering 503 has failed, and health is 503", async () => {
    const api = upstream(503);
    try {
      const { status, body } = await health({ API_BASE_URL: api.url });
      assert.equal(status, 503);
      assert.deepEqual([body.status, body.database, body.upstream_api], [
        "unhealthy",
        "connected",
        "failed",
      ]);
    } finally {
      await api.stop();
    }
  });
  await t.step(
    "an upstream nobody listens on has failed, with no internal error text",
    async () => {
      const port = freePort();
      const { status, body } = await health({ API_BASE_URL: `http://127.0.0.1:${port}` });
      assert.equal(status, 503);
      assert.equal(body.upstream_api, "failed");
      assert.ok(!JSON.stringify(body).includes("refused"));
    },
  );
  await t.step("no upstream configured is not a failure", async () => {
    const { status, body } = await health({});
    assert.equal(status, 200);
    assert.equal(body.upstream_api, "not_configured");
  });
});

Deno.test("/health reports memory and /health/ready mirrors its verdict", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    const res = await app.request("/health", { key: null });
    const body = await res.json();
    assert.equal(typeof body.memory_usage_percent, "number");
    assert.ok(body.memory_usage_percent > 0 && body.memory_usage_percent < 80);
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    const ready = await app.request("/health/ready", { key: null });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
  } finally {
    await app.close();
  }
});

Deno.test("a flood of health probes costs the database one ping per second", async () => {
  const base = await createTestApp({ tools: TEST_TOOLS });
  let pings = 0;
  // The real embedded database, with its pings counted.
  const counted = { ...base.sql, ping: (s?: AbortSignal) => (pings++, base.sql.ping(s)) };
  const app = await createTestApp({ tools: TEST_TOOLS, sql: counted });
  try {
    const statuses = await Promise.all(
      Array.from(
        { length: 200 },
        () => app.request("/health", { key: null }).then((r) => r.status),
      ),
    );
    assert.ok(statuses.every((s) => s === 200));
    assert.equal(pings, 1);
    await new Promise((r) => setTimeout(r, 1100));
    await (await app.request("/health/ready", { key: null })).body?.cancel();
    assert.equal(pings, 2);
  } finally {
    await app.close();
    await base.close();
  }
});
