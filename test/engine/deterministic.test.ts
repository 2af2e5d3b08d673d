// Goal: the deterministic engine is reproducible, schedules as documented and reports deadlocks; method: repeated runs, scripted schedulers.

import test from 'ava';
import { runDeterministic, type ScheduledOp } from '../../src/engine/deterministic.js';
import { NO_MUTATIONS } from '../../src/protocol/mutations.js';
import { MiB, access, preFault, run, slot } from '../helpers/run.js';

const setup = [slot(0, 0, 16 * MiB)];
const ops: ScheduledOp[] = [
  { actor: 0, op: access(0x1000, 'write') },
  { actor: 1, op: access(0x1000, 'read') },
  { actor: 2, op: { op: 'invalidate', gpa: 0x1000, size: 4096, kind: 'migrate', prot: 'r' } },
  { actor: 0, op: preFault(0x10000, 0x4000) },
  { actor: 3, op: slot(1, 32 * MiB, 2 * MiB) },
  { actor: 1, op: access(32 * MiB + 4096, 'write') },
];

test('the same seed gives the identical run, step for step', (t) => {
  const a = run({ vcpus: 2, setup, ops, scheduler: 'random', seed: 42, trace: true });
  const b = run({ vcpus: 2, setup, ops, scheduler: 'random', seed: 42, trace: true });
  t.deepEqual(a.trace, b.trace);
  t.deepEqual(a.results, b.results);
  t.deepEqual(a.violations, []);
  const c = run({ vcpus: 2, setup, ops, scheduler: 'random', seed: 43, trace: true });
  t.notDeepEqual(a.trace.map((s) => s.actor), c.trace.map((s) => s.actor), 'another seed interleaves differently');
});

test('sequential runs each op to completion in file order', (t) => {
  const r = run({ vcpus: 2, setup, ops, trace: true });
  t.deepEqual(r.violations, []);
  t.true(r.completed);
  // The first steps belong to vcpu0 until its access completes, then vcpu1's access.
  const firstVcpu1 = r.trace.findIndex((s) => s.actor === 'vcpu1');
  const vcpu0Done = r.trace.findIndex((s) => s.label.includes('tryGuestAccess') && s.actor === 'vcpu0');
  t.true(vcpu0Done >= 0 && vcpu0Done < firstVcpu1);
  const res = r.results[5]!;
  t.is(res.op, 'access');
  if (res.op === 'access') t.true(res.ok);
});

test('the reference xstate runner gives the same run as the compiled one', (t) => {
  const compiled = runWithRunner('compiled');
  const reference = runWithRunner('reference');
  t.true(compiled.trace.length > 100);
  t.deepEqual(reference.trace.map((s) => s.label), compiled.trace.map((s) => s.label));
  t.deepEqual(reference.results, compiled.results);
  t.deepEqual(reference.violations, []);
});

function runWithRunner(runner: 'reference' | 'compiled') {
  return runDeterministic({ vm: { type: 'default', vcpus: 2, guestBytes: 64 * MiB }, setup, ops, scheduler: 'random', seed: 7, mutations: NO_MUTATIONS, runner, trace: true });
}

test('all actors waiting is reported as a deadlock, not a hang', (t) => {
  // Force the mmu_lock never to be released by readers: a fault takes it and "forgets" to unlock.
  const r = run({ vcpus: 1, setup, ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: 2, op: slot(1, 32 * MiB, 2 * MiB) }, { actor: 1, op: { op: 'invalidate', gpa: 0x1000, size: 4096, kind: 'migrate', prot: 'r' } }], skip: ['page-fault.mmuReadUnlock'] });
  const v = r.violations.find((x) => x.kind === 'deadlock');
  t.truthy(v, JSON.stringify(r.violations));
  t.regex(v!.message, /host in invalidation\.lockStart waits on mmu_lock/);
});

test('mmu_reset (KVM_SET_SREGS → kvm_mmu_reset_context) unloads the root; the next run loads one and the SPTEs are still there', (t) => {
  const resetOps: ScheduledOp[] = [
    { actor: 0, op: access(0x1000, 'write') },
    { actor: 0, op: { op: 'mmu_reset' } },
    { actor: 0, op: access(0x1000, 'write') },
    { actor: 0, op: { op: 'mmu_reset' } },
    { actor: 0, op: { op: 'mmu_reset' } },
  ];
  const r = run({ setup, ops: resetOps, trace: true });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results[1], { op: 'mmu_reset', ret: 0, rootDropped: true });
  t.deepEqual(r.results[2], { op: 'access', ok: true, errno: null, emulated: false, exits: 0 }, 'the root was reused (same role): no fault on re-entry');
  t.deepEqual(r.results[4], { op: 'mmu_reset', ret: 0, rootDropped: false }, 'nothing loaded since the last reset');
  t.true(r.trace.some((s) => s.label.includes('kvmMmuLoad') || /entry → entry \[needsRootLoad\]/.test(s.label)));
});

test('an op with after waits, under any scheduler, until the op it names has completed', (t) => {
  const gated: ScheduledOp[] = [
    { actor: 3, op: slot(1, 32 * MiB, 2 * MiB) },
    { actor: 0, op: access(32 * MiB, 'write'), after: 0 },
  ];
  for (let seed = 0; seed < 30; seed++) {
    const r = run({ vcpus: 2, setup, ops: gated, scheduler: 'random', seed, trace: true });
    t.deepEqual(r.violations, []);
    t.like(r.results[1], { op: 'access', ok: true, emulated: false }, `seed ${seed}: the slot existed when vcpu0 wrote`);
  }
});
