/**
 * Replay: the choices of a recorded run, as labelled steps (`vcpu1:page-fault.checkStale`:
 * the actor and the machine state its step starts in). A label names what the step is, not
 * an index into today's code, so a token survives changes elsewhere — and when the model
 * no longer offers the recorded step, replay says so at that step instead of running some
 * other interleaving.
 *
 * `strict` (replay): a label no runnable actor has is a ReplayMismatch. `lenient`
 * (shrinking) lets such a step go to the previous actor if it can run, else the lowest
 * runnable one — the "no preemption" default — which is also what every step after the
 * recorded schedule does in both modes.
 */

import { FAIR_SLICE } from './dfs.js';
import type { Scheduler, SchedulerView } from './scheduler.js';

export class ReplayMismatch extends Error {
  constructor(readonly step: number, readonly expected: string, readonly offered: readonly string[]) {
    super(`the token no longer applies at step ${step}: it chose '${expected}', but the runnable actors are at ${offered.map((o) => `'${o}'`).join(', ') || 'nothing'}`);
    this.name = 'ReplayMismatch';
  }
}

export class ReplayScheduler implements Scheduler {
  readonly name = 'replay';
  readonly wantsLabels = true;
  /** Per step: the actor name that takes it, and the full label where a segment starts. */
  private readonly actorAt: string[] = [];
  private readonly labelAt = new Map<number, string>();

  /** @param segments the schedule: `[label, n]` — the actor of `label` takes n steps, the first one at that label. */
  constructor(segments: readonly (readonly [string, number])[], private readonly strict: boolean) {
    for (const [label, n] of segments) {
      this.labelAt.set(this.actorAt.length, label);
      const actor = label.slice(0, label.indexOf(':'));
      for (let i = 0; i < n; i++) this.actorAt.push(actor);
    }
  }

  get steps(): number {
    return this.actorAt.length;
  }

  next(view: SchedulerView): number {
    const labels = view.labels!;
    const actor = this.actorAt[view.step];
    if (actor !== undefined) {
      const want = this.labelAt.get(view.step);
      for (const a of view.runnable) {
        const l = labels[a]!;
        if (want !== undefined ? l === want : l.startsWith(`${actor}:`)) return a;
      }
      if (this.strict) throw new ReplayMismatch(view.step, want ?? `${actor}:…`, view.runnable.map((a) => labels[a]!));
    }
    // Past the recorded schedule (or, lenient, off it): no preemption — but an actor that
    // ran FAIR_SLICE steps in a row hands over, so a vCPU spinning on RET_PF_RETRY cannot
    // starve the actor it waits for (and a shrink candidate ends).
    let a: number;
    if (view.runnable.includes(view.previous) && (this.streak < FAIR_SLICE || view.runnable.length === 1)) a = view.previous;
    else a = view.runnable.find((r) => r > view.previous) ?? view.runnable[0]!;
    this.streak = a === view.previous ? this.streak + 1 : 1;
    return a;
  }

  private streak = 0;
}
