import assert from "node:assert/strict";
import { createMemoryCache } from "../../src/cache/memory_cache.ts";

function clocked(options: { maxEntries?: number; maxBytes?: number; maxEntryBytes?: number } = {}) {
  const clock = { now: 1_000_000 };
  const cache = createMemoryCache({
    maxEntries: options.maxEntries ?? 100,
    maxBytes: options.maxBytes ?? 1_000_000,
    maxEntryBytes: options.maxEntryBytes ?? 100_000,
    now: () => clock.now,
  });
  return { cache, clock };
}

Deno.test("createMemoryCache() answers a value until its TTL passes, then forgets it", async () => {
  const { cache, clock } = clocked();
  await cache.set("k", { rows: [1, 2] }, 30);
  clock.now += 29_999;
  assert.deepEqual(await cache.get("k"), { rows: [1, 2] });
  clock.now += 1;
  assert.equal(await cache.get("k"), undefined);
  assert.equal(cache.size, 0);
  assert.equal(cache.bytes, 0);
});

Deno.test("createMemoryCache() keeps each entry's own TTL", async () => {
  const { cache, clock } = clocked();
  await cache.set("short", 1, 1);
  await cache.set("long", 2, 60);
  clock.now += 5_000;
  assert.equal(await cache.get("short"), undefined);
  assert.equal(await cache.get("long"), 2);
});

Deno.test("createMemoryCache() holds at most maxEntries, dropping the least recently used", async () => {
  const { cache } = clocked({ maxEntries: 3 });
  await cache.set("a", "A", 60);
  await cache.set("b", "B", 60);
  await cache.set("c", "C", 60);
  assert.equal(await cache.get("a"), "A"); // a is now the most recently used
  await cache.set("d", "D", 60);
  assert.equal(cache.size, 3);
  assert.equal(await cache.get("b"), undefined, "the least recently used went first");
  assert.deepEqual(
    [await cache.get("a"), await cache.get("c"), await cache.get("d")],
    ["A", "C", "D"],
  );
});

Deno.test("createMemoryCache() holds at most maxBytes (UTF-8 JSON plus key)", async () => {
  const { cache } = clocked({ maxBytes: 100 });
  const value = "x".repeat(38); // JSON: 40 bytes, plus a 1-byte key
  await cache.set("a", value, 60);
  await cache.set("b", value, 60);
  assert.equal(cache.bytes, 82);
  await cache.set("c", value, 60);
  assert.equal(cache.size, 2);
  assert.ok(cache.bytes <= 100);
  assert.equal(await cache.get("a"), undefined);
  // Multi-byte characters count as their UTF-8 bytes.
  await cache.set("e", "é".repeat(40), 60); // 80 + 2 quotes + 1 = 83 bytes
  assert.equal(cache.size, 1);
  assert.equal(cache.bytes, 83);
});

Deno.test("createMemoryCache() skips a value over maxEntryBytes and keeps the others", async () => {
  const { cache } = clocked({ maxEntryBytes: 20 });
  await cache.set("small", "ok", 60);
  await cache.set("big", "y".repeat(50), 60);
  assert.equal(await cache.get("big"), undefined);
  assert.equal(await cache.get("small"), "ok");
  // Replacing a key with an oversize value removes the old one too: never stale.
  await cache.set("small", "z".repeat(50), 60);
  assert.equal(await cache.get("small"), undefined);
  assert.equal(cache.bytes, 0);
});

Deno.test("createMemoryCache() hands out copies: a caller changing a hit changes nothing", async () => {
  const { cache } = clocked();
  const original = { rows: [{ id: 1 }] };
  await cache.set("k", original, 60);
  original.rows.push({ id: 2 });
  const first = (await cache.get("k")) as typeof original;
  first.rows[0].id = 99;
  assert.deepEqual(await cache.get("k"), { rows: [{ id: 1 }] });
});

Deno.test("createMemoryCache() sweeps expired entries nobody asks for again", async () => {
  const { cache, clock } = clocked();
  for (let i = 0; i < 50; i++) await cache.set(`old${i}`, i, 1);
  clock.now += 2_000;
  for (let i = 0; i < 100; i++) await cache.set(`new${i}`, i, 60);
  assert.equal(cache.size, 100, "the expired entries are gone without being read");
});

Deno.test("createMemoryCache() rejects a value JSON cannot hold, and close() empties it", async () => {
  const { cache } = clocked();
  await assert.rejects(cache.set("k", { n: 1n }, 60), TypeError);
  await cache.set("k", 1, 60);
  await cache.close();
  assert.equal(cache.size, 0);
  assert.equal(await cache.get("k"), undefined);
});
