// Goal: R3 is the 6.1 kernel's bug and nothing else — with is_page_fault_stale() taking the snapshot as an int, faults are fixed while mmu_invalidate_seq is below 2^31 and every fault is stale from the invalidation that sets bit 31 on; the unsigned long snapshot (the fix) never livelocks there; method: the same ops with the counter started on either side of 2^31, random seeds.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const SEEDS = 40;
const INT_SNAPSHOT = ['page-fault.mmuSeqIsUnsignedLong=false'];
const setup = [slot(0, 0, 16 * MiB)];
// vcpu0 writes a page twice, the host migrates it once (one kvm_mmu_invalidate_end()), then vcpu0 writes another page.
const ops: ScheduledOp[] = [
  { actor: 0, op: access(0x5000, 'write') },
  { actor: 0, op: access(0x5000, 'write') },
  { actor: 1, op: { op: 'invalidate', gpa: 0x5000, size: 4096, kind: 'migrate', prot: 'r' } },
  { actor: 0, op: access(0x6000, 'write'), after: 2 },
];

const runAt = (seq: bigint, seed: number, mutate: string[]) =>
  run({ setup, ops, scheduler: 'random', seed, mutate, vmOptions: { mmuInvalidateSeq: seq } });

test('int snapshot, counter far below 2^31: every seed completes clean', (t) => {
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = runAt(0x1000n, seed, INT_SNAPSHOT);
    t.deepEqual(r.violations, [], `seed ${seed}`);
    t.true(r.completed);
  }
});

test('int snapshot, the migration takes the counter from 2^31 - 1 to 2^31: the fault after it livelocks as stale on every seed', (t) => {
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = runAt(0x7fffffffn, seed, INT_SNAPSHOT);
    const v = r.violations[0];
    t.is(v?.kind, 'livelock', `seed ${seed}`);
    t.true(v!.message.includes('last reason: stale'), v!.message);
  }
});

test('int snapshot past 2^32: the 64-bit counter does not wrap back, still every fault stale', (t) => {
  const r = runAt(0x100000000n, 0, INT_SNAPSHOT);
  t.is(r.violations[0]?.kind, 'livelock');
});

test('the unsigned long snapshot (the fix) is clean on both sides of 2^31 and of 2^32', (t) => {
  for (const seq of [0x7fffffffn, 0xffffffffn, 0xfffffffffffffffen]) {
    for (let seed = 0; seed < SEEDS; seed++) {
      const r = runAt(seq, seed, []);
      t.deepEqual(r.violations, [], `seq ${seq.toString(16)} seed ${seed}`);
      t.true(r.completed);
    }
  }
});
