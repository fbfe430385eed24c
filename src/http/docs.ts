/**
 * `GET /docs`: interactive API docs for the REST door — Swagger UI over
 * `/openapi.json`, where a user pastes an API key ("Authorize") and calls a
 * tool ("Try it out"). Every file comes from the program itself (see
 * `docs_assets.ts`), so the page works air-gapped; its Content-Security-Policy
 * allows scripts, styles and requests from this server only (images also as
 * `data:` URLs, which Swagger UI's stylesheet uses for its icons). The
 * settings live in our own `init.js`, so no inline script is needed.
 *
 * The embedded files (~1.9 MB) are loaded on the first docs request, not at
 * start. Asset URLs carry a content hash (`?v=`), so they are cached for a
 * year; the page itself is revalidated on every visit.
 *
 * @module
 */
import { ToolError } from "../tools/errors.ts";
import type { Handler } from "./context.ts";
import type { EmbeddedAsset } from "./docs_assets.ts";

/** The Content-Security-Policy of the docs page. */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Options of {@linkcode docsPage}. */
export interface DocsOptions {
  /** The page's title. */
  readonly title: string;
  /** The OpenAPI document's URL, relative to `/docs` (default `openapi.json`). */
  readonly openApiUrl?: string;
  /** Loads the embedded files; default: imports `docs_assets.ts` (on first use). */
  readonly loadAssets?: () => Promise<Readonly<Record<string, EmbeddedAsset>>>;
}

/** The two handlers of the docs routes. */
export interface DocsHandlers {
  /** `GET /docs`: the HTML page. */
  readonly page: Handler;
  /** `GET /docs/:asset`: one embedded file (404 for any other name). */
  readonly asset: Handler;
}

interface ServedAsset extends EmbeddedAsset {
  /** A content hash: the `?v=` of the asset's URL. */
  readonly version: string;
  readonly etag: string;
}

interface Prepared {
  readonly html: string;
  readonly assets: ReadonlyMap<string, ServedAsset>;
}

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-cache",
  "content-security-policy": DOCS_CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

const loadSwaggerUi = async () => (await import("./docs_assets.ts")).SWAGGER_UI_ASSETS;

/**
 * Builds the docs handlers. Nothing is loaded until the first request.
 *
 * @example The page names its assets, each served with its content type
 * ```ts
 * import { docsPage } from "./docs.ts";
 * import assert from "node:assert/strict";
 *
 * const docs = docsPage({
 *   title: "demo",
 *   loadAssets: () =>
 *     Promise.resolve({
 *       "swagger-ui-bundle.js": { body: new Uint8Array(1), contentType: "text/javascript" },
 *       "swagger-ui.css": { body: new Uint8Array(1), contentType: "text/css" },
 *       "favicon-32x32.png": { body: new Uint8Array(1), contentType: "image/png" },
 *     }),
 * });
 * const ctx = { url: new URL("http://localhost/docs") } as Parameters<typeof docs.page>[1];
 * const page = await docs.page(new Request("http://localhost/docs"), ctx, {});
 * assert.match(await page.text(), /<title>demo<\/title>/);
 * const css = await docs.asset(new Request("http://localhost/docs/swagger-ui.css"), ctx, {
 *   asset: "swagger-ui.css",
 * });
 * assert.equal(css.headers.get("content-type"), "text/css");
 * ```
 */
export function docsPage(options: DocsOptions): DocsHandlers {
  const load = options.loadAssets ?? loadSwaggerUi;
  let prepared: Promise<Prepared> | undefined;

  function ready(): Promise<Prepared> {
    prepared ??= prepare(load, options).catch((error) => {
      prepared = undefined; // let a later request try again
      throw error;
    });
    return prepared;
  }

  return {
    async page() {
      return new Response((await ready()).html, { headers: PAGE_HEADERS });
    },
    async asset(req, ctx, params) {
      const file = (await ready()).assets.get(params.asset ?? "");
      if (!file) throw new ToolError("not_found", "Not found");
      const headers = {
        "content-type": file.contentType,
        // A URL with the current hash never changes; any other is revalidated.
        "cache-control": ctx.url.searchParams.get("v") === file.version
          ? "public, max-age=31536000, immutable"
          : "no-cache",
        etag: file.etag,
        "x-content-type-options": "nosniff",
      };
      if (etagMatches(req.headers.get("if-none-match"), file.etag)) {
        return new Response(null, { status: 304, headers });
      }
      return new Response(file.body, { headers });
    },
  };
}

async function prepare(
  load: NonNullable<DocsOptions["loadAssets"]>,
  options: DocsOptions,
): Promise<Prepared> {
  const files: Record<string, EmbeddedAsset> = {
    ...await load(),
    "init.js": {
      body: new TextEncoder().encode(initScript(options.openApiUrl ?? "openapi.json")),
      contentType: "text/javascript; charset=utf-8",
    },
  };
  const assets = new Map<string, ServedAsset>();
  for (const [name, file] of Object.entries(files)) {
    const version = await contentHash(file.body);
    assets.set(name, { ...file, version, etag: `"${version}"` });
  }
  const url = (name: string) => `docs/${name}?v=${assets.get(name)?.version ?? ""}`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="${url("swagger-ui.css")}">
<link rel="icon" type="image/png" href="${url("favicon-32x32.png")}">
</head>
<body>
<div id="swagger-ui"><noscript>This page needs JavaScript; the API is described at ${
    escapeHtml(options.openApiUrl ?? "openapi.json")
  }.</noscript></div>
<script src="${url("swagger-ui-bundle.js")}"></script>
<script src="${url("init.js")}"></script>
</body>
</html>
`;
  return { html, assets };
}

/** Swagger UI's settings: a file of its own, so the CSP needs no inline script. */
function initScript(openApiUrl: string): string {
  return `"use strict";
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(openApiUrl)},
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  displayRequestDuration: true,
  // No calls to swagger.io's online validator; no spec URL taken from the query string.
  validatorUrl: null,
  queryConfigEnabled: false,
  // The API key lives only as long as the tab.
  persistAuthorization: false,
});
`;
}

async function contentHash(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `If-None-Match` against our ETag, by weak comparison (a compressed reply's ETag is `W/`). */
function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
