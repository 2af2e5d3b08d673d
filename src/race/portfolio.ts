/**
 * The strategies an exploration draws its schedules from, and the portfolio that rotates
 * them. A strategy hands out the scheduler of its next schedule (`draw`) and learns from
 * the run (`done`):
 *
 *  - random: every step a uniformly random runnable actor, from the schedule's seed;
 *  - pct d: PCT with d − 1 priority change points over the expected run length k;
 *  - dfs b: the bounded-preemption DFS with sleep sets, one search across all its turns
 *    (it keeps its path between them), exhausted when every schedule within b preemptions
 *    has run.
 *
 * Without `--scheduler`, `race explore` runs the portfolio: schedule n takes slot
 * n mod |ROTATION| of the rotation below (a slot whose strategy is exhausted passes to the
 * next). Random and PCT draw a fresh seed per schedule (schedule n's seed, as a single
 * strategy would); a token records the strategy and seed that found it, and replays like
 * any other (its schedule is the recorded choices, whoever made them).
 */

import { DfsSearch, type DfsRun } from '../sched/dfs.js';
import { PctScheduler } from '../sched/pct.js';
import { Prng } from '../sched/prng.js';
import { RandomScheduler, type Scheduler } from '../sched/scheduler.js';
import { conflicts } from '../kvm/shm.js';

export type StrategyName = 'random' | 'pct' | 'dfs';

/** A strategy and its parameter: PCT's depth, DFS's preemption bound. */
export interface StrategySpec {
  readonly name: StrategyName;
  readonly depth?: number;
}

/**
 * The portfolio's rotation: DFS first (its first schedule is the non-preemptive run, and it
 * finds what needs one or two well-placed preemptions in few schedules), random on every
 * third slot, and PCT at depths 1, 2 and 3 taking turns on the rest.
 */
export const ROTATION: readonly StrategySpec[] = [
  { name: 'dfs', depth: 2 }, { name: 'random' }, { name: 'pct', depth: 1 },
  { name: 'dfs', depth: 2 }, { name: 'random' }, { name: 'pct', depth: 2 },
  { name: 'dfs', depth: 2 }, { name: 'random' }, { name: 'pct', depth: 3 },
];

/** The rotation in a line, for reports. */
export const PORTFOLIO_SUMMARY = 'dfs within 2 preemptions with sleep sets, random, pct depths 1-3, in rotation';

/** `random`, `pct depth 2`, `dfs (2 preemptions)`: how a report names a strategy. */
export function strategyLabel(s: StrategySpec): string {
  if (s.name === 'pct') return `pct depth ${s.depth ?? 2}`;
  if (s.name === 'dfs') return `dfs (${s.depth ?? 2} preemption${s.depth === 1 ? '' : 's'})`;
  return 'random';
}

export interface Strategy {
  readonly spec: StrategySpec;
  /** The scheduler of the next schedule (seed: the schedule's), or null when there is none left. */
  draw(seed: number): Scheduler | null;
  /** After the schedule drawn ran. */
  done(s: Scheduler): void;
}

/** What building a strategy needs from the exploration. */
export interface StrategyContext {
  /** Actors of the target (PCT's n). */
  readonly actors: number;
  /** The sequential run's length (PCT's k; DFS branches within 4k steps). */
  readonly k: number;
  readonly sleepSets: boolean;
  /** Shard i of n: DFS searches every n-th subtree of its search order. */
  readonly shard: { readonly i: number; readonly n: number };
  /** Runs a schedule only to learn the DFS tree (another shard's schedule). */
  readonly learn: (s: Scheduler) => void;
}

function randomStrategy(): Strategy {
  return { spec: { name: 'random' }, draw: (seed) => new RandomScheduler(new Prng(seed)), done: () => {} };
}

function pctStrategy(depth: number, c: StrategyContext): Strategy {
  return { spec: { name: 'pct', depth }, draw: (seed) => new PctScheduler(new Prng(seed), c.actors, depth, c.k), done: () => {} };
}

/** The DFS as a strategy, with its search (for the report's statistics). */
export interface DfsStrategy extends Strategy {
  readonly search: DfsSearch;
  exhausted: boolean;
  /** Sharded: schedules run (to the split depth) only to learn the path into another shard's subtree. */
  learned: number;
  /** Where the last schedule drawn lies in the search order: its subtree and its run within it. */
  at: { subtree: number; run: number } | null;
}

function dfsStrategy(bound: number, c: StrategyContext): DfsStrategy {
  // The split numbers the subtrees of an unsharded search too (its order does not change),
  // so a violation's place in the order reads the same sharded or not.
  const search = new DfsSearch({ bound, horizon: 4 * c.k, sleepSets: c.sleepSets, conflicts, splitDepth: dfsSplitDepth(c.k) });
  const s: DfsStrategy = {
    spec: { name: 'dfs', depth: bound }, search, exhausted: false, learned: 0, at: null,
    draw: () => {
      // Shard i/n searches the subtrees i, i+n, … of the (deterministic) search order; into
      // every other subtree it runs one schedule, only down to the split depth, to learn the
      // path to the next.
      for (;;) {
        const mine = search.subtree % c.shard.n === c.shard.i;
        const at = { subtree: search.subtree, run: search.inSubtree };
        const run = search.next(!mine);
        if (run === null) break;
        if (mine) { s.at = at; return run; }
        c.learn(run);
        s.learned++;
        search.finish(run, true);
      }
      s.exhausted = true;
      return null;
    },
    done: (run) => search.finish(run as DfsRun),
  };
  return s;
}

/**
 * Where a sharded DFS splits its search into subtrees: runs that branch within the first
 * half of the sequential run's steps start a new subtree. Shallower means fewer, larger
 * subtrees (less balance); deeper means more runs spent learning paths into others'
 * subtrees (one per subtree).
 */
export function dfsSplitDepth(k: number): number {
  return Math.max(1, Math.ceil(k / DFS_SPLIT_FRACTION));
}

/** See dfsSplitDepth(). */
const DFS_SPLIT_FRACTION = 2;

/** The strategies of an exploration, one per slot; slots of the same spec share one strategy (one DFS search). */
export function buildRotation(specs: readonly StrategySpec[], c: StrategyContext): Strategy[] {
  const made = new Map<string, Strategy>();
  return specs.map((spec) => {
    const key = `${spec.name}:${spec.depth ?? ''}`;
    let s = made.get(key);
    if (s === undefined) {
      s = spec.name === 'random' ? randomStrategy() : spec.name === 'pct' ? pctStrategy(spec.depth ?? 2, c) : dfsStrategy(spec.depth ?? 2, c);
      made.set(key, s);
    }
    return s;
  });
}

/**
 * The next schedule: from slot n mod |rotation| on, the first strategy that still has one
 * (null when every one is exhausted — only DFS ever is).
 */
export function drawFrom(rotation: readonly Strategy[], n: number, seed: number): { strategy: Strategy; scheduler: Scheduler } | null {
  const dead = new Set<Strategy>();
  for (let j = 0; j < rotation.length; j++) {
    const strategy = rotation[(n + j) % rotation.length]!;
    if (dead.has(strategy)) continue;
    const scheduler = strategy.draw(seed);
    if (scheduler !== null) return { strategy, scheduler };
    dead.add(strategy);
  }
  return null;
}
