/**
 * What the model allows each op of a scenario to return on a kernel release: the
 * scenario run without mutations on the deterministic engine, in file order, under each
 * priority order of its actors and under seeded random interleavings; every run that ends clean adds each op's
 * outcome to that op's set. A real kernel of that release may race differently from any
 * one of those runs, but a correct one returns, per op, one of these outcomes.
 */

import { runDeterministic, type RunResult } from '../engine/deterministic.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import type { OpResult } from '../kvm/ops.js';
import { Prng } from '../sched/prng.js';
import { RandomScheduler, SequentialScheduler, type Scheduler, type SchedulerView } from '../sched/scheduler.js';
import { scenarioToRunConfig, type Scenario } from '../workload/scenario.js';

/** Random interleavings run besides the sequential and the priority ones. */
export const EXPECTATION_RUNS_DEFAULT = 24;

/** Steps one actor takes in a row under a priority order before the next in line gets one (no starvation). */
const PRIORITY_RUN_STEPS = 64;
/** Priority orders tried, at most (all permutations of the actors with ops, up to this many). */
const PRIORITY_ORDERS_MAX = 24;

/**
 * Runs the highest-priority runnable actor, except that after PRIORITY_RUN_STEPS steps in
 * a row the next one in line takes a step: the extremes a random schedule rarely draws,
 * such as one actor's whole op completing between two ops of another.
 */
export class PriorityScheduler implements Scheduler {
  readonly name = 'priority';
  private run = 0;

  constructor(private readonly order: readonly number[]) {}

  next(view: SchedulerView): number {
    const ranked = this.order.filter((a) => view.runnable.includes(a));
    if (ranked.length === 0) return view.runnable[0]!;
    this.run = ranked[0] === view.previous ? this.run + 1 : 0;
    if (this.run >= PRIORITY_RUN_STEPS && ranked.length > 1) {
      this.run = 0;
      return ranked[1]!;
    }
    return ranked[0]!;
  }
}

/** Priority orders over the actors that have ops: every permutation, or rotations and their reverses past the cap. */
export function priorityOrders(actors: readonly number[]): number[][] {
  const perms = (xs: readonly number[]): number[][] => (xs.length <= 1 ? [[...xs]] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
  if (actors.length <= 4) return perms(actors).slice(0, PRIORITY_ORDERS_MAX);
  const rot = actors.map((_, i) => [...actors.slice(i), ...actors.slice(0, i)]);
  return [...rot, ...rot.map((r) => [...r].reverse())].slice(0, PRIORITY_ORDERS_MAX);
}

/**
 * One op's outcome as the reproducer sees it from userspace: `ok`, `mmio` (an access
 * KVM emulated: a KVM_EXIT_MMIO), or the errno the ioctl (or KVM_RUN) failed with.
 */
export function outcomeOf(r: OpResult): string {
  switch (r.op) {
    case 'access': return r.ok ? (r.emulated ? 'mmio' : 'ok') : r.errno ?? 'error';
    case 'invalidate': case 'signal': case 'vm_dead': return 'ok';
    case 'access_stream': return r.errno ?? 'ok';
    case 'mmu_reset': return r.errno ?? (r.ret === 0 ? 'ok' : 'error');
    default: return r.errno ?? (r.ret === 0 ? 'ok' : 'error');
  }
}

/** The outcome of each op in one run (null: the op never completed). */
export function outcomesOfRun(r: RunResult): (string | null)[] {
  return r.results.map((x) => (x === null ? null : outcomeOf(x)));
}

export interface Expectations {
  /** Per op, the outcomes seen in clean runs, sorted. */
  readonly allowed: string[][];
  /** Runs made, and how many ended clean (only those count). */
  readonly runs: number;
  readonly clean: number;
  /** Runs that ended in a violation (the unmutated model on this release), by kind. */
  readonly violations: Readonly<Record<string, number>>;
}

function runOnce(s: Scenario, kernel: KernelRelease, scheduler: Scheduler, seed: number): RunResult {
  return runDeterministic(scenarioToRunConfig(s, { scheduler, seed, kernel }));
}

/**
 * The outcomes the unmutated model allows per op of `s` on `kernel`: the sequential run,
 * one run per priority order of the actors with ops, and `random` seeded random runs.
 */
export function modelExpectations(s: Scenario, kernel: KernelRelease, random: number = EXPECTATION_RUNS_DEFAULT): Expectations {
  const sets = s.ops.map(() => new Set<string>());
  const actors = [...new Set(s.ops.map((o) => o.actorIndex))].sort((a, b) => a - b);
  const schedulers: [Scheduler, number][] = [
    [new SequentialScheduler(), 1],
    ...priorityOrders(actors).map((order): [Scheduler, number] => [new PriorityScheduler(order), 1]),
    ...Array.from({ length: random }, (_, i): [Scheduler, number] => [new RandomScheduler(new Prng(i + 1)), i + 1]),
  ];
  let clean = 0;
  const violations: Record<string, number> = {};
  for (const [scheduler, seed] of schedulers) {
    const r = runOnce(s, kernel, scheduler, seed);
    const kind = r.violations[0]?.kind ?? (r.completed ? null : 'incomplete');
    if (kind !== null) {
      violations[kind] = (violations[kind] ?? 0) + 1;
      continue;
    }
    clean++;
    outcomesOfRun(r).forEach((o, i) => { if (o !== null) sets[i]!.add(o); });
  }
  return { allowed: sets.map((x) => [...x].sort()), runs: schedulers.length, clean, violations };
}
