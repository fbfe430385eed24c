/**
 * Native HTTPS (TLS_CERT_FILE / TLS_KEY_FILE): a certificate made at test
 * time with openssl, a client that verifies it, read permission for exactly
 * the two files.
 *
 * @module
 */
import assert from "node:assert/strict";
import { compilePermissionFlags, runDeno, spawnServer } from "./process.ts";
import { certificate, opensslUnavailable as openssl } from "./fixtures/tls.ts";

if (openssl) console.log(`Skipping the TLS tests: ${openssl}`);
const KEY = "tls-test-key-0123456789abcdef";
const main = new URL("../main.ts", import.meta.url).pathname;

Deno.test({
  name: "TLS: the server speaks HTTPS a verifying client trusts; healthcheck still answers",
  ignore: openssl !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-tls-" });
    const { cert, key, ca } = await certificate(dir);
    const flags = [...await compilePermissionFlags(), `--allow-read=${cert},${key}`];
    const env = { API_KEY_PRIMARY: KEY, TLS_CERT_FILE: cert, TLS_KEY_FILE: key };
    const server = await spawnServer(["run", ...flags, main], env);
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca)] });
    try {
      assert.match(server.url, /^https:\/\//);
      const port = new URL(server.url).port;
      const res = await fetch(`https://localhost:${port}/v1/mcp/lookup_customer`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ id: 42 }),
        client,
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).name, "Alan Carter");
      // A client that does not trust the certificate refuses the connection.
      await assert.rejects(fetch(`https://localhost:${port}/health/live`));
      // Plain HTTP on the TLS port gets no HTTP answer.
      await assert.rejects(
        fetch(`http://127.0.0.1:${port}/health/live`).then(async (r) => {
          await r.body?.cancel();
          if (r.status === 200) throw new Error("unexpected");
          throw new Error(`status ${r.status}`);
        }),
      );
      const health = await runDeno(["run", ...flags, main, "healthcheck"], { ...env, PORT: port });
      assert.equal(health.code, 0, health.stderr);
    } finally {
      client.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "TLS: without read permission for the files the server refuses to start, naming the grant",
  ignore: openssl !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-tls-" });
    const { cert, key } = await certificate(dir);
    try {
      const out = await runDeno(["run", ...await compilePermissionFlags(), main], {
        API_KEY_PRIMARY: KEY,
        TLS_CERT_FILE: cert,
        TLS_KEY_FILE: key,
        PORT: "0",
      });
      assert.equal(out.code, 2);
      assert.match(out.stderr, new RegExp(`--allow-read=${cert},${key}`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
