import assert from "node:assert/strict";
import type { ApiKey } from "../../../src/config/env.ts";
import type { RequestContext } from "../../../src/http/context.ts";
import { auth, sameKey, unauthorized } from "../../../src/http/middleware/auth.ts";
import { ToolError } from "../../../src/tools/errors.ts";
import { requestContext } from "../../harness.ts";

const PRIMARY = "primary-KEY-0123456789abcdef";
const SECONDARY = "secondary-KEY-fedcba9876543210";
const KEYS: readonly ApiKey[] = [
  { id: "primary", key: PRIMARY },
  { id: "secondary", key: SECONDARY },
];

const context = () => requestContext();

function request(authorization?: string): Request {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  return new Request("http://localhost:8000/v1/mcp", { headers });
}

interface Run {
  readonly ctx: RequestContext;
  readonly nextCalls: number;
  readonly response?: Response;
  readonly error?: unknown;
}

/** Runs the middleware; a synchronous throw counts the same as a rejection. */
async function run(keys: readonly ApiKey[], authorization?: string): Promise<Run> {
  const middleware = auth({ keys });
  const ctx = context();
  let nextCalls = 0;
  const next = () => {
    nextCalls++;
    return Promise.resolve(new Response("ok"));
  };
  try {
    const response = await (async () => await middleware(request(authorization), ctx, next))();
    return { ctx, nextCalls, response };
  } catch (error) {
    return { ctx, nextCalls, error };
  }
}

/** Asserts the request is refused with the one 401, without calling `next`. */
async function assertRefused(keys: readonly ApiKey[], authorization?: string): Promise<ToolError> {
  const result = await run(keys, authorization);
  const label = JSON.stringify(authorization);
  assert.equal(result.response, undefined, `${label} was accepted`);
  assert.ok(result.error instanceof ToolError, `${label}: expected a ToolError`);
  assert.equal(result.error.httpStatus, 401, label);
  assert.equal(result.error.status, "unauthorized", label);
  assert.equal(result.error.message, "Unauthorized", label);
  assert.ok(result.error.headers?.["www-authenticate"]?.startsWith("Bearer"), label);
  assert.equal(result.nextCalls, 0, `${label}: next was called`);
  assert.equal(result.ctx.principal, undefined, label);
  return result.error;
}

Deno.test("auth() accepts the primary key and sets principal primary", async () => {
  const result = await run(KEYS, `Bearer ${PRIMARY}`);
  assert.equal(result.error, undefined);
  assert.equal(await result.response?.text(), "ok");
  assert.equal(result.nextCalls, 1);
  assert.deepEqual(result.ctx.principal, { id: "primary" });
});

Deno.test("auth() accepts the secondary key and sets principal secondary", async () => {
  const result = await run(KEYS, `Bearer ${SECONDARY}`);
  assert.equal(result.error, undefined);
  assert.equal(result.nextCalls, 1);
  assert.deepEqual(result.ctx.principal, { id: "secondary" });
});

Deno.test("auth() accepts the scheme in any case", async () => {
  for (const scheme of ["bearer", "BEARER", "BeArEr"]) {
    const result = await run(KEYS, `${scheme} ${PRIMARY}`);
    assert.equal(result.error, undefined, scheme);
    assert.deepEqual(result.ctx.principal, { id: "primary" }, scheme);
  }
});

Deno.test("auth() accepts extra spaces between scheme and key", async () => {
  const result = await run(KEYS, `Bearer    ${SECONDARY}`);
  assert.deepEqual(result.ctx.principal, { id: "secondary" });
});

Deno.test("auth() refuses a request without Authorization", async () => {
  await assertRefused(KEYS);
});

Deno.test("auth() refuses malformed Authorization headers", async () => {
  for (
    const header of [
      "",
      "Basic xxx",
      `Basic ${btoa(`user:${PRIMARY}`)}`,
      "Bearer",
      "Bearer  ",
      "Bearer ",
      PRIMARY,
      `Token ${PRIMARY}`,
      `Bearer:${PRIMARY}`,
      `Bearer${PRIMARY}`,
      `Bearer ${PRIMARY} ${SECONDARY}`,
      `Bearer ${PRIMARY}\tx`,
      `Bearer ${"a".repeat(1025)}`,
    ]
  ) {
    await assertRefused(KEYS, header);
  }
});

