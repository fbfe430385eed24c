import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { batchResponses, type ServeHandler } from "../../src/http/response_batching.ts";

const REQ = new Request("http://127.0.0.1/mcp", { method: "POST" });
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A handler answering at once with `name` as the body. */
const answering = (name: string): ServeHandler => () => Promise.resolve(new Response(name));

Deno.test("batchResponses(): a lone response goes out at once, before the turn ends", async () => {
  await nextTurn();
  const order: string[] = [];
  const batched = batchResponses(answering("alone"));
  const done = batched(REQ).then(async (res) => order.push(await res.text()));
  setImmediate(() => order.push("end of turn"));
  await done;
  await nextTurn();
  assert.deepEqual(order, ["alone", "end of turn"]);
});

Deno.test("batchResponses(): a response finished after another in the same turn waits for the turn to end", async () => {
  await nextTurn();
  const order: string[] = [];
  const inner = (req: Request) => Promise.resolve(new Response(req.headers.get("x-name")));
  const batched = batchResponses(inner);
  const call = (name: string) =>
    batched(new Request("http://127.0.0.1/mcp", { headers: { "x-name": name } }))
      .then(async (res) => order.push(await res.text()));
  const both = Promise.all([call("first"), call("second")]);
  // Scheduled before the batcher marks the turn, so it runs first at the turn's end.
  setImmediate(() => order.push("end of turn"));
  await both;
  assert.deepEqual(order, ["first", "end of turn", "second"]);
});

Deno.test("batchResponses(): each turn starts anew, so a later lone response is not held", async () => {
  await nextTurn();
  const batched = batchResponses(answering("x"));
  await Promise.all([batched(REQ), batched(REQ), batched(REQ)]);
  await nextTurn();
  const order: string[] = [];
  const done = batched(REQ).then(() => order.push("later"));
  setImmediate(() => order.push("end of turn"));
  await done;
  await nextTurn();
  assert.deepEqual(order, ["later", "end of turn"]);
});

Deno.test("batchResponses(): a handler's failure reaches the caller, and later calls are still answered", async () => {
  const failure = new Error("boom");
  let fail = true;
  const batched = batchResponses(() => {
    if (fail) return Promise.reject(failure);
    return Promise.resolve(new Response("ok"));
  });
  await assert.rejects(batched(REQ), (error) => error === failure);
  fail = false;
  const answers = await Promise.all([batched(REQ), batched(REQ)]);
  assert.deepEqual(await Promise.all(answers.map((r) => r.text())), ["ok", "ok"]);
});

Deno.test("batchResponses(): on a real server, 50 concurrent callers each get their own answer", async () => {
  let answered = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    batchResponses(async (req) => {
      const { id } = await req.json();
      return Response.json({ id });
    }),
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const callers = Array.from({ length: 50 }, async (_, caller) => {
      for (let i = 0; i < 10; i++) {
        const id = caller * 1000 + i;
        const res = await fetch(base, { method: "POST", body: JSON.stringify({ id }) });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { id });
        answered++;
      }
    });
    await Promise.all(callers);
    assert.equal(answered, 500);
  } finally {
    await server.shutdown();
  }
});
