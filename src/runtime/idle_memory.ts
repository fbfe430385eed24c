/**
 * Gives the V8 heap back to the system once a load is over.
 *
 * Why: V8 grows its heap for a load (the young generation up to its
 * semi-space cap, old space by its growing factor) and shrinks it only at a
 * collection that sees a low allocation rate. When a load stops, nothing
 * allocates, no collection runs, and the process keeps its peak. One
 * memory-reducing collection after the load (V8's "last resort" flavor:
 * full, compacting, new space shrunk) gives most of the growth back, for
 * one pause while nothing is being served (docs/BENCHMARKS.md, session 16).
 *
 * When: every {@linkcode IdleMemoryOptions.intervalMs}, if no request came
 * in since the last look and the heap holds at least
 * {@linkcode IdleMemoryOptions.growthBytes} more than after the last
 * release. So a busy server is never paused, and an idle one with health
 * probes is collected once after each load, not at every quiet moment.
 * (The heap's used bytes cannot tell idle from busy: a collection in
 * between hides what was allocated.)
 *
 * It needs `gc()`, which V8 defines only under `--expose-gc` (the binary's
 * and the server tasks' flags): without it, nothing happens.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";

/** What {@linkcode releaseMemoryWhenIdle} reads and does. */
export interface IdleMemoryOptions {
  /** How often to look, in ms (default 5000). */
  readonly intervalMs?: number;
  /** Heap growth since the last release that is worth one (default 16 MiB). */
  readonly growthBytes?: number;
  /** A count that rises with each request served: unchanged over an interval means idle. */
  readonly activity: () => number;
  /** The heap's committed bytes (default: `node:v8`'s `total_heap_size`). */
  readonly readHeap?: () => number;
  /** Runs a memory-reducing full collection (default: V8's `gc`, when exposed). */
  readonly collect?: () => void;
  /** Told after each release, with the bytes before and after. */
  readonly onRelease?: (before: number, after: number) => void;
}

/** A running watch: {@linkcode IdleMemory.stop} ends it. */
export interface IdleMemory {
  /** Releases made so far. */
  readonly releases: number;
  stop(): void;
}

type ExposedGc = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/** V8's `gc` with its memory-reducing flavor, or undefined without `--expose-gc`. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: ExposedGc }).gc;
  if (typeof gc !== "function") return undefined;
  return () => gc({ type: "major", execution: "sync", flavor: "last-resort" });
}

function v8Heap(): number {
  return getHeapStatistics().total_heap_size;
}

/**
 * Watches the heap and releases it after a load (see the module's doc);
 * returns undefined when no collection can be run (no `--expose-gc`). The
 * timer does not keep the process alive.
 */
export function releaseMemoryWhenIdle(options: IdleMemoryOptions): IdleMemory | undefined {
  const collect = options.collect ?? exposedGc();
  if (collect === undefined) return undefined;
  const readHeap = options.readHeap ?? v8Heap;
  const growth = options.growthBytes ?? 16 * 1024 * 1024;
  let baseline = readHeap();
  let seen = options.activity();
  let releases = 0;
  const timer = setInterval(() => {
    const now = readHeap();
    const activity = options.activity();
    const idle = activity === seen;
    seen = activity;
    // A heap that shrank by itself lowers the bar for the next release.
    if (now < baseline) baseline = now;
    if (!idle || now < baseline + growth) return;
    collect();
    const after = readHeap();
    releases++;
    options.onRelease?.(now, after);
    baseline = after;
  }, options.intervalMs ?? 5000);
  Deno.unrefTimer(timer);
  return {
    get releases() {
      return releases;
    },
    stop: () => clearInterval(timer),
  };
}
