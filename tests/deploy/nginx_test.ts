/**
 * `deploy/nginx/mcp-tool-server.conf`: what it must say, `nginx -t` on it, and
 * a real nginx in front of two in-process instances.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTestApp, MCP_HEADERS, PRIMARY_KEY, type TestApp } from "../harness.ts";
import { commandUnavailable } from "../process.ts";
import { certificate, opensslUnavailable } from "../fixtures/tls.ts";

const CONF = new URL("../../deploy/nginx/mcp-tool-server.conf", import.meta.url);
const nginx = await commandUnavailable("nginx", "Debian package nginx", ["-v"]);
const missing = nginx ?? opensslUnavailable;
if (missing) console.log(`Skipping the nginx checks: ${missing}`);

/** The server block that holds `needle`, as text (no nested braces but locations). */
function serverBlock(conf: string, needle: RegExp): string {
  const blocks = conf.split(/^server \{$/m).slice(1).map((b) => b.split(/^\}$/m)[0]);
  const block = blocks.find((b) => needle.test(b));
  assert.ok(block, `no server block with ${needle}`);
  return block;
}

Deno.test("deploy/nginx: upstream keepalive, HTTP/1.1, forwarded headers, unbuffered /mcp, HTTP to HTTPS", async () => {
  const conf = await Deno.readTextFile(CONF);
  const upstream = /^upstream mcp_tool_server \{([^}]*)\}/m.exec(conf)?.[1] ?? "";
  assert.ok((upstream.match(/^\s*server 127\.0\.0\.1:\d+/gm) ?? []).length >= 2, "N instances");
  assert.match(upstream, /^\s*keepalive \d+;/m);
  const plain = serverBlock(conf, /listen 80;/);
  assert.match(plain, /return 301 https:\/\/\$host\$request_uri;/);
  assert.doesNotMatch(plain, /proxy_pass/);
  const tls = serverBlock(conf, /listen 443 ssl/);
  for (
    const line of [
      /^\s*proxy_http_version 1\.1;/m,
      /^\s*proxy_set_header Connection "";/m,
      /^\s*proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/m,
      /^\s*proxy_set_header X-Forwarded-Host \$host;/m,
      /location = \/mcp \{[^}]*proxy_buffering off;[^}]*\}/,
      /location = \/mcp \{[^}]*proxy_pass http:\/\/mcp_tool_server;/,
    ]
  ) {
    assert.match(tls, line);
  }
  // What the server cannot bound itself (docs/DEPLOYMENT.md "Timeouts and connection limits").
  assert.match(conf, /^limit_conn_zone \$binary_remote_addr zone=mcp_conn_per_addr:\d+m;/m);
  for (
    const line of [
      /^\s*client_header_timeout \d+s;/m,
      /^\s*client_body_timeout \d+s;/m,
      /^\s*keepalive_timeout \d+s;/m,
      /^\s*limit_conn mcp_conn_per_addr \d+;/m,
    ]
  ) {
    assert.match(tls, line);
  }
  // The instances it describes trust the proxy and share their limits.
  assert.match(conf, /TRUSTED_PROXIES=127\.0\.0\.1/);
  assert.match(conf, /RATE_LIMIT_STORAGE=redis/);
});

/**
 * A main nginx.conf in `dir` that includes `site` (the shipped file, edited
 * by `edit`), with every path nginx writes inside `dir`.
 */
async function prefix(dir: string, edit: (site: string) => string): Promise<string> {
  const { cert, key } = await certificate(dir);
  const site = edit(
    (await Deno.readTextFile(CONF))
      .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${cert};`)
      .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${key};`),
  );
  await Deno.writeTextFile(`${dir}/site.conf`, site);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${dir}/${t};`).join("\n");
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off;\nmaster_process off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\n` +
      `events {}\nhttp {\n  access_log off;\n${temp}\n  include ${dir}/site.conf;\n}\n`,
  );
  return `${dir}/nginx.conf`;
}

