import assert from "node:assert/strict";
import type { Handler } from "../../src/http/context.ts";
import { createRouter, type Route } from "../../src/http/router.ts";

function route(method: Route["method"], path: string): Route {
  const handler: Handler = () => Promise.resolve(new Response(`${method} ${path}`));
  return { method, path, middleware: [], handler };
}

const HEALTH = route("GET", "/health");
const LIST = route("GET", "/v1/mcp");
const CALL = route("POST", "/v1/mcp/:tool");
const MCP_POST = route("POST", "/mcp");
const MCP_DELETE = route("DELETE", "/mcp");
const ITEM_GET = route("GET", "/v1/items/:id/parts/:part");
const ITEM_PUT = route("PUT", "/v1/items/:id/parts/:part");

const match = createRouter([HEALTH, LIST, CALL, MCP_POST, MCP_DELETE, ITEM_GET, ITEM_PUT]);

Deno.test("createRouter() matches an exact path with no params", () => {
  const found = match("GET", "/health");
  assert.equal(found.kind, "found");
  if (found.kind !== "found") return;
  assert.equal(found.route, HEALTH);
  assert.deepEqual(found.params, {});
});

Deno.test("createRouter() picks the route for the method among several on one path", () => {
  const post = match("POST", "/mcp");
  const del = match("DELETE", "/mcp");
  assert.ok(post.kind === "found" && post.route === MCP_POST);
  assert.ok(del.kind === "found" && del.route === MCP_DELETE);
});

Deno.test("createRouter() matches /v1/mcp/:tool and gives params.tool", () => {
  const found = match("POST", "/v1/mcp/get_top_customers");
  assert.equal(found.kind, "found");
  if (found.kind !== "found") return;
  assert.equal(found.route, CALL);
  assert.deepEqual({ ...found.params }, { tool: "get_top_customers" });
});

Deno.test("createRouter() gives every named segment of a pattern", () => {
  const found = match("PUT", "/v1/items/42/parts/wheel");
  assert.equal(found.kind, "found");
  if (found.kind !== "found") return;
  assert.equal(found.route, ITEM_PUT);
  assert.deepEqual({ ...found.params }, { id: "42", part: "wheel" });
});

Deno.test("createRouter() prefers an exact path to a pattern", () => {
  const found = match("GET", "/v1/mcp");
  assert.ok(found.kind === "found" && found.route === LIST);
});

Deno.test("createRouter() answers not_found for unknown paths", () => {
  for (
    const path of ["/", "/nope", "/v1", "/v1/mcp/a/b", "/healthz", "/HEALTH", "/v1/items/1/parts"]
  ) {
    assert.deepEqual(match("GET", path), { kind: "not_found" }, path);
  }
});

Deno.test("createRouter() answers method_not_allowed with the allowed methods", () => {
  assert.deepEqual(match("GET", "/v1/mcp/some_tool"), {
    kind: "method_not_allowed",
    allow: ["POST"],
  });
  assert.deepEqual(match("GET", "/mcp"), {
    kind: "method_not_allowed",
    allow: ["POST", "DELETE"],
  });
});

Deno.test("createRouter() lists HEAD in allow when the path has a GET route", () => {
  assert.deepEqual(match("POST", "/health"), {
    kind: "method_not_allowed",
    allow: ["GET", "HEAD"],
  });
  assert.deepEqual(match("DELETE", "/v1/items/1/parts/x"), {
    kind: "method_not_allowed",
    allow: ["GET", "PUT", "HEAD"],
  });
});

Deno.test("createRouter() does not list HEAD when the path has no GET route", () => {
  const found = match("PUT", "/mcp");
  assert.equal(found.kind, "method_not_allowed");
  if (found.kind !== "method_not_allowed") return;
  assert.ok(!found.allow.includes("HEAD"));
});

Deno.test("createRouter() answers HEAD with the GET route", () => {
  const found = match("HEAD", "/health");
  assert.ok(found.kind === "found" && found.route === HEALTH);
  const patterned = match("HEAD", "/v1/items/7/parts/bolt");
  assert.ok(patterned.kind === "found" && patterned.route === ITEM_GET);
  assert.deepEqual(match("HEAD", "/mcp"), {
    kind: "method_not_allowed",
    allow: ["POST", "DELETE"],
  });
});

Deno.test("createRouter() matches methods case-sensitively", () => {
  assert.equal(match("get", "/health").kind, "method_not_allowed");
});

Deno.test("createRouter() does not crash on encoded or odd characters", () => {
  const odd = [
    "/v1/mcp/a%20b",
    "/v1/mcp/%zz",
    "/v1/mcp/%",
    "/v1/mcp/a%2Fb",
    "/v1/mcp/ü",
    "/v1/mcp/..",
    "/v1/mcp/a:b",
    "/v1/mcp/(x)*",
    "/v1/mcp/\u0000",
    "/v1/mcp/" + "x".repeat(10_000),
    "//v1/mcp/x",
    "",
    "*",
  ];
  for (const path of odd) {
    const found = match("POST", path);
    assert.ok(["found", "not_found", "method_not_allowed"].includes(found.kind), path);
  }
  const encoded = match("POST", "/v1/mcp/a%2Fb");
  assert.equal(encoded.kind, "found");
  if (encoded.kind === "found") assert.equal(encoded.params.tool, "a%2Fb");
});

Deno.test("createRouter() treats a trailing slash as a different path", () => {
  assert.deepEqual(match("GET", "/health/"), { kind: "not_found" });
  assert.deepEqual(match("POST", "/v1/mcp/some_tool/"), { kind: "not_found" });
  assert.deepEqual(match("GET", "/v1/mcp/"), { kind: "not_found" });
});

Deno.test("createRouter() with no routes finds nothing", () => {
  assert.deepEqual(createRouter([])("GET", "/"), { kind: "not_found" });
});

Deno.test("createRouter() matches patterns exactly as URLPattern did, hostile paths included", () => {
  const templates = ["/v1/mcp/:tool", "/v1/items/:id/parts/:part", "/docs/:asset"];
  const paths = [
    "/v1/mcp/noop",
    "/v1/mcp/",
    "/v1/mcp//",
    "/v1/mcp/noop/",
    "/v1/mcp/a/b",
    "/v1/mcp/%2F",
    "/v1/mcp/..",
    "/v1/mcp/%2e%2e",
    "/v1/mcp/a%20b",
    "/v1/mcp/ünï",
    "/v1/mcp/a;b",
    "/v1/mcp/a:b",
    "/v1/mcp/:tool",
    "/v1/mcpx/noop",
    "/V1/mcp/noop",
    "//v1/mcp/noop",
    "/v1/items/1/parts/x",
    "/v1/items//parts/x",
    "/v1/items/1/parts/",
    "/docs/swagger-ui.css",
    "/docs/",
    "/docs",
  ];
  for (const template of templates) {
    const only = createRouter([route("GET", template)]);
    const pattern = new URLPattern({ pathname: template });
    for (const path of paths) {
      // URLPattern sees the path as the server does: normalized by URL parsing first.
      const pathname = new URL(`http://127.0.0.1${path}`).pathname;
      const expected = pattern.exec({ pathname })?.pathname.groups;
      const found = only("GET", pathname);
      assert.deepEqual(
        found.kind === "found" ? { ...found.params } : undefined,
        expected === undefined ? undefined : { ...expected },
        `${template} on ${pathname}`,
      );
    }
  }
});
