// Goal: a finding is stamped with the step, the transition and the actor whose step revealed it, the run stops at the first unless told not to, and the incremental check after a step finds what the full scan finds; method: a host migration whose zap is skipped, checked in each mode.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import { runDeterministic } from '../../src/engine/deterministic.js';
import { buildMutations } from '../../src/protocol/mutations.js';
import { COMPILED } from '../../src/protocol/machines.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const ops: ScheduledOp[] = [
  { actor: 0, op: access(0x5000, 'write') },
  { actor: 1, op: { op: 'invalidate', gpa: 0x5000, size: 4096, kind: 'migrate', prot: 'r' } },
  { actor: 0, op: access(0x5000, 'read') },
];
const bug = { setup: [slot(0, 0, 16 * MiB)], ops, skip: ['invalidation.tdpMmuZapLeaf'] };

test('the first finding is stamped with its step, transition and the actor that took the step; the run stops there', (t) => {
  const r = run({ ...bug, check: 'step' });
  const v = r.violations[0]!;
  t.is(v.kind, 'use-after-free');
  t.is(v.step, r.steps - 1, 'the run stopped after the step that revealed it');
  t.regex(v.transition ?? '', /^invalidation: .+ → .+/);
  t.true(v.actors.includes('host'), v.actors.join(','));
  t.false(r.completed);
});

test('with stopOnViolation false the run goes on to the end', (t) => {
  const r = runDeterministic({
    vm: { type: 'default', vcpus: 1, guestBytes: 64 * MiB }, setup: bug.setup, ops, scheduler: 'sequential', seed: 1,
    mutations: buildMutations(COMPILED, [], bug.skip), stopOnViolation: false,
  });
  t.true(r.violations.length > 0);
  t.true(r.results.every((x) => x !== null), 'every op completed');
});

test('the incremental check and the full scan after every step find the same first finding at the same step', (t) => {
  const step = run({ ...bug, check: 'step' }).violations[0]!;
  const full = run({ ...bug, check: 'full' }).violations[0]!;
  t.deepEqual([full.kind, full.step, full.gfn, full.transition], [step.kind, step.step, step.gfn, step.transition]);
});
