/**
 * The threaded engine's watchdog: an unfinished actor that takes no step for `watchdogMs`
 * is a deadlock, one that steps without progress (no completed op, every fault retried) a
 * livelock; an actor blocked on a word is reported first, since it names the word (and so
 * the holder) everyone else spins on. The decision (`StallClock`) only sees samples; the
 * watchdog reads them from the actors' status lines and reports with every actor's
 * machine state and the mmu_lock and SRCU holders, tearing the run down.
 */

import { ACTOR_STATUS, AST } from './control.js';
import { describeEveryone, describeWord } from './threaded-describe.js';
import type { RunState } from './threaded-run.js';

/** One look at an actor: its status (ACTOR_STATUS), steps and progress counters, and whether its worker ended. */
export interface ActorSample {
  readonly status: number;
  readonly steps: number;
  readonly progress: number;
  readonly settled: boolean;
}

/** What the watchdog found: an actor waiting, not stepping, or stepping without progress, for `ms`. */
export type Stall =
  | { readonly kind: 'waiting'; readonly actor: number; readonly step: number; readonly ms: number }
  | { readonly kind: 'no-step'; readonly actor: number; readonly step: number; readonly ms: number }
  | { readonly kind: 'no-progress'; readonly actor: number; readonly step: number; readonly steps: number; readonly ms: number };

/** The watchdog's decision over samples: when each actor last stepped and last progressed. */
export class StallClock {
  private readonly lastSteps: number[];
  private readonly lastStepAt: number[];
  private readonly lastProgress: number[];
  private readonly lastProgressAt: number[];
  private readonly stepsAtProgress: number[];

  constructor(actors: number, private readonly watchdogMs: number, now: number) {
    this.lastSteps = new Array<number>(actors).fill(-1);
    this.lastStepAt = new Array<number>(actors).fill(now);
    this.lastProgress = new Array<number>(actors).fill(-1);
    this.lastProgressAt = new Array<number>(actors).fill(now);
    this.stepsAtProgress = new Array<number>(actors).fill(0);
  }

  /** Everyone counts as having just moved (the run started, or a scan held them all). */
  reset(now: number): void {
    this.lastStepAt.fill(now);
    this.lastProgressAt.fill(now);
  }

  /** One look at every actor: the first stall found, or null. */
  look(now: number, samples: readonly ActorSample[]): Stall | null {
    const watched: number[] = [];
    samples.forEach((s, a) => { if (this.observe(now, a, s)) watched.push(a); });
    const W = this.watchdogMs;
    for (const a of watched) {
      const stalled = now - this.lastStepAt[a]!;
      if (samples[a]!.status !== ACTOR_STATUS.WAITING || now - this.lastProgressAt[a]! < W || stalled < W / 2) continue;
      return { kind: 'waiting', actor: a, step: this.lastSteps[a]!, ms: stalled };
    }
    for (const a of watched) {
      if (now - this.lastStepAt[a]! >= W) return { kind: 'no-step', actor: a, step: this.lastSteps[a]!, ms: now - this.lastStepAt[a]! };
      if (now - this.lastProgressAt[a]! >= W) {
        return { kind: 'no-progress', actor: a, step: this.lastSteps[a]!, steps: (this.lastSteps[a]! - this.stepsAtProgress[a]!) >>> 0, ms: now - this.lastProgressAt[a]! };
      }
    }
    return null;
  }

  /** Notes a sample; true if the actor is one to watch (running or waiting, its worker alive). */
  private observe(now: number, a: number, s: ActorSample): boolean {
    if (s.steps !== this.lastSteps[a]) { this.lastSteps[a] = s.steps; this.lastStepAt[a] = now; }
    if (s.progress !== this.lastProgress[a]) { this.lastProgress[a] = s.progress; this.lastProgressAt[a] = now; this.stepsAtProgress[a] = s.steps; }
    if (s.settled || s.status === ACTOR_STATUS.DONE || s.status === ACTOR_STATUS.SLEEPING || s.status === ACTOR_STATUS.STARTING) {
      this.lastStepAt[a] = now;
      this.lastProgressAt[a] = now;
      this.stepsAtProgress[a] = s.steps;
      return false;
    }
    return true;
  }
}

/** The watchdog of a run: samples the status lines, and on a stall reports it and stops the run. */
export class Watchdog {
  readonly clock: StallClock;

  constructor(private readonly run: RunState, watchdogMs: number) {
    this.clock = new StallClock(run.nActors, watchdogMs, performance.now());
  }

  /** One look; true if it found a stall (the run is then stopping). */
  check(): boolean {
    const r = this.run;
    const samples = Array.from({ length: r.nActors }, (_, a): ActorSample => ({ status: r.read(a, AST.STATUS), steps: r.read(a, AST.STEPS), progress: r.read(a, AST.PROGRESS), settled: r.settled[a]! }));
    const stall = this.clock.look(performance.now(), samples);
    if (stall === null) return false;
    const kind = stall.kind === 'no-progress' ? 'livelock' : 'deadlock';
    r.fail({ kind, actors: [r.actorName(stall.actor)], step: stall.step, message: `watchdog: ${stallMessage(r, stall)}. Every actor: ${describeEveryone(r)}` }, 'watchdog');
    return true;
  }
}

function stallMessage(r: RunState, s: Stall): string {
  const name = r.actorName(s.actor);
  const ms = Math.round(s.ms);
  switch (s.kind) {
    case 'waiting': return `${name} has waited on ${describeWord(r, r.read(s.actor, AST.WAIT_WORD))} for ${ms} ms without progress`;
    case 'no-step': return `${name} took no step for ${ms} ms`;
    case 'no-progress': return `${name} took ${s.steps} steps but made no progress (no op completed, every fault retried) for ${ms} ms`;
  }
}
