/**
 * Native HTTPS (TLS_CERT_FILE / TLS_KEY_FILE): a certificate made at test
 * time with openssl, a client that verifies it, read permission for exactly
 * the two files.
 *
 * @module
 */
import assert from "node:assert/strict";
import { commandUnavailable, compilePermissionFlags, runDeno, spawnServer } from "./process.ts";

const openssl = await commandUnavailable("openssl", "Debian package openssl", ["version"]);
if (openssl) console.log(`Skipping the TLS tests: ${openssl}`);
const KEY = "tls-test-key-0123456789abcdef";
const main = new URL("../main.ts", import.meta.url).pathname;

/** A CA and a server certificate it signed for localhost and 127.0.0.1 (rustls wants both roles apart). */
async function certificate(dir: string): Promise<{ cert: string; key: string; ca: string }> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
      .output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
  ]);
  await run([
    "req",
    ...ec,
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/server.csr`,
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    `${dir}/server.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-out",
    `${dir}/cert.pem`,
    "-days",
    "1",
    "-extfile",
    `${dir}/ext.cnf`,
  ]);
  return { cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/ca.pem` };
}

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
