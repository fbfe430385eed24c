/**
 * Progress of a long `ingest`: on a terminal, one bar redrawn in place with
 * counts, rate and ETA; otherwise (a pipe, a log file, CI) plain lines, at
 * most one every few seconds, that read well in a log.
 *
 * @module
 */

/** Where progress goes, and how. */
export interface ProgressOptions {
  /** Writes text as it is (no newline added). */
  readonly write: (text: string) => void;
  /** A terminal gets the redrawn bar; anything else, plain lines. */
  readonly isTerminal: boolean;
  /** Seconds between plain lines (default 5). */
  readonly lineIntervalSeconds?: number;
  /** The clock, in milliseconds (tests pass their own). */
  readonly now?: () => number;
  /** Width of the bar in characters (default 30). */
  readonly barWidth?: number;
}

/** Reports the progress of one phase of work counted in `unit`s. */
export interface Progress {
  /** Starts counting up to `total`. */
  start(total: number, unit: string): void;
  /** `done` of `total` are finished. */
  update(done: number): void;
  /** Ends the bar or line; `summary` is written on its own line. */
  finish(summary: string): void;
}

/** `12.3 s`, `4m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Creates a progress reporter.
 *
 * @example Plain lines for a log
 * ```ts
 * import { createProgress } from "./progress.ts";
 * import assert from "node:assert/strict";
 *
 * let out = "";
 * let t = 0;
 * const progress = createProgress({ write: (s) => out += s, isTerminal: false, now: () => t });
 * progress.start(100, "chunks");
 * t = 10_000;
 * progress.update(50);
 * progress.finish("done");
 * assert.equal(out, "ingest: 50/100 chunks (50%), 5.0 chunks/s, ETA 10s\ndone\n");
 * ```
 */
export function createProgress(options: ProgressOptions): Progress {
  const { write, isTerminal } = options;
  const now = options.now ?? (() => performance.now());
  const intervalMs = (options.lineIntervalSeconds ?? 5) * 1000;
  const width = options.barWidth ?? 30;
  let total = 0;
  let unit = "";
  let started = 0;
  let lastLine = 0;
  let drawn = false;

  function stats(done: number) {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    return { rate, eta, percent };
  }

  return {
    start(n, u) {
      total = n;
      unit = u;
      started = now();
      lastLine = started;
      if (isTerminal) {
        this.update(0);
      }
    },
    update(done) {
      const { rate, eta, percent } = stats(done);
      if (isTerminal) {
        const filled = total > 0 ? Math.round((done / total) * width) : width;
        const bar = "█".repeat(filled) + "░".repeat(width - filled);
        const rateText = done > 0 ? `${rate.toFixed(1)} ${unit}/s` : `… ${unit}/s`;
        const etaText = done > 0 ? formatDuration(eta) : "?";
        // \r returns to the line start; \x1b[K clears what a longer line left.
        write(`\r${bar} ${done}/${total} ${unit} ${percent}% · ${rateText} · ETA ${etaText}\x1b[K`);
        drawn = true;
        return;
      }
      const t = now();
      if (t - lastLine < intervalMs && done < total) return;
      lastLine = t;
      write(
        `ingest: ${done}/${total} ${unit} (${percent}%), ${rate.toFixed(1)} ${unit}/s, ETA ${
          formatDuration(eta)
        }\n`,
      );
    },
    finish(summary) {
      if (isTerminal && drawn) write("\n");
      drawn = false;
      write(`${summary}\n`);
    },
  };
}
