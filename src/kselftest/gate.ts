/**
 * The interleaving a selftest's threads produce when they start together, as a scheduler.
 * A window opens when an actor's next op is a given one of the scenario (`startOp`); it is
 * a list of gates, each letting one actor run until it is about to take a named step (its
 * label as schedulers see it: `vcpu0:pre-fault.loop`) or can run no more (blocked,
 * finished), then the next gate. Outside windows, and after a window's last gate, the ops
 * run in scenario order (the sequential scheduler). A selftest's outcome then depends on
 * no seed: a release gives the same answer every time, and one that hangs on the
 * interleaving hangs every time.
 */

import { SequentialScheduler, type Scheduler, type SchedulerView } from '../sched/scheduler.js';

export interface Gate {
  /** Actor index (vCPUs 0…n-1, then host, then vmm). */
  readonly actor: number;
  /** Stop before a step with this label (not the gate's first); absent: run until the actor cannot. */
  readonly until?: string;
}

export interface GateWindow {
  /** The window opens when `actor`'s next op is the scenario's op `startOp` and it can start it. */
  readonly actor: number;
  readonly startOp: number;
  readonly gates: readonly Gate[];
}

export class GateScheduler implements Scheduler {
  readonly name = 'gate';
  readonly wantsLabels = true;
  private window = 0;
  /** The gate running in the open window; -1: the window is not open yet. */
  private gate = -1;
  private stepsInGate = 0;
  private readonly rest = new SequentialScheduler();

  constructor(private readonly windows: readonly GateWindow[]) {}

  next(view: SchedulerView): number {
    const w = this.windows[this.window];
    if (w === undefined) return this.rest.next(view);
    if (this.gate < 0) {
      if (view.headOpIndex[w.actor] !== w.startOp || !view.runnable.includes(w.actor)) return this.rest.next(view);
      this.gate = 0;
    }
    for (; this.gate < w.gates.length; this.gate++, this.stepsInGate = 0) {
      const g = w.gates[this.gate]!;
      const reached = g.until !== undefined && this.stepsInGate > 0 && view.labels?.[g.actor] === g.until;
      if (view.runnable.includes(g.actor) && !reached) {
        this.stepsInGate++;
        return g.actor;
      }
    }
    this.window++;
    this.gate = -1;
    return this.next(view);
  }
}
