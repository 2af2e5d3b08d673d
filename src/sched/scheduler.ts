/**
 * The scheduler seam: the engine asks which runnable actor takes the next step; the
 * scheduler knows nothing of engines or of the model. Strategies implement this one
 * interface (sequential and seeded random here; PCT, DFS and replay build on it).
 */

import { Prng } from './prng.js';

/**
 * The shared words a step read and wrote, as half-open ranges [start, end, start, end, …]
 * of 32-bit word indices (the engine records them; see src/kvm/shm.ts).
 */
export interface StepFootprint {
  readonly reads: Int32Array;
  readonly writes: Int32Array;
}

export interface SchedulerView {
  /** Actors that can take a step now (not blocked, not finished), ascending. */
  readonly runnable: readonly number[];
  /** For each actor, the scenario position of the op at the head of its queue (Infinity when none). */
  readonly headOpIndex: readonly number[];
  /** The actor that took the previous step (-1 at start). */
  readonly previous: number;
  /** Step number about to be taken. */
  readonly step: number;
  /**
   * Per actor, the label of the step it would take (`vcpu1:page-fault.checkStale`) — given
   * only to schedulers that ask for it (`wantsLabels`).
   */
  readonly labels?: readonly string[];
  /** Per actor, its simulated clock in ns — given when the run has a cost model. */
  readonly clock?: Float64Array;
}

export interface Scheduler {
  readonly name: string;
  /** The scheduler needs `view.labels` (replay). */
  readonly wantsLabels?: boolean;
  /** The scheduler needs each step's footprint (`afterStep`), e.g. for sleep sets. */
  readonly wantsFootprints?: boolean;
  /**
   * With one runnable actor, `next` returns it and changes no state of the scheduler (no
   * PRNG draw, no priority change, no choice point): the engine may then skip the call.
   */
  readonly forcedWhenAlone?: boolean;
  /**
   * Picks one of `view.runnable` (never called with none), or -1 to abandon the run (a
   * sleep-set-blocked DFS branch; the engine then stops with `abandoned` set).
   */
  next(view: SchedulerView): number;
  /** After each step taken: who took it and the shared words it read and wrote. */
  afterStep?(actor: number, footprint: StepFootprint): void;
}

/**
 * `sequential`: ops run in file order — the actor owning the earliest pending op steps
 * until that op completes; an actor whose turn it is but which is blocked yields to the
 * next earliest. Actors with nothing left to do step last (to reach their final state).
 */
export class SequentialScheduler implements Scheduler {
  readonly name = 'sequential';
  readonly forcedWhenAlone = true;

  next(view: SchedulerView): number {
    let best = view.runnable[0]!;
    let bestIdx = Infinity;
    for (const a of view.runnable) {
      const idx = view.headOpIndex[a]!;
      if (idx < bestIdx) { best = a; bestIdx = idx; }
    }
    return best;
  }
}

/** `random`: a uniformly random runnable actor at every step, from the run's seeded PRNG. */
export class RandomScheduler implements Scheduler {
  readonly name = 'random';
  /** `below(1)` draws nothing. */
  readonly forcedWhenAlone = true;

  constructor(private readonly prng: Prng) {}

  next(view: SchedulerView): number {
    return view.runnable[this.prng.below(view.runnable.length)]!;
  }
}

/**
 * `earliest`: the discrete-event order of the simulated clock — the runnable actor whose
 * clock is earliest (ties to the lowest id). Needs a run with a cost model.
 */
export class EarliestClockScheduler implements Scheduler {
  readonly name = 'earliest';

  next(view: SchedulerView): number {
    const clock = view.clock;
    if (clock === undefined) throw new Error('the earliest-clock scheduler needs a run with a cost model');
    let best = view.runnable[0]!;
    for (const a of view.runnable) if (clock[a]! < clock[best]!) best = a;
    return best;
  }
}

export type SchedulerName = 'sequential' | 'random';
export const SCHEDULER_NAMES: readonly SchedulerName[] = ['sequential', 'random'];

export function createScheduler(name: SchedulerName, prng: Prng): Scheduler {
  switch (name) {
    case 'sequential': return new SequentialScheduler();
    case 'random': return new RandomScheduler(prng);
  }
}
