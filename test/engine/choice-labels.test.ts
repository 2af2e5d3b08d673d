// Goal: a run's choices recorded as label numbers read back as the labels, in order — the
// same label always the same number, a log longer than its first buffer kept whole, and a
// cleared log reused from the start; method: a log filled by hand, then a recorded
// exploration schedule's choices against the labels its actors give step by step.

import test from 'ava';
import { ChoiceLog, choiceId } from '../../src/engine/choice-labels.js';
import { Prng } from '../../src/sched/prng.js';
import { RandomScheduler } from '../../src/sched/scheduler.js';
import { TargetRuns, resolveTarget, runTarget } from '../../src/race/race.js';

test('a label has one number; a log reads back its labels in order, past its first buffer and after a clear', (t) => {
  const a = choiceId('vcpu0:page-fault.checkStale');
  t.is(choiceId('vcpu0:page-fault.checkStale'), a);
  const b = choiceId('host:invalidate');
  t.not(a, b);
  const log = new ChoiceLog();
  const want: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const label = i % 3 === 0 ? 'host:invalidate' : 'vcpu0:page-fault.checkStale';
    log.push(choiceId(label));
    want.push(label);
  }
  t.is(log.length, 1000);
  t.deepEqual(log.labels(), want);
  log.clear();
  log.push(b);
  t.deepEqual(log.labels(), ['host:invalidate']);
});

test('a schedule from the snapshot records the choices a fresh run records', (t) => {
  const target = resolveTarget('seq-check');
  const runs = new TargetRuns(target, { withoutEntryMutation: true });
  for (const seed of [1, 2, 3]) {
    const fresh = runTarget(target, new RandomScheduler(new Prng(seed)), seed, { withoutEntryMutation: true });
    const s = runs.schedule(new RandomScheduler(new Prng(seed)), seed);
    t.is(s.choices.length, fresh.choices.length);
    t.deepEqual(s.choices, fresh.choices, `seed ${seed}`);
    t.deepEqual(s.result().choices, fresh.choices);
  }
});
