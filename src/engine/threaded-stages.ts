/**
 * A staged run (op-source.ts StagePlan, e.g. a selftest's rendezvous): when every vCPU
 * has finished the current stage, the engine gives the host the command due before the
 * next one and, once the host carried it out, opens the next stage; after the last, the
 * run stops. Each stage's time, and what the vCPUs' accesses returned there (their
 * EV.STAGE records), make its StageResult.
 */

import type { Observable, Subscription } from 'rxjs';
import { AST, CTL, EV, type ActorEvent } from './control.js';
import type { StagePlan } from './op-source.js';
import type { RunState } from './threaded-run.js';

/** A stage as it ran: its name, how long it took, and what the vCPUs' accesses returned. */
export interface StageResult {
  readonly stage: number;
  readonly name: string;
  readonly ms: number;
  readonly ok: number;
  readonly efault: number;
  readonly otherErrors: number;
}

type Tally = { -readonly [K in keyof StageResult]: StageResult[K] };

export class StageKeeper {
  private readonly stages: Tally[] = [];
  private stageStart = performance.now();
  private readonly sub: Subscription;

  constructor(private readonly run: RunState, private readonly plan: StagePlan | null, events$: Observable<ActorEvent>) {
    this.sub = events$.subscribe((e) => {
      if (e.type !== EV.STAGE) return;
      const r = this.tally(e.code);
      r.ok += e.a; r.efault += e.b; r.otherErrors += e.c;
    });
  }

  /** Opens the next stage if every vCPU finished this one (and the host's command between is done). */
  advance(): void {
    const plan = this.plan;
    const i32 = this.run.ctl.i32;
    if (plan === null) return;
    const st = Atomics.load(i32, CTL.STAGE);
    for (let v = 0; v < this.run.vm.vcpus; v++) if (this.run.read(v, AST.STAGE_DONE) < st + 1) return;
    const next = st + 1;
    const cmd = plan.hostCommandBefore[next] ?? 0;
    if (cmd > 0 && Atomics.load(i32, CTL.HOST_ACK) < cmd) {
      if (Atomics.load(i32, CTL.HOST_CMD) < cmd) Atomics.store(i32, CTL.HOST_CMD, cmd);
      return;
    }
    const now = performance.now();
    this.tally(st).ms = Math.round(now - this.stageStart);
    this.stageStart = now;
    if (next >= plan.names.length) {
      Atomics.store(i32, CTL.HOST_CMD, Object.keys(plan.hostCommandBefore).length + 1); // the host has nothing more to do
      if (this.run.stopReason === null) this.run.stopReason = 'stages';
    }
    Atomics.store(i32, CTL.STAGE, next);
  }

  /** The stages that ran, in order. */
  results(): StageResult[] {
    this.sub.unsubscribe();
    return this.stages.filter((x) => x !== undefined);
  }

  private tally(st: number): Tally {
    let r = this.stages[st];
    if (r === undefined) { r = { stage: st, name: this.plan?.names[st] ?? `stage ${st}`, ms: 0, ok: 0, efault: 0, otherErrors: 0 }; this.stages[st] = r; }
    return r;
  }
}
