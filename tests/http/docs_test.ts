import assert from "node:assert/strict";
import { DOCS_CONTENT_SECURITY_POLICY, docsPage } from "../../src/http/docs.ts";
import { TEST_TOOLS } from "../fixtures/tools.ts";
import { createTestApp, requestContext } from "../harness.ts";

/** The `?v=` URLs the page references, by asset name. */
function assetUrls(html: string): Map<string, string> {
  const urls = new Map<string, string>();
  for (const [, url, name] of html.matchAll(/(?:src|href)="(docs\/([^"?]+)\?v=[0-9a-f]+)"/g)) {
    urls.set(name, `/${url}`);
  }
  return urls;
}

Deno.test("GET /docs answers the Swagger UI page with a strict CSP, without a key", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    const res = await app.request("/docs", { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("content-security-policy"), DOCS_CONTENT_SECURITY_POLICY);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const csp = DOCS_CONTENT_SECURITY_POLICY;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-(inline|eval)|https?:|\*/);
    const html = await res.text();
    assert.match(html, /<title>mcp-tool-server API<\/title>/);
    assert.deepEqual(
      [...assetUrls(html).keys()].sort(),
      ["favicon-32x32.png", "init.js", "swagger-ui-bundle.js", "swagger-ui.css"],
    );
    // No inline script: every <script> has a src.
    assert.deepEqual(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g), null);
    // No URL to another host: everything is served from here.
    const external = [...html.matchAll(/(?:https?:)?\/\/([^\s"'<>/]+)/g)]
      .map((m) => m[1])
      .filter((host) => !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(host));
    assert.deepEqual(external, []);
  } finally {
    await app.close();
  }
});

Deno.test("GET /docs/<asset> serves each embedded file with its type and cache headers", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    const urls = assetUrls(await (await app.request("/docs", { key: null })).text());
    const expected: Record<string, [string, number]> = {
      "swagger-ui-bundle.js": ["text/javascript; charset=utf-8", 1_000_000],
      "swagger-ui.css": ["text/css; charset=utf-8", 100_000],
      "favicon-32x32.png": ["image/png", 100],
      "init.js": ["text/javascript; charset=utf-8", 100],
    };
    for (const [name, [type, minBytes]] of Object.entries(expected)) {
      const res = await app.request(urls.get(name)!, { key: null });
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("content-type"), type, name);
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable", name);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", name);
      const etag = res.headers.get("etag");
      assert.match(etag ?? "", /^"[0-9a-f]{16}"$/, name);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.ok(body.byteLength >= minBytes, `${name}: ${body.byteLength} bytes`);
      if (name === "swagger-ui-bundle.js") {
        assert.match(new TextDecoder().decode(body.subarray(0, 200)), /swagger-ui-bundle/);
      }
      if (name === "favicon-32x32.png") assert.deepEqual([...body.subarray(1, 4)], [80, 78, 71]);

      // Without the current hash: revalidate; with the ETag: 304 and no body.
      const bare = await app.request(`/docs/${name}`, { key: null });
      assert.equal(bare.headers.get("cache-control"), "no-cache", name);
      await bare.body?.cancel();
      const again = await app.request(`/docs/${name}`, {
        key: null,
        headers: { "if-none-match": `W/${etag}` },
      });
      assert.equal(again.status, 304, name);
      assert.equal(again.headers.get("etag"), etag);
      assert.equal(await again.text(), "");
    }
    // The same bytes serve every request (a body is not consumed by the first).
    const twice = await app.request(urls.get("favicon-32x32.png")!, { key: null });
    assert.ok((await twice.arrayBuffer()).byteLength >= 100);

    const init = await (await app.request(urls.get("init.js")!, { key: null })).text();
    assert.match(init, /url: "openapi\.json"/);
    assert.match(init, /validatorUrl: null/);
  } finally {
    await app.close();
  }
});

Deno.test("GET /docs/<unknown> is the JSON 404, and only GET is allowed", async () => {
  const app = await createTestApp({ tools: TEST_TOOLS });
  try {
    for (
      const path of ["/docs/index.html", "/docs/swagger-ui-bundle.js.map", "/docs/..%2Fdeno.json"]
    ) {
      const res = await app.request(path, { key: null });
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).status, "not_found");
    }
    const post = await app.request("/docs", { key: null, method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("docsPage() loads its files on the first request only, and retries after a failure", async () => {
  let loads = 0;
  let fail = true;
  const docs = docsPage({
    title: "t<e>st",
    loadAssets: () => {
      loads++;
      if (fail) return Promise.reject(new Error("boom"));
      return Promise.resolve({
        "swagger-ui.css": { body: new TextEncoder().encode("a{}"), contentType: "text/css" },
      });
    },
  });
  assert.equal(loads, 0);
  const ctx = requestContext("http://127.0.0.1/docs");
  await assert.rejects(docs.page(new Request("http://127.0.0.1/docs"), ctx, {}), /boom/);
  fail = false;
  const html = await (await docs.page(new Request("http://127.0.0.1/docs"), ctx, {})).text();
  assert.match(html, /<title>t&#60;e&#62;st<\/title>/);
  await docs.asset(new Request("http://127.0.0.1/docs/swagger-ui.css"), ctx, {
    asset: "swagger-ui.css",
  });
  assert.equal(loads, 2);
});