async function nginxTest(conf: string, dir: string): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command("nginx", {
    args: ["-t", "-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", conf],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test({
  name: "nginx -t accepts deploy/nginx/mcp-tool-server.conf, and refuses a broken copy",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-nginx-" });
    try {
      const good = await nginxTest(await prefix(dir, (s) => s), dir);
      assert.equal(good.code, 0, good.output);
      assert.match(good.output, /test is successful/);
      const bad = await nginxTest(
        await prefix(dir, (s) => s.replace("proxy_buffering off;", "proxy_buffering of;")),
        dir,
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.output, /proxy_buffering/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A free loopback port in the tests' range 18600-18699 (tried in turn). */
function freePort(taken: Set<number>): number {
  for (let port = 18600; port < 18700; port++) {
    if (taken.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      taken.add(port);
      return port;
    } catch { /* in use */ }
  }
  throw new Error("no free port in 18600-18699");
}

Deno.test({
  name:
    "through nginx: two instances share the calls over kept-alive connections with forwarded headers; HTTP redirects",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mcp-nginx-" });
    const taken = new Set<number>();
    const apps: TestApp[] = [];
    const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
    let proxy: Deno.ChildProcess | undefined;
    /** What each instance received: the forwarded headers of every request. */
    const seen: { forwardedFor: string | null; forwardedHost: string | null; port: number }[][] = [
      [],
      [],
    ];
    try {
      // Two instances as the config's header describes them.
      for (let i = 0; i < 2; i++) {
        const app = await createTestApp({
          env: { TRUSTED_PROXIES: "127.0.0.1", ALLOWED_HOSTS: "localhost" },
        });
        apps.push(app);
        servers.push(
          Deno.serve(
            { hostname: "127.0.0.1", port: freePort(taken), onListen: () => {} },
            (req, info) => {
              seen[i].push({
                forwardedFor: req.headers.get("x-forwarded-for"),
                forwardedHost: req.headers.get("x-forwarded-host"),
                port: (info.remoteAddr as Deno.NetAddr).port,
              });
              return app.handler(req, info);
            },
          ),
        );
      }
      const http = freePort(taken);
      const https = freePort(taken);
      const conf = await prefix(dir, (site) => {
        const instances = servers.map((s) => `    server 127.0.0.1:${s.addr.port};`).join("\n");
        return site
          .replace(/^[ \t]*server 127\.0\.0\.1:\d+[^;]*;\n/m, `${instances}\n`)
          .replaceAll(/^[ \t]*server 127\.0\.0\.1:800\d[^;]*;\n/gm, "")
          .replaceAll(/^[ \t]*listen \[::\]:\d+[^;]*;\n/gm, "")
          .replace(/listen 80;/, `listen 127.0.0.1:${http};`)
          .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${https} ssl http2;`)
          .replaceAll("mcp.example.com", "localhost");
      });
      const checked = await nginxTest(conf, dir);
      assert.equal(checked.code, 0, checked.output);
      proxy = new Deno.Command("nginx", {
        args: ["-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", conf],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Until it listens.
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: https })).close();
          break;
        } catch {
          assert.ok(Date.now() < deadline, "nginx did not start listening");
          await new Promise((r) => setTimeout(r, 50));
        }
      }

      const redirect = await fetch(`http://127.0.0.1:${http}/mcp?x=1`, { redirect: "manual" });
      await redirect.body?.cancel();
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get("location"), "https://127.0.0.1/mcp?x=1");

      const tls = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/ca.pem`)] });
      try {
        const base = `https://localhost:${https}`;
        for (let i = 0; i < 4; i++) {
          const res = await fetch(`${base}/mcp`, {
            client: tls,
            method: "POST",
            headers: { ...MCP_HEADERS, authorization: `Bearer ${PRIMARY_KEY}` },
            body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/list" }),
          });
          assert.equal(res.status, 200, await res.clone().text());
          const body = await res.json();
          assert.ok(body.result.tools.length > 0);
        }
        // X-Forwarded-Host stands for Host: a name not in ALLOWED_HOSTS is refused.
        const foreign = await fetch(`https://127.0.0.1:${https}/v1/mcp`, {
          client: tls,
          headers: { authorization: `Bearer ${PRIMARY_KEY}` },
        });
        await foreign.body?.cancel();
        assert.equal(foreign.status, 403);
        const metrics = await fetch(`${base}/metrics`, { client: tls });
        await metrics.body?.cancel();
        assert.equal(metrics.status, 404, "/metrics is not exposed through the proxy");
      } finally {
        tls.close();
      }
      // Round robin over both instances, each request with the client's
      // address appended to X-Forwarded-For and the public host forwarded.
      assert.ok(seen[0].length >= 2 && seen[1].length >= 2, JSON.stringify(seen));
      for (const request of seen.flat()) {
        assert.equal(request.forwardedFor, "127.0.0.1");
        assert.match(request.forwardedHost ?? "", /^(localhost|127\.0\.0\.1)$/);
      }
      // Keepalive: nginx reused its connections to the instances.
      for (const requests of seen) {
        const connections = new Set(requests.map((r) => r.port)).size;
        assert.ok(
          connections < requests.length,
          `${requests.length} requests, ${connections} connections`,
        );
      }
    } finally {
      if (proxy) {
        proxy.kill("SIGTERM");
        await proxy.status;
        await proxy.stderr.cancel().catch(() => {});
      }
      for (const server of servers) await server.shutdown();
      for (const app of apps) await app.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
