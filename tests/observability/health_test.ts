import assert from "node:assert/strict";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp } from "../harness.ts";

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
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
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
