// Goal: the scheduling loop ends a phase for the right reason — every actor done, the step limit (an error, not a violation), the scheduler abandoning — and records one choice and one footprint per step taken; method: small runs with a step limit, an abandoning scheduler, and recording on.

import test from 'ava';
import { runDeterministic, type RunConfig } from '../../src/engine/deterministic.js';
import type { Scheduler } from '../../src/sched/scheduler.js';
import { MiB, access, slot } from '../helpers/run.js';

const base: RunConfig = {
  vm: { type: 'default', vcpus: 2, guestBytes: 64 * MiB }, setup: [slot(0, 0, 16 * MiB)],
  ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: 1, op: access(0x2000, 'write') }, { actor: 2, op: { op: 'invalidate', gpa: 0x1000, size: 4096, kind: 'migrate', prot: 'rw' } }],
  scheduler: 'random', seed: 9,
};

test('a run that completes records one choice and one footprint per main-phase step', (t) => {
  const r = runDeterministic({ ...base, recordChoices: true, footprints: true });
  t.true(r.completed);
  t.is(r.choices.length, r.steps - r.setupSteps);
  t.is(r.footprints.length, r.steps - r.setupSteps);
  t.true(r.choices.every((c) => /^(vcpu[01]|host|vmm):/.test(c)), r.choices.join(' '));
});

test('the step limit stops the run with an error, not a violation', (t) => {
  const full = runDeterministic(base);
  const r = runDeterministic({ ...base, stepsMax: full.setupSteps + 5 });
  t.false(r.completed);
  t.deepEqual(r.violations, []);
  t.regex(r.error ?? '', /exceeded \d+ steps/);
  t.is(r.steps, full.setupSteps + 5);
});

test('a scheduler that returns -1 abandons the run where it stands', (t) => {
  let n = 0;
  const quitter: Scheduler = { name: 'quitter', next: (view) => (n++ < 7 ? view.runnable[0]! : -1) };
  const r = runDeterministic({ ...base, scheduler: quitter });
  t.true(r.abandoned);
  t.false(r.completed);
  t.is(r.steps - r.setupSteps, 7);
  t.is(r.error, null);
});
