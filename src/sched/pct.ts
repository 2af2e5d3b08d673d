/**
 * PCT — probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), as CHESS and
 * Coyote run it: every actor gets a distinct random priority above `depth`; the highest
 * priority runnable actor always steps; at d − 1 change points, drawn uniformly over the
 * expected run length k, the running actor's priority drops below all others. A bug of
 * depth d (d ordering constraints) is found by one run with probability at least
 * 1 / (n · k^(d−1)) — which is why the model's steps are coarse (k small).
 */

import { Prng } from './prng.js';
import type { Scheduler, SchedulerView } from './scheduler.js';

/** The shortest run length k PCT plans for: change points fall in [1, k), which needs k ≥ 2. */
export const PCT_STEPS_MIN = 2;
/** PCT turns fair (uniformly random) after this many times k steps, as Coyote's fair PCT does. */
export const PCT_FAIR_AFTER_RUNS = 2;

export class PctScheduler implements Scheduler {
  readonly name = 'pct';
  private readonly priority: number[];
  /** The d − 1 change points: at step changeSteps[i] the actor that took the previous step drops to changeDrops[i] (a list of one or two: scanned, no map lookup per step). */
  private readonly changeSteps: number[] = [];
  private readonly changeDrops: number[] = [];
  /** The step after which every choice is fair (uniform over the runnable actors). */
  private readonly fairAfter: number;
  private readonly fair: Prng;

  /**
   * @param actors number of actors (n)
   * @param depth bug depth d ≥ 1 (d − 1 priority change points)
   * @param steps expected run length k in steps (change points fall in [1, k))
   */

  constructor(prng: Prng, readonly actors: number, readonly depth: number, readonly steps: number) {
    this.fairAfter = PCT_FAIR_AFTER_RUNS * Math.max(PCT_STEPS_MIN, Math.floor(steps));
    this.fair = prng;
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be an integer ≥ 1, got ${depth}`);
    // Distinct initial priorities depth … depth + n − 1, in random order (Fisher–Yates).
    const p = Array.from({ length: actors }, (_, i) => depth + i);
    for (let i = p.length - 1; i > 0; i--) {
      const j = prng.below(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    this.priority = p;
    const k = Math.max(PCT_STEPS_MIN, Math.floor(steps));
    // d − 1 distinct change points in [1, k): a run shorter than the depth has only k − 1.
    const points = Math.min(depth - 1, k - 1);
    for (let i = 1; i <= points; i++) {
      let at = 1 + prng.below(k - 1);
      while (this.changeSteps.includes(at)) at = 1 + prng.below(k - 1);
      this.changeSteps.push(at);
      this.changeDrops.push(depth - i); // priorities d−1 … 1: later change points lower
    }
  }

  /** The priority the previous step's actor drops to at `step`, or -1 (no change point there). */
  private dropAt(step: number): number {
    const steps = this.changeSteps;
    for (let i = 0; i < steps.length; i++) if (steps[i] === step) return this.changeDrops[i]!;
    return -1;
  }

  next(view: SchedulerView): number {
    // Fair after 2k steps (as Coyote's fair PCT): a top-priority actor spinning on a retry
    // would otherwise starve the lower one it waits for, and the run would never end.
    if (view.step > this.fairAfter) return view.runnable[this.fair.below(view.runnable.length)]!;
    const drop = this.dropAt(view.step);
    if (drop >= 0 && view.previous >= 0) this.priority[view.previous] = drop;
    let best = view.runnable[0]!;
    for (const a of view.runnable) if (this.priority[a]! > this.priority[best]!) best = a;
    return best;
  }

  /** The probability bound of finding a depth-d bug in one run: 1 / (n · k^(d−1)). */
  static bound(actors: number, steps: number, depth: number): number {
    return 1 / (actors * Math.pow(Math.max(1, steps), depth - 1));
  }
}
