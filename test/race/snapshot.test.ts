// Goal: a run restored from the snapshot taken after setup is the run a fresh build gives —
// the same steps, choices, violations (with their SPTE writers), results, coverage, actor
// summaries, trace and footprints, and the same VM bytes at the end — for every catalogue
// entry with and without its mutation, under random, PCT and DFS; a restore leaves no byte
// behind; the full scan over the written entries finds what the walk of every entry finds;
// tokens found from snapshots replay on a fresh build. Method: run both side by side.

import test, { type ExecutionContext } from 'ava';
import type { RunResult } from '../../src/engine/deterministic.js';
import { RunSnapshot } from '../../src/engine/run-snapshot.js';
import { scanInvariants } from '../../src/check/invariants.js';
import { explore, replay, resolveTarget, TargetRuns, type RaceOptions, type RaceTarget } from '../../src/race/race.js';
import { decodeToken } from '../../src/race/token.js';
import { conflicts } from '../../src/kvm/shm.js';
import { DfsSearch } from '../../src/sched/dfs.js';
import { PctScheduler } from '../../src/sched/pct.js';
import { Prng } from '../../src/sched/prng.js';
import { RandomScheduler, type Scheduler } from '../../src/sched/scheduler.js';
import { CATALOGUE } from '../../src/workload/catalogue.js';

const SEEDS = 2;

function same(t: ExecutionContext, fresh: RunResult, snap: RunResult, what: string): void {
  const { vm: fv, ...f } = fresh;
  const { vm: sv, ...s } = snap;
  t.deepEqual(s, f, what);
  t.is(sv.u8.length, fv.u8.length);
  t.true(Buffer.from(sv.mem.sab).equals(Buffer.from(fv.mem.sab)), `${what}: the VM's bytes`);
}

/** Runs `n` schedules of each kind on both paths (a fresh build each, and restores of one snapshot), comparing each pair. */
function compareTarget(t: ExecutionContext, target: RaceTarget, o: RaceOptions, label: string, seeds = SEEDS): void {
  const fresh = new TargetRuns(target, o, true);
  const snap = new TargetRuns(target, o);
  const actors = target.scenario.vm.vcpus + 2;
  const k = Math.max(2, fresh.run(new RandomScheduler(new Prng(0)), 0).steps);
  const pair = (make: () => Scheduler, seed: number, what: string): void => same(t, fresh.run(make(), seed), snap.run(make(), seed), `${label} ${what}`);
  for (let seed = 0; seed < seeds; seed++) {
    pair(() => new RandomScheduler(new Prng(seed)), seed, `random seed ${seed}`);
    pair(() => new PctScheduler(new Prng(seed), actors, 2, k), seed, `pct seed ${seed}`);
  }
  // DFS: two searches in lockstep, one learning from fresh runs, the other from restored ones.
  const opts = { bound: 2, horizon: 4 * k, conflicts };
  const a = new DfsSearch(opts);
  const b = new DfsSearch(opts);
  for (let i = 0; i < seeds; i++) {
    const sa = a.next();
    const sb = b.next();
    if (sa === null || sb === null) { t.is(sa, sb); break; }
    same(t, fresh.run(sa, 0), snap.run(sb, 0), `${label} dfs run ${i}`);
    a.finish(sa);
    b.finish(sb);
  }
}

for (const entry of CATALOGUE) {
  test(`${entry.name}: restored runs equal fresh ones (with and without the mutation, traced and not)`, (t) => {
    const target = resolveTarget(entry.name);
    compareTarget(t, target, {}, 'mutated');
    compareTarget(t, target, { withoutEntryMutation: true }, 'control');
    compareTarget(t, target, { trace: true }, 'traced', 1);
  });
}

test('a restore puts back every byte; the scan of written entries finds what the walk of all entries finds', (t) => {
  for (const entry of CATALOGUE) {
    const target = resolveTarget(entry.name);
    const runs = new TargetRuns(target, {});
    let snap: RunSnapshot | null = null;
    for (let seed = 0; seed < SEEDS; seed++) {
      const r = runs.run(new RandomScheduler(new Prng(seed)), seed);
      t.deepEqual(scanInvariants(r.vm, undefined, (runs as unknown as { snap: RunSnapshot }).snap.provenanceMap()), scanInvariants(r.vm), `${entry.name} seed ${seed}`);
      snap = (runs as unknown as { snap: RunSnapshot }).snap;
    }
    t.is(snap!.restoredDifference(), -1, entry.name);
  }
});

test('tokens found from snapshots replay on a fresh build', (t) => {
  for (const entry of CATALOGUE) {
    const target = resolveTarget(entry.name);
    const r = explore(target, { scheduler: entry.scheduler, ...(entry.depth !== undefined ? { depth: entry.depth } : {}), budget: entry.budget });
    t.true(r.found, entry.name);
    const again = replay(decodeToken(r.token!));
    t.true(again.reproduced, entry.name);
    t.is(again.run.steps, r.run!.steps, entry.name);
    t.deepEqual(again.run.violations, r.run!.violations, entry.name);
  }
});

test('an exploration from snapshots sums the same coverage and steps as one that builds every schedule anew', (t) => {
  const target = resolveTarget('seq-check');
  for (const scheduler of ['random', 'portfolio'] as const) {
    const o = { scheduler, budget: 12, withoutEntryMutation: true };
    const a = explore(target, o);
    const b = explore(target, { ...o, fresh: true });
    t.is(a.steps, b.steps, scheduler);
    t.deepEqual([...a.coverage], [...b.coverage], scheduler);
    t.deepEqual(a.transitions, b.transitions, scheduler);
    t.deepEqual(a.byStrategy, b.byStrategy, scheduler);
  }
});
