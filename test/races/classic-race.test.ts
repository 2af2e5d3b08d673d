// Goal: the classic seq-check race (reference §4 interleaving (a)) is caught as a use-after-free when the locked mmu_invalidate_retry_gfn check is removed, and never without the mutation; method: 1,000 random seeds each way.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const SEEDS = 1000;
// vcpu0 reads and writes one page while the host migrates it again and again: a fault that
// resolved the old pfn must not install it after the invalidation ended and the host freed it.
const ops: ScheduledOp[] = [];
for (let i = 0; i < 20; i++) ops.push({ actor: 0, op: access(0x5000, i % 2 ? 'write' : 'read') });
for (let i = 0; i < 6; i++) ops.push({ actor: 1, op: { op: 'invalidate', gpa: 0x5000, size: 4096, kind: 'migrate', prot: 'r' } });
// Shared memory: the first read faults a real page in, which the host then migrates (on
// anonymous memory it would map the zero page, which is never migrated).
const setup = [slot(0, 0, 16 * MiB, 0, 1, 'shared')];

test('with page-fault.mmuInvalidateRetryGfn=false the race is caught as a use-after-free', (t) => {
  let caught = 0;
  let firstTransition = '';
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = run({ setup, ops, scheduler: 'random', seed, mutate: ['page-fault.mmuInvalidateRetryGfn=false'] });
    const v = r.violations[0];
    if (!v) continue;
    t.is(v.kind, 'use-after-free', `seed ${seed}: ${v.message}`);
    t.true(v.actors.includes('vcpu0'), 'the finding names the vCPU that installed the SPTE');
    t.regex(v.sptes?.[0]?.writtenBy ?? '', /^vcpu0 at step \d+/);
    if (caught === 0) firstTransition = v.transition ?? '';
    caught++;
  }
  t.log(`caught on ${caught}/${SEEDS} seeds; first at "${firstTransition}"`);
  t.true(caught >= SEEDS / 2, `caught on only ${caught} of ${SEEDS} seeds`);
});

test('without the mutation no seed finds anything', (t) => {
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = run({ setup, ops, scheduler: 'random', seed });
    if (r.violations.length > 0) t.fail(`seed ${seed}: ${JSON.stringify(r.violations[0])}`);
    t.true(r.completed);
    t.true(r.results.every((x) => x !== null));
  }
  t.pass();
});
