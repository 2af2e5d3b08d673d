/**
 * Bounded-preemption depth-first search over schedules (CHESS's iterative context
 * bounding): a schedule is a prefix of forced choices followed by the non-preemptive
 * default (the previous actor while it can run, else the lowest runnable one). Each run
 * records, per step, who ran and who could have; the search then branches at every later
 * step to every other runnable actor, as long as the schedule's preemptions — switches
 * away from an actor that could still run — stay within the bound. Every schedule it
 * runs is distinct; small bounds reach most bugs (CHESS: depth-1 and -2 bugs dominate).
 */

import type { Scheduler, SchedulerView } from './scheduler.js';

/** Steps an actor may take in a row in the default continuation before it must hand over. */
export const FAIR_SLICE = 200;

/** Follows a prefix of choices, then the non-preemptive default; records every step. */
export class PrefixScheduler implements Scheduler {
  readonly name = 'dfs';
  readonly chosen: number[] = [];
  readonly runnable: number[][] = [];

  constructor(private readonly prefix: readonly number[]) {}

  /** Steps the previous actor has taken in a row. */
  private streak = 0;

  next(view: SchedulerView): number {
    const forced = this.prefix[view.step];
    let a: number;
    if (forced !== undefined && view.runnable.includes(forced)) a = forced;
    else if (view.runnable.includes(view.previous) && (this.streak < FAIR_SLICE || view.runnable.length === 1)) a = view.previous;
    else {
      // Fairness (CHESS's yield): an actor that ran a whole slice hands over round-robin, so
      // a vCPU spinning on RET_PF_RETRY cannot starve the host it waits for.
      const after = view.runnable.find((r) => r > view.previous);
      a = view.runnable.includes(view.previous) ? after ?? view.runnable[0]! : view.runnable[0]!;
    }
    this.streak = a === view.previous ? this.streak + 1 : 1;
    this.chosen[view.step] = a;
    this.runnable[view.step] = [...view.runnable];
    return a;
  }
}

/** Preemptions of a choice sequence, given who could run at each step. */
export function preemptions(chosen: readonly number[], runnable: readonly (readonly number[])[]): number {
  let n = 0;
  for (let i = 1; i < chosen.length; i++) {
    const prev = chosen[i - 1]!;
    if (chosen[i] !== prev && runnable[i]?.includes(prev)) n++;
  }
  return n;
}

/** The DFS frontier: branches still to run, the deepest first (so it stays O(run length × actors)). */
export class DfsFrontier {
  /** A branch: the first `j` choices of a recorded run, then `alt` instead of its choice at j. */
  private readonly stack: { base: readonly number[]; j: number; alt: number }[] = [];
  private started = false;

  /**
   * @param bound preemptions per schedule
   * @param horizon no branching at or after this step: a spin loop (a retry waiting on
   *   another actor) would otherwise give endless distinct schedules (CHESS bounds yields)
   */
  constructor(readonly bound: number, readonly horizon: number) {}

  get empty(): boolean {
    return this.started && this.stack.length === 0;
  }

  take(): number[] {
    if (!this.started) {
      this.started = true;
      return [];
    }
    const b = this.stack.pop()!;
    return [...b.base.slice(0, b.j), b.alt];
  }

  /** After running `prefix` (recorded by `s`): push every branch within the preemption bound. */
  expand(prefix: readonly number[], s: PrefixScheduler): void {
    const base = s.chosen;
    // Preemptions of the recorded run up to each step, so a branch's count is O(1).
    const upTo: number[] = [0];
    for (let i = 1; i <= base.length; i++) {
      const prev = base[i - 2];
      upTo[i] = upTo[i - 1]! + (i >= 2 && base[i - 1] !== prev && s.runnable[i - 1]!.includes(prev!) ? 1 : 0);
    }
    for (let j = prefix.length; j < Math.min(base.length, this.horizon); j++) {
      const prev = j > 0 ? base[j - 1]! : -1;
      for (const alt of s.runnable[j]!) {
        if (alt === base[j]) continue;
        const extra = j > 0 && alt !== prev && s.runnable[j]!.includes(prev) ? 1 : 0;
        if (upTo[j]! + extra <= this.bound) this.stack.push({ base, j, alt });
      }
    }
  }
}
