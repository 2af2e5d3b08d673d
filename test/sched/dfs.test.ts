// Goal: the DFS's sleep sets are sound and prune — steps it treats as independent really commute, no two complete runs it makes are equivalent, and it finds what the plain search finds with far fewer schedules; method: catalogue targets on the deterministic engine.

import test from 'ava';
import { createHash } from 'node:crypto';
import { explore, resolveTarget, runTarget } from '../../src/race/race.js';
import { conflicts, type StepFootprint } from '../../src/kvm/shm.js';
import { DfsSearch } from '../../src/sched/dfs.js';
import { Prng } from '../../src/sched/prng.js';
import { RandomScheduler, type Scheduler, type SchedulerView } from '../../src/sched/scheduler.js';
import type { RunResult } from '../../src/engine/deterministic.js';

/** Records the actor of every step of an inner scheduler. */
class Recording implements Scheduler {
  readonly name = 'recording';
  readonly wantsFootprints = true;
  readonly seq: number[] = [];
  constructor(private readonly inner: Scheduler) {}
  next(v: SchedulerView): number {
    const a = this.inner.next(v);
    this.seq[v.step] = a;
    return a;
  }
  afterStep(actor: number, fp: StepFootprint): void {
    this.inner.afterStep?.(actor, fp);
  }
}

/** Follows a script of actors (then the lowest runnable). */
class Script implements Scheduler {
  readonly name = 'script';
  constructor(private readonly seq: readonly number[]) {}
  next(v: SchedulerView): number {
    const a = this.seq[v.step];
    if (a === undefined) return v.runnable[0]!;
    if (!v.runnable.includes(a)) throw new Error(`actor ${a} cannot run at step ${v.step}`);
    return a;
  }
}

/** The run's results, violations, length and a digest of its whole shared memory. */
const outcome = (r: RunResult): string => `${JSON.stringify({ results: r.results, v: r.violations.map((x) => x.kind), steps: r.steps })} sha1:${createHash('sha1').update(r.vm.u8).digest('hex')}`;

test('steps with non-conflicting footprints commute: swapping them gives the same run, to the last byte of shared memory (or the same violation)', (t) => {
  let swaps = 0;
  for (const name of ['seq-check', 'zap-without-flush', 'memslot-swap-during-invalidation', 'attr-hugepage-head-tail', 'walk-without-rcu']) {
    const target = resolveTarget(name);
    for (const control of [false, true]) {
      for (let seed = 0; seed < 3; seed++) {
        const rec = new Recording(new RandomScheduler(new Prng(seed)));
        const o = { withoutEntryMutation: control };
        const r = runTarget(target, rec, seed, o);
        const fps = r.footprints;
        const seq = rec.seq.slice(0, fps.length);
        for (let i = 0; i + 1 < seq.length; i += Math.max(1, Math.floor(seq.length / 8))) {
          let j = i;
          while (j + 1 < seq.length && (seq[j] === seq[j + 1] || conflicts(fps[j]!, fps[j + 1]!))) j++;
          if (j + 1 >= seq.length) break;
          const swapped = [...seq];
          [swapped[j], swapped[j + 1]] = [swapped[j + 1]!, swapped[j]!];
          const r2 = runTarget(target, new Script(swapped), seed, o);
          const what = `${name}${control ? ' (control)' : ''} seed ${seed}: steps ${j} and ${j + 1} swapped`;
          // A run that ends at a violation stops at the step that made it visible, which a
          // reordering can move by one: there, the same violation must occur.
          if (r.violations.length > 0) t.is(r2.violations[0]?.kind, r.violations[0]!.kind, what);
          else t.is(outcome(r2), outcome(r), what);
          swaps++;
        }
      }
    }
  }
  t.true(swaps > 50, `${swaps} swaps checked`);
});

/** The lexicographic normal form of a run: equal for, and only for, equivalent runs. */
function normalForm(actors: readonly number[], fps: readonly StepFootprint[]): string {
  const n = actors.length;
  const taken = new Array<boolean>(n).fill(false);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (taken[j]) continue;
      // j can go first if no earlier untaken step precedes it (same actor, or a conflict).
      let free = true;
      for (let i = 0; i < j && free; i++) if (!taken[i] && (actors[i] === actors[j] || conflicts(fps[i]!, fps[j]!))) free = false;
      if (free && (best < 0 || actors[j]! < actors[best]!)) best = j;
    }
    taken[best] = true;
    out.push(best);
  }
  return out.map((j) => `${actors[j]}:${j}`).join(' ').replace(/:\d+/g, '') + '|' + out.map((j) => fps[j]!.writes.join(',')).join(';');
}

test('with sleep sets no two complete runs of the search are equivalent (one per Mazurkiewicz trace)', (t) => {
  const target = resolveTarget('seq-check');
  const search = new DfsSearch({ bound: 1, horizon: 400, conflicts });
  const forms = new Set<string>();
  let complete = 0;
  for (let s = search.next(); s !== null; s = search.next()) {
    const rec = new Recording(s);
    const r = runTarget(target, rec, 0, { withoutEntryMutation: true });
    search.finish(s);
    if (s.abandoned) continue;
    complete++;
    forms.add(normalForm(rec.seq.slice(0, r.footprints.length), r.footprints));
  }
  t.true(complete > 10);
  t.is(forms.size, complete, 'every complete run is a different trace');
});

test('sleep sets prune: the same bounded search ends in a fraction of the schedules, and still finds the races', (t) => {
  for (const name of ['seq-check', 'seq-sign-extension']) {
    const target = resolveTarget(name);
    const plain = explore(target, { scheduler: 'dfs', depth: 1, budget: 50_000, withoutEntryMutation: true, sleepSets: false });
    const sleep = explore(target, { scheduler: 'dfs', depth: 1, budget: 50_000, withoutEntryMutation: true });
    t.false(plain.found || sleep.found, name);
    t.true(sleep.dfs!.exhausted, `${name}: the search with sleep sets ends`);
    t.true(sleep.schedules * 5 < plain.schedules, `${name}: ${sleep.schedules} schedules with sleep sets, ${plain.schedules} without`);
    t.true(explore(target, { scheduler: 'dfs', depth: 1, budget: 2000 }).found, `${name}: found with sleep sets`);
  }
});
