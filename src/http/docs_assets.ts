/**
 * Swagger UI's files for `GET /docs`, imported as bytes so they are part of
 * the program (`deno bundle` and `deno compile` embed them; no CDN, no file
 * read at run time). About 1.9 MB, so `docs.ts` imports this module only on
 * the first docs request, and server start does not pay for it.
 *
 * The imports are static on purpose: in `deno bundle` output a *dynamic*
 * `import(x, { with: { type: "bytes" } })` goes through esbuild's CommonJS
 * interop, which copies every byte into a property (~2 s for these files);
 * static bytes imports in a lazily imported module decode in milliseconds.
 *
 * @module
 */
import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "bytes" };
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css" with { type: "bytes" };
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "bytes" };

/** One embedded file: its bytes and its content type. */
export interface EmbeddedAsset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
}

/**
 * Swagger UI's files (from npm `swagger-ui-dist`, Apache-2.0), by the name
 * they are served under at `/docs/<name>`.
 *
 * @example The bundle and its stylesheet are embedded
 * ```ts
 * import { SWAGGER_UI_ASSETS } from "./docs_assets.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SWAGGER_UI_ASSETS["swagger-ui.css"].contentType, "text/css; charset=utf-8");
 * assert.ok(SWAGGER_UI_ASSETS["swagger-ui-bundle.js"].body.byteLength > 1_000_000);
 * ```
 */
export const SWAGGER_UI_ASSETS: Readonly<Record<string, EmbeddedAsset>> = {
  "swagger-ui-bundle.js": {
    body: swaggerUiBundle,
    contentType: "text/javascript; charset=utf-8",
  },
  "swagger-ui.css": { body: swaggerUiCss, contentType: "text/css; charset=utf-8" },
  "favicon-32x32.png": { body: favicon, contentType: "image/png" },
};
