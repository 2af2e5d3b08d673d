/**
 * The progress of `faultline bench prefault-vs-lazy` on stderr: on a terminal a bar redrawn
 * in place, with how far a long simulated run has got and about how long is left; otherwise
 * one plain line per finished run.
 */

import type { SimMetrics } from '../bench/prefault.js';
import type { Io } from './io.js';

/** The progress bar: runs done of all. */
function bar(done: number, total: number): string {
  const width = 24;
  const filled = Math.round((width * done) / total);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** 75 → `1m15s`, 8.2 → `8s`. */
function formatDuration(s: number): string {
  const r = Math.round(s);
  return r >= 60 ? `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s` : `${r}s`;
}

export class BenchProgress {
  private done = 0;
  private readonly t0 = performance.now();

  constructor(private readonly io: Io, private readonly isTty: boolean, private readonly total: number) {}

  /** For the run `what` starting now: on a terminal, the callback its engine reports the fraction done to. */
  onProgress(what: string): ((fraction: number) => void) | undefined {
    if (!this.isTty) return undefined;
    const runStart = performance.now();
    return (f) => {
      const el = (performance.now() - runStart) / 1000;
      const left = f > 0.02 ? ` ~${formatDuration((el * (1 - f)) / f)} left` : '';
      this.io.err(`\r\x1b[K${bar(this.done, this.total)} ${this.done}/${this.total} ${what}: ${Math.floor(f * 100)}%${left}`);
    };
  }

  /** The run `what` has finished with `m`. */
  finished(what: string, m: SimMetrics): void {
    this.done++;
    const median = m.runsNs !== undefined ? ` (median of ${m.runsNs.length})` : '';
    const line = `${what}: ${(m.totalNs / 1e6).toFixed(3)} ms ${m.clock === 'sim' ? 'simulated' : 'wall clock'}${median} (${((performance.now() - this.t0) / 1000).toFixed(1)} s)`;
    // On a terminal, a bar redrawn in place, the last run's figure beside it.
    if (this.isTty) this.io.err(`\r\x1b[K${bar(this.done, this.total)} ${this.done}/${this.total} ${line}${this.done === this.total ? '\n' : ''}`);
    else this.io.err(`[${this.done}/${this.total}] ${line}\n`);
  }
}
