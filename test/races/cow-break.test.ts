// Goal: the CoW break of a write to the zero page is an MMU-notifier invalidation run by the faulting vCPU — two exits, one retry, a writable SPTE to a new page — that stays correct under every interleaving with other vCPUs' faults and host events, and whose zap, when skipped, leaves the guest on the zero page; method: scenarios on the deterministic engine, sequential and 300 random seeds.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import { MiB, access, preFault, run, slot } from '../helpers/run.js';

const anon = [slot(0, 0, 16 * MiB)];

test('read, then write, of untouched anonymous memory: the read maps the zero page (1 exit), the write breaks CoW (2 exits, 1 retry) and maps a page of its own', (t) => {
  const r = run({ setup: anon, ops: [{ actor: 0, op: access(0x5000, 'read') }, { actor: 0, op: access(0x5000, 'write') }, { actor: 0, op: access(0x5000, 'write') }] });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results.map((x) => (x?.op === 'access' ? x.exits : -1)), [1, 2, 0]);
  const a = r.actors[0]!;
  t.is(a.cowBreaks, 1);
  t.deepEqual(a.retriesByReason, { 'invalidate-postcheck': 1 }, 'the CoW bumped mmu_invalidate_seq after the fault\'s snapshot');
  t.is(a.zaps, 1, 'the read-only SPTE was zapped by the CoW\'s notifier');
});

test('a write to untouched anonymous memory allocates at once (do_anonymous_page): one exit, no CoW', (t) => {
  const r = run({ setup: anon, ops: [{ actor: 0, op: access(0x5000, 'write') }] });
  t.deepEqual(r.violations, []);
  t.is(r.results[0]?.op === 'access' ? r.results[0].exits : -1, 1);
  t.is(r.actors[0]!.cowBreaks, 0);
});

test('KVM_PRE_FAULT_MEMORY does not break CoW: after a pre-fault of anonymous memory a read takes no exit, a write still takes two; on shared or populated memory neither exits', (t) => {
  const ops = (): ScheduledOp[] => [{ actor: 0, op: preFault(0, 2 * MiB) }, { actor: 0, op: access(0x5000, 'read') }, { actor: 0, op: access(0x6000, 'write') }];
  const exits = (s: ReturnType<typeof slot>[]): number[] => {
    const r = run({ setup: s, ops: ops() });
    t.deepEqual(r.violations, []);
    return r.results.slice(1).map((x) => (x?.op === 'access' ? x.exits : -1));
  };
  t.deepEqual(exits(anon), [0, 2]);
  t.deepEqual(exits([slot(0, 0, 16 * MiB, 0, 1, 'shared')]), [0, 0]);
  t.deepEqual(exits([slot(0, 0, 16 * MiB, 0, 1, 'anonymous', true)]), [0, 0]);
  t.deepEqual(exits([slot(0, 0, 16 * MiB, 0, 2, 'hugetlbfs')]), [0, 0]);
});

test('THP until 6.12: a read maps the huge zero page at 2M; a write splits it and breaks CoW of one 4K page; the rest of the 2M reads the 4K zero page again', (t) => {
  const r = run({
    vmOptions: { kernel: '6.12' },
    setup: [slot(0, 0, 16 * MiB, 0, 2)],
    ops: [{ actor: 0, op: access(0x200000, 'read') }, { actor: 0, op: access(0x201000, 'read') }, { actor: 0, op: access(0x200000, 'write') }, { actor: 0, op: access(0x201000, 'read') }],
  });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results.map((x) => (x?.op === 'access' ? x.exits : -1)), [1, 0, 2, 1], 'one 2M mapping, then the split zapped it');
  t.is(r.actors[0]!.cowBreaks, 1);
});

test('THP from 6.13 (1ced09e0331f): the write allocates a whole THP; KVM maps it 2M writable and the rest of the 2M needs no exit', (t) => {
  const r = run({
    setup: [slot(0, 0, 16 * MiB, 0, 2)],
    ops: [{ actor: 0, op: access(0x200000, 'read') }, { actor: 0, op: access(0x201000, 'read') }, { actor: 0, op: access(0x200000, 'write') }, { actor: 0, op: access(0x201000, 'write') }],
  });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results.map((x) => (x?.op === 'access' ? x.exits : -1)), [1, 0, 2, 0]);
  t.is(r.actors[0]!.cowBreaks, 1);
});

// vcpu0 reads then writes two pages, vcpu1 reads them over and over, the host migrates and
// reclaims them: the CoW's invalidation races with faults, the zap and the host's events.
const raceOps: ScheduledOp[] = [
  { actor: 0, op: access(0x5000, 'read') }, { actor: 0, op: access(0x5000, 'write') }, { actor: 0, op: access(0x6000, 'write') }, { actor: 0, op: access(0x6000, 'read') },
  ...Array.from({ length: 6 }, (_, i): ScheduledOp => ({ actor: 1, op: access(i % 2 ? 0x6000 : 0x5000, 'read') })),
  { actor: 2, op: { op: 'invalidate', gpa: 0x5000, size: 0x2000, kind: 'migrate', prot: 'rw' } },
  { actor: 2, op: { op: 'invalidate', gpa: 0x5000, size: 0x1000, kind: 'reclaim', prot: 'rw' } },
];

test('under 300 random schedules with another vCPU and the host, the CoW break never leaves a stale or writable zero-page mapping', (t) => {
  let cows = 0;
  for (let seed = 0; seed < 300; seed++) {
    const r = run({ vcpus: 2, setup: anon, ops: raceOps, scheduler: 'random', seed });
    if (r.violations.length > 0) return t.fail(`seed ${seed}: ${r.violations[0]!.kind}: ${r.violations[0]!.message}`);
    t.true(r.completed, `seed ${seed}`);
    cows += r.actors[0]!.cowBreaks;
  }
  t.true(cows >= 300, `CoW breaks: ${cows}`);
});

test('the CoW\'s zap skipped: the guest keeps the zero page mapped while the host maps the new page — caught', (t) => {
  const r = run({ setup: anon, ops: [{ actor: 0, op: access(0x5000, 'read') }, { actor: 0, op: access(0x5000, 'write') }], skip: ['invalidation.tdpMmuZapLeaf'] });
  t.true(r.violations.length > 0);
  t.is(r.violations[0]!.kind, 'use-after-free', r.violations[0]!.message);
  t.regex(r.violations[0]!.message, /no longer maps there/);
});
