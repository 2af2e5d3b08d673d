/**
 * Bounded-preemption depth-first search over schedules (CHESS's iterative context
 * bounding) with sleep sets (Godefroid's partial-order reduction).
 *
 * The search is stateless: each schedule is re-run from the start. A schedule is a prefix
 * of choices followed by the non-preemptive default (the previous actor while it can run,
 * handing over after FAIR_SLICE steps in a row so a vCPU spinning on RET_PF_RETRY cannot
 * starve the actor it waits for). After a run, the search backtracks to the deepest step
 * where an actor that could have run has not been tried, within the preemption bound —
 * a preemption is a choice that switches away from an actor that could still run — and
 * re-runs with that choice.
 *
 * Sleep sets: each step's footprint (the shared words it read and wrote, recorded by the
 * engine) tells which steps commute. When the search tries actor q at a step where actor
 * p was already explored, p's step "sleeps" along q's branch for as long as every step
 * taken commutes with it: running p there would only reorder independent steps of an
 * interleaving already explored. Sleeping actors are neither chosen by the default nor
 * branched to; a run in which every runnable actor sleeps is abandoned (sleep-set
 * blocked). With sleep sets, no two complete runs the search makes are equivalent
 * (Mazurkiewicz traces: same steps, same order of every conflicting pair).
 *
 * Subtrees, for shards: a run whose backtrack point lies before `splitDepth` starts a new
 * subtree of the search (numbered in search order); the runs that branch at or below that
 * depth stay in their subtree. `finish(run, true)` backtracks as if every branch at or
 * below the split depth had been explored — what a shard does after the one run it needs
 * to learn the path into a subtree another shard owns. Nodes above the split depth change
 * only when a run creates them or the search backtracks at them, never in a deeper run, so
 * each shard reaches every subtree it owns in the state the unsharded search does: the
 * shards' runs together are the unsharded search's runs, in its order within each subtree.
 *
 * Combining the preemption bound with sleep sets can skip a schedule within the bound
 * whose only equivalent explored run needed more preemptions (Coons, Musuvathi and
 * McKinley, "Bounded partial-order reduction", 2013); with no bound the search is
 * complete up to its horizon.
 */

import type { Scheduler, SchedulerView, StepFootprint } from './scheduler.js';

/** Steps an actor may take in a row in the default continuation before it must hand over. */
export const FAIR_SLICE = 200;

const NO_FOOTPRINT: StepFootprint = { reads: new Int32Array(0), writes: new Int32Array(0) };

interface Explored {
  readonly actor: number;
  /** The footprint of this actor's step at the node (filled in once it has run there). */
  fp: StepFootprint;
}

/** One step of the current path: who could run, who ran, what was explored, what sleeps. */
interface Node {
  readonly runnable: readonly number[];
  chosen: number;
  /** Preemptions this node's choice spent (a backtracking choice; the default spends none). */
  cost: number;
  /** The sleep set on arrival: actors whose next step an explored interleaving already covers. */
  readonly sleep: readonly Explored[];
  /** Actors tried at this node so far, the current choice last. */
  readonly done: Explored[];
}

export interface DfsOptions {
  /** Preemptions per schedule (Infinity: unbounded). */
  readonly bound: number;
  /** No branching at or after this step: a spin loop would otherwise give endless schedules. */
  readonly horizon: number;
  /** Runs that backtrack before this step start a new subtree (default: never, one subtree). */
  readonly splitDepth?: number;
  /** Prune with sleep sets (default true), which needs … */
  readonly sleepSets?: boolean;
  /** … whether two steps' footprints conflict (they do not commute). */
  readonly conflicts: (a: StepFootprint, b: StepFootprint) => boolean;
}

/** The search: hands out one run's scheduler at a time (`next`), learns from it (`finish`). */
export class DfsSearch {
  private path: Node[] = [];
  /** Choices [0, replay) of the next run follow the path; the last of them is a new branch. */
  private replay = 0;
  private started = false;
  private done = false;
  readonly sleepSets: boolean;
  /** Runs abandoned because every runnable actor slept. */
  blocked = 0;
  /** Runs handed out. */
  runs = 0;
  /** The subtree the next run belongs to (0 for the first run); see the file comment. */
  subtree = 0;
  /** The next run's position in its subtree (0: the run that enters it). */
  inSubtree = 0;

  constructor(readonly options: DfsOptions) {
    this.sleepSets = options.sleepSets ?? true;
  }

  /**
   * The scheduler of the next run, or null when every schedule within the bound has run.
   * `learnOnly`: the run only has to build the path down to the split depth (it enters a
   * subtree another shard owns), so it stops there.
   */
  next(learnOnly = false): DfsRun | null {
    if (this.done) return null;
    if (!this.started) this.started = true;
    if (!learnOnly) this.runs++;
    return new DfsRun(this, this.path, this.replay, learnOnly ? (this.options.splitDepth ?? 0) : Infinity);
  }

