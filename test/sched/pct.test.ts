// Goal: PCT runs the highest-priority runnable actor, demotes the actor that just ran (any actor, actor 0 included) below all others at each of its d − 1 change points, turns fair after 2k steps, and is a pure function of its seed; method: the scheduler driven directly with hand-built views.

import test from 'ava';
import { PctScheduler } from '../../src/sched/pct.js';
import { Prng } from '../../src/sched/prng.js';
import type { SchedulerView } from '../../src/sched/scheduler.js';

const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function view(step: number, previous: number, runnable: readonly number[]): SchedulerView {
  return { runnable, headOpIndex: runnable.map(() => 0), previous, step };
}

/** Runs `steps` steps with every actor always runnable; returns who stepped at each step. */
function drive(s: PctScheduler, steps: number, runnable = all(s.actors)): number[] {
  const seq: number[] = [];
  let previous = -1;
  for (let step = 0; step < steps; step++) {
    previous = s.next(view(step, previous, runnable));
    seq.push(previous);
  }
  return seq;
}

/** The steps at which the running actor changed (with everyone runnable, only a change point does that). */
function switches(seq: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < seq.length; i++) if (seq[i] !== seq[i - 1]) out.push(i);
  return out;
}

test('depth 1: no change point — the top-priority actor runs every step of the first 2k', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const seq = drive(new PctScheduler(new Prng(seed), 4, 1, 50), 100);
    t.deepEqual(switches(seq), [], `seed ${seed}`);
  }
});

test('the highest-priority runnable actor steps: when it is not runnable, the next one below it does', (t) => {
  const s = new PctScheduler(new Prng(3), 3, 1, 10);
  const top = s.next(view(0, -1, [0, 1, 2]));
  const others = [0, 1, 2].filter((a) => a !== top);
  const second = s.next(view(1, top, others));
  t.true(others.includes(second));
  const third = others.find((a) => a !== second)!;
  t.is(s.next(view(2, second, [second, third])), second, 'the order among the others is stable');
  t.is(s.next(view(3, second, [top, third])), top, 'the top actor runs again as soon as it is runnable');
});

test('depth d: exactly d − 1 change points, at distinct steps in [1, k)', (t) => {
  for (const depth of [2, 3, 4]) {
    for (let seed = 1; seed <= 30; seed++) {
      const k = 20;
      const seq = drive(new PctScheduler(new Prng(seed), depth + 1, depth, k), 2 * k);
      const sw = switches(seq);
      t.is(sw.length, depth - 1, `depth ${depth} seed ${seed}: ${seq.join('')}`);
      for (const at of sw) t.true(at >= 1 && at < k);
    }
  }
});

test('a run shorter than the depth: as many change points as there are steps in [1, k), not a search for more (it never returned)', (t) => {
  for (const [depth, k] of [[3, 2], [4, 3], [3, 1], [5, 2]] as const) {
    const seq = drive(new PctScheduler(new Prng(7), depth + 1, depth, k), 2 * Math.max(2, k));
    t.true(switches(seq).length <= Math.max(2, k) - 1, `depth ${depth}, k ${k}: ${seq.join('')}`);
  }
});

test('a demoted actor drops below every other actor: it never runs again while another is runnable', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const seq = drive(new PctScheduler(new Prng(seed), 3, 2, 20), 40);
    const [at] = switches(seq);
    const demoted = seq[at! - 1]!;
    t.false(seq.slice(at).includes(demoted), `seed ${seed}: ${seq.join('')}`);
    t.is(new PctScheduler(new Prng(seed), 3, 2, 20).next(view(at!, demoted, [demoted])), seq[0], 'alone, it still runs');
  }
});

test('every actor can be demoted, actor 0 included', (t) => {
  const n = 4;
  const demoted = new Set<number>();
  for (let seed = 1; seed <= 200 && demoted.size < n; seed++) {
    const seq = drive(new PctScheduler(new Prng(seed), n, 2, 16), 32);
    const [at] = switches(seq);
    if (at === undefined) continue;
    demoted.add(seq[at - 1]!);
  }
  t.deepEqual([...demoted].sort(), all(n));
});

test('actor 0 is demoted at a change point even when it is the only one that has run', (t) => {
  // Find a seed whose top-priority actor is actor 0, then demote it at the change point.
  for (let seed = 1; seed <= 500; seed++) {
    const probe = drive(new PctScheduler(new Prng(seed), 2, 2, 8), 16);
    if (probe[0] !== 0) continue;
    t.is(switches(probe).length, 1, `seed ${seed}: ${probe.join('')}`);
    t.is(probe[16 - 1], 1, 'after the change point actor 1 runs');
    return;
  }
  t.fail('no seed put actor 0 on top');
});

test('the demotion hits the actor that ran the previous step, not the current top', (t) => {
  for (let seed = 1; seed <= 100; seed++) {
    const ref = drive(new PctScheduler(new Prng(seed), 3, 2, 10), 20);
    const [at] = switches(ref);
    const top = ref[0]!;
    // Same seed, but the top actor is blocked at the step before the change point, so
    // another actor ran it: that one is demoted and the top actor keeps its priority.
    const s = new PctScheduler(new Prng(seed), 3, 2, 10);
    let previous = -1;
    for (let step = 0; step < at!; step++) {
      const runnable = step === at! - 1 ? all(3).filter((a) => a !== top) : all(3);
      previous = s.next(view(step, previous, runnable));
    }
    t.not(previous, top);
    t.is(s.next(view(at!, previous, all(3))), top, `seed ${seed}`);
    t.not(s.next(view(at! + 1, top, all(3).filter((a) => a !== top))), previous, 'the actor that ran at the change point is now last');
  }
});

test('after 2k steps the choice is fair: every runnable actor gets steps', (t) => {
  const k = 10;
  const s = new PctScheduler(new Prng(9), 3, 2, k);
  const seq = drive(s, 2 * k + 1 + 300).slice(2 * k + 1);
  for (const a of all(3)) t.true(seq.filter((x) => x === a).length > 50, `actor ${a}`);
});

test('a seed determines the schedule', (t) => {
  const a = drive(new PctScheduler(new Prng(77), 5, 3, 40), 120);
  const b = drive(new PctScheduler(new Prng(77), 5, 3, 40), 120);
  t.deepEqual(a, b);
  const others = [78, 79, 80, 81].map((seed) => drive(new PctScheduler(new Prng(seed), 5, 3, 40), 120).join(''));
  t.true(others.some((o) => o !== a.join('')));
});

test('depth below 1 or not an integer is a RangeError; the bound is 1 / (n · k^(d−1))', (t) => {
  t.throws(() => new PctScheduler(new Prng(1), 3, 0, 10), { instanceOf: RangeError, message: /depth/ });
  t.throws(() => new PctScheduler(new Prng(1), 3, 1.5, 10), { instanceOf: RangeError });
  t.is(PctScheduler.bound(3, 100, 1), 1 / 3);
  t.is(PctScheduler.bound(4, 10, 3), 1 / 400);
});