Deno.test("auth() refuses a wrong key", async () => {
  await assertRefused(KEYS, "Bearer not-the-right-key-at-all-0000");
});

Deno.test("auth() refuses a key with a suffix or prefix or in another case", async () => {
  for (
    const key of [
      `${PRIMARY}x`,
      `x${PRIMARY}`,
      PRIMARY.slice(0, -1),
      PRIMARY.slice(1),
      PRIMARY.toUpperCase(),
      `${PRIMARY}${SECONDARY}`,
    ]
  ) {
    await assertRefused(KEYS, `Bearer ${key}`);
  }
});

Deno.test("auth() gives identical errors for missing, malformed and wrong keys", async () => {
  const missing = await assertRefused(KEYS);
  const malformed = await assertRefused(KEYS, "Basic xxx");
  const wrong = await assertRefused(KEYS, "Bearer wrong-key-wrong-key-wrong");
  for (const error of [malformed, wrong]) {
    assert.equal(error.message, missing.message);
    assert.equal(error.status, missing.status);
    assert.equal(error.httpStatus, missing.httpStatus);
    assert.deepEqual(error.headers, missing.headers);
    assert.deepEqual(error.details, missing.details);
    assert.equal(error.cause, missing.cause);
  }
});

Deno.test("auth() with no keys configured refuses every request", async () => {
  for (
    const header of [undefined, `Bearer ${PRIMARY}`, "Bearer anything-at-all-here", "Bearer x"]
  ) {
    await assertRefused([], header);
  }
});

Deno.test("auth() with only a primary key refuses the secondary one", async () => {
  const keys = KEYS.slice(0, 1);
  assert.deepEqual((await run(keys, `Bearer ${PRIMARY}`)).ctx.principal, { id: "primary" });
  await assertRefused(keys, `Bearer ${SECONDARY}`);
});

Deno.test("unauthorized() is the 401 with a Bearer challenge", () => {
  const error = unauthorized();
  assert.ok(error instanceof ToolError);
  assert.equal(error.status, "unauthorized");
  assert.equal(error.httpStatus, 401);
  assert.equal(error.message, "Unauthorized");
  assert.deepEqual(error.headers, { "www-authenticate": 'Bearer realm="mcp-tool-server"' });
  assert.notEqual(unauthorized(), error);
});

Deno.test("auth() with anonymous serves a request without Authorization as that principal", async () => {
  const middleware = auth({ keys: KEYS, anonymous: { id: "conformance" } });
  const ctx = context();
  const response = await middleware(request(), ctx, () => Promise.resolve(new Response("ok")));
  assert.equal(await response.text(), "ok");
  assert.deepEqual(ctx.principal, { id: "conformance" });
  // A key, when sent, is still checked: the anonymous principal is only for no header at all.
  const keyed = context();
  await middleware(request(`Bearer ${SECONDARY}`), keyed, () => Promise.resolve(new Response()));
  assert.deepEqual(keyed.principal, { id: "secondary" });
  for (const header of ["", "Bearer wrong-key-0123456789abcdef", "Basic abc"]) {
    await assert.rejects(
      () => middleware(request(header), context(), () => Promise.resolve(new Response())),
      (error) => error instanceof ToolError && error.httpStatus === 401,
      JSON.stringify(header),
    );
  }
});

Deno.test("sameKey() is true only for the identical key", () => {
  const key = "primary-test-key-0123456789";
  assert.equal(sameKey(key, key), true);
  assert.equal(sameKey(key.slice(0, -1), key), false, "a prefix");
  assert.equal(sameKey(key + "x", key), false, "longer");
  assert.equal(sameKey(key + key, key), false, "the key twice");
  assert.equal(sameKey("", key), false, "empty");
  assert.equal(sameKey(key.slice(0, 9), key.slice(0, 9) + key.slice(0, 9)), false, "repeating");
  for (let i = 0; i < key.length; i++) {
    const wrong = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) ^ 1) + key.slice(i + 1);
    assert.equal(sameKey(wrong, key), false, `differs at ${i}`);
  }
});