  /**
   * After `run` has run: keep its path and backtrack to the next untried choice; with
   * `skipSubtree`, to the next one above the split depth (the rest of the subtree is
   * another shard's).
   */
  finish(run: DfsRun, skipSubtree = false): void {
    if (run.abandoned && !skipSubtree) this.blocked++;
    this.path = run.path;
    const path = this.path;
    const split = this.options.splitDepth ?? 0;
    if (skipSubtree && path.length > split) path.length = split;
    const costBefore: number[] = [0];
    for (let i = 0; i < path.length; i++) costBefore.push(costBefore[i]! + path[i]!.cost);
    for (let i = Math.min(path.length, this.options.horizon) - 1; i >= 0; i--) {
      const node = path[i]!;
      const prev = i > 0 ? path[i - 1]!.chosen : -1;
      for (const alt of node.runnable) {
        if (node.done.some((e) => e.actor === alt) || node.sleep.some((e) => e.actor === alt)) continue;
        const cost = i > 0 && alt !== prev && node.runnable.includes(prev) ? 1 : 0;
        if (costBefore[i]! + cost > this.options.bound) continue;
        node.done.push({ actor: alt, fp: NO_FOOTPRINT });
        node.chosen = alt;
        node.cost = cost;
        path.length = i + 1;
        this.replay = i + 1;
        if (i < split) { this.subtree++; this.inSubtree = 0; } else this.inSubtree++;
        return;
      }
    }
    this.done = true;
  }
}

/** One run of the search: replays the path's prefix, then the default continuation. */
export class DfsRun implements Scheduler {
  readonly name = 'dfs';
  readonly wantsFootprints: boolean;
  readonly path: Node[];
  abandoned = false;
  /** The sleep set for the next node (computed after each step). */
  private sleepNext: Explored[] = [];
  private streak = 0;
  private last = -1;
  /** The step the last choice was for. */
  private cur = -1;

  constructor(private readonly search: DfsSearch, path: readonly Node[], private readonly replay: number, private readonly stopAt = Infinity) {
    this.path = path.slice(0, replay);
    this.wantsFootprints = search.sleepSets;
  }

  next(view: SchedulerView): number {
    const i = view.step;
    this.cur = i;
    if (i >= this.stopAt) {
      this.abandoned = true;
      return -1;
    }
    let a: number;
    // Asked again for the same step: the actor chosen had nothing left to start (no step taken).
    if (i >= this.replay && this.path.length > i) this.path.length = i;
    if (i < this.replay) {
      a = this.path[i]!.chosen;
      if (!has(view.runnable, a)) throw new Error(`DFS replay diverged at step ${i}: actor ${a} cannot run (runnable: ${view.runnable.join(', ')})`);
    } else {
      const prev = view.previous;
      // Past the horizon nothing branches: no node is kept and nobody sleeps (the run just
      // has to end). Within it, an actor that used up its fair slice wakes the sleepers —
      // dropping sleep-set entries is always sound — so a vCPU spinning on RET_PF_RETRY
      // cannot starve the (sleeping) actor it waits for.
      const beyond = i >= this.search.options.horizon;
      if (beyond || (this.streak >= FAIR_SLICE && prev === this.last)) this.sleepNext = [];
      const sleep = this.sleepNext;
      const awake = sleep.length === 0 ? view.runnable : view.runnable.filter((r) => !sleep.some((e) => e.actor === r));
      if (awake.length === 0) {
        this.abandoned = true;
        return -1;
      }
      if (awake.includes(prev) && (this.streak < FAIR_SLICE || awake.length === 1)) a = prev;
      else a = awake.find((r) => r > prev) ?? awake[0]!;
      if (!beyond) this.path.push({ runnable: [...view.runnable], chosen: a, cost: 0, sleep, done: [{ actor: a, fp: NO_FOOTPRINT }] });
    }
    this.streak = a === this.last ? this.streak + 1 : 1;
    this.last = a;
    if (!this.search.sleepSets) this.sleepNext = [];
    return a;
  }

  afterStep(actor: number, fp: StepFootprint): void {
    // Replayed nodes already know their footprints and sleep sets; the branch node and the
    // new ones learn them now.
    if (this.cur < this.replay - 1 || this.cur >= this.path.length) return;
    const node = this.path[this.cur]!;
    const here = node.done[node.done.length - 1]!;
    if (here.actor !== actor) throw new Error(`DFS: step ${this.cur} was taken by actor ${actor}, not the chosen ${here.actor}`);
    here.fp = fp;
    if (!this.search.sleepSets) return;
    const next: Explored[] = [];
    const conflicts = this.search.options.conflicts;
    for (const e of node.sleep) if (e.actor !== actor && !conflicts(e.fp, fp)) next.push(e);
    for (const e of node.done) if (e !== here && e.actor !== actor && !conflicts(e.fp, fp)) next.push(e);
    this.sleepNext = next;
  }
}

/** `list` holds `a` (a loop: Array.prototype.includes is a builtin call, at every replayed step). */
function has(list: readonly number[], a: number): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === a) return true;
  return false;
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
