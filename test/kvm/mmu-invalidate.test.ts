// Goal: the invalidation counters follow kvm_mmu_invalidate_begin/range_add/end and the retry checks of include/linux/kvm_host.h; method: direct calls on a real Vm's counters, including nested invalidations and the seq wrap.

import test from 'ava';
import {
  gfnUnderInvalidation, mmuInvalidateRange, kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd, mmuInvalidateInProgress,
  MmuSeq, mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe, mmuInvalidateSeq, mmuSeqAsIntInto, readMmuSeq, setMmuInvalidateSeq, mnActiveInvalidateCount, mnActiveInvalidateDec, mnActiveInvalidateInc,
} from '../../src/kvm/mmu-invalidate.js';
import type { Vm } from '../../src/kvm/vm.js';
import { newVm } from './fixtures.js';

const range = (vm: Vm): [number, number] | null => mmuInvalidateRange(vm);
const snap = (vm: Vm): MmuSeq => { const s = new MmuSeq(); readMmuSeq(vm, s); return s; };

/** The reference for R3 on the whole 64-bit value: truncated to int, sign-extended back to unsigned long. */
const mmuSeqAsInt = (seq: bigint): bigint => BigInt.asUintN(64, BigInt.asIntN(32, seq));

/** A snapshot holding `seq`. */
function mmuSeqFrom(seq: bigint): MmuSeq {
  const out = new MmuSeq();
  out.lo = Number(BigInt.asUintN(32, seq));
  out.hi = Number(BigInt.asUintN(32, seq >> 32n));
  return out;
}

test('a fresh VM: seq 0, nothing in progress, range INVALID', (t) => {
  const vm = newVm();
  t.is(mmuInvalidateSeq(vm), 0n);
  t.is(mmuInvalidateInProgress(vm), 0);
  t.deepEqual(range(vm), null);
  t.false(gfnUnderInvalidation(vm, 0));
});

test('begin raises in_progress; the first begin resets the range, nested ones keep it', (t) => {
  const vm = newVm();
  kvmMmuInvalidateBegin(vm);
  t.is(mmuInvalidateInProgress(vm), 1);
  kvmMmuInvalidateRangeAdd(vm, 100, 200);
  t.deepEqual(range(vm), [100, 200]);
  kvmMmuInvalidateBegin(vm);
  t.is(mmuInvalidateInProgress(vm), 2);
  t.deepEqual(range(vm), [100, 200], 'a nested begin does not reset');
  t.is(kvmMmuInvalidateEnd(vm), 1);
  t.is(kvmMmuInvalidateEnd(vm), 0);
  kvmMmuInvalidateBegin(vm);
  t.deepEqual(range(vm), null, 'the next first begin resets');
});

test('range_add: the first range is set, later ones widen to a superset, never shrink', (t) => {
  const vm = newVm();
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 500, 600);
  kvmMmuInvalidateRangeAdd(vm, 550, 580);
  t.deepEqual(range(vm), [500, 600]);
  kvmMmuInvalidateRangeAdd(vm, 100, 120);
  t.deepEqual(range(vm), [100, 600]);
  kvmMmuInvalidateRangeAdd(vm, 590, 1000);
  t.deepEqual(range(vm), [100, 1000]);
  t.true(gfnUnderInvalidation(vm, 300), 'gfns between the ranges are covered too (superset)');
});

test('end: seq++ then in_progress--; an unbalanced end goes negative (KVM_BUG_ON)', (t) => {
  const vm = newVm();
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 1, 2);
  t.is(kvmMmuInvalidateEnd(vm), 0);
  t.is(mmuInvalidateSeq(vm), 1n);
  t.is(mmuInvalidateInProgress(vm), 0);
  t.is(kvmMmuInvalidateEnd(vm), -1);
  t.is(mmuInvalidateSeq(vm), 2n);
});

test('gfnUnderInvalidation: only while in progress, range end exclusive', (t) => {
  const vm = newVm();
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 10, 20);
  t.false(gfnUnderInvalidation(vm, 9));
  t.true(gfnUnderInvalidation(vm, 10));
  t.true(gfnUnderInvalidation(vm, 19));
  t.false(gfnUnderInvalidation(vm, 20));
  kvmMmuInvalidateEnd(vm);
  t.false(gfnUnderInvalidation(vm, 15), 'the range words stay but nothing is in progress');
  t.deepEqual(range(vm), [10, 20]);
});

test('locked retry check: a gfn in the range while in progress, or any seq change since the snapshot', (t) => {
  const vm = newVm();
  const seq = snap(vm);
  t.false(mmuInvalidateRetryGfn(vm, seq, 15));
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 10, 20);
  t.true(mmuInvalidateRetryGfn(vm, seq, 15));
  t.false(mmuInvalidateRetryGfn(vm, seq, 25), 'another gfn: no retry while only in progress');
  kvmMmuInvalidateEnd(vm);
  t.true(mmuInvalidateRetryGfn(vm, seq, 25), 'the seq is VM-wide: any completed invalidation forces a retry');
  t.true(mmuInvalidateRetryGfn(vm, seq, 15));
  t.false(mmuInvalidateRetryGfn(vm, snap(vm), 15), 'a fresh snapshot does not retry');
});

test('the lockless pre-check agrees with the locked one on consistent state', (t) => {
  const vm = newVm();
  const seq = snap(vm);
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 10, 20);
  for (const gfn of [5, 10, 19, 20]) t.is(mmuInvalidateRetryGfnUnsafe(vm, seq, gfn), mmuInvalidateRetryGfn(vm, seq, gfn));
  kvmMmuInvalidateEnd(vm);
  t.true(mmuInvalidateRetryGfnUnsafe(vm, seq, 5));
});

test('lockless pre-check: in progress with no range yet is not a hit (the range reads as INVALID_GPA)', (t) => {
  const vm = newVm();
  const seq = snap(vm);
  kvmMmuInvalidateBegin(vm);
  t.false(mmuInvalidateRetryGfnUnsafe(vm, seq, 5));
});

test('locked retry check: in progress with the range still INVALID retries (kernel: WARN_ON_ONCE(range_start == INVALID_GPA) → return 1)', (t) => {
  // include/linux/kvm_host.h mmu_invalidate_retry_gfn(): "Dropping mmu_lock after bumping
  // mmu_invalidate_in_progress but before updating the range is a KVM bug" → retry.
  const vm = newVm();
  const seq = snap(vm);
  kvmMmuInvalidateBegin(vm);
  t.true(mmuInvalidateRetryGfn(vm, seq, 5));
});

test('mmu_invalidate_seq is an unsigned long: it counts past 2^31 and 2^32 without wrapping, and the snapshot compare keeps working', (t) => {
  const vm = newVm();
  setMmuInvalidateSeq(vm, 0x7fffffffn);
  for (const expect of [0x80000000n, 0x80000001n]) {
    const seq = snap(vm);
    kvmMmuInvalidateBegin(vm);
    kvmMmuInvalidateRangeAdd(vm, 0, 1);
    kvmMmuInvalidateEnd(vm);
    t.is(mmuInvalidateSeq(vm), expect);
    t.true(mmuInvalidateRetryGfn(vm, seq, 100));
    t.false(mmuInvalidateRetryGfn(vm, snap(vm), 100));
  }
  setMmuInvalidateSeq(vm, 0xffffffffn);
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 0, 1);
  kvmMmuInvalidateEnd(vm);
  t.is(mmuInvalidateSeq(vm), 0x100000000n, 'no 32-bit wrap');
  setMmuInvalidateSeq(vm, 0xffffffffffffffffn);
  t.is(mmuInvalidateSeq(vm), 0xffffffffffffffffn, 'read back unsigned');
});

test('R3: the snapshot taken as int and sign-extended equals the counter below 2^31 only', (t) => {
  t.is(mmuSeqAsInt(0x7fffffffn), 0x7fffffffn);
  t.is(mmuSeqAsInt(0x8002dc25n), 0xffffffff8002dc25n, 'the commit message\'s example');
  t.is(mmuSeqAsInt(0x100000005n), 5n);
  const vm = newVm();
  setMmuInvalidateSeq(vm, 0x7fffffffn);
  t.false(mmuInvalidateRetryGfn(vm, mmuSeqFrom(mmuSeqAsInt(mmuInvalidateSeq(vm))), 100), 'below 2^31 a stable counter does not retry');
  setMmuInvalidateSeq(vm, 0x80000000n);
  t.true(mmuInvalidateRetryGfn(vm, mmuSeqFrom(mmuSeqAsInt(mmuInvalidateSeq(vm))), 100), 'from 2^31 on every fault is stale though nothing changed');
  setMmuInvalidateSeq(vm, 0x100000005n);
  t.true(mmuInvalidateRetryGfn(vm, mmuSeqFrom(mmuSeqAsInt(mmuInvalidateSeq(vm))), 100), 'and past 2^32 too: the 64-bit counter never comes back');
});

test('the fault path\'s int snapshot on the halves equals mmuSeqAsInt() on the 64-bit value', (t) => {
  for (const v of [0n, 5n, 0x7fffffffn, 0x80000000n, 0x8002dc25n, 0xffffffffn, 0x100000005n, 0x17fffffffn, 0x180000000n, 0xffffffffffffffffn]) {
    const halves = mmuSeqAsIntInto(mmuSeqFrom(v), new MmuSeq());
    t.deepEqual({ ...halves }, { ...mmuSeqFrom(mmuSeqAsInt(v)) }, `0x${v.toString(16)}`);
  }
});

test('mn_active_invalidate_count counts up and down', (t) => {
  const vm = newVm();
  mnActiveInvalidateInc(vm);
  mnActiveInvalidateInc(vm);
  t.is(mnActiveInvalidateCount(vm), 2);
  t.is(mnActiveInvalidateDec(vm), 1);
  t.is(mnActiveInvalidateDec(vm), 0);
  t.is(mnActiveInvalidateCount(vm), 0);
});

test('gfns at and above 2^31 (guest physical 8-16 TiB, inside the 44-bit space) are covered by the range like any other', (t) => {
  // The range words are Int32: a gfn ≥ 2^31 stored there reads back negative.
  const vm = newVm();
  const seq = snap(vm);
  const base = 0xc0000000; // gpa 12 TiB
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, base, base + 16);
  t.true(gfnUnderInvalidation(vm, base + 5));
  t.true(mmuInvalidateRetryGfn(vm, seq, base + 5));
  t.false(gfnUnderInvalidation(vm, base + 16));
  t.false(gfnUnderInvalidation(vm, 5));
  // Widening across the 2^31 boundary.
  kvmMmuInvalidateRangeAdd(vm, 0x7fffff00, 0x7fffff10);
  t.true(gfnUnderInvalidation(vm, 0x80000000), 'between the two ranges');
  t.true(gfnUnderInvalidation(vm, 0x7fffff05));
  t.true(gfnUnderInvalidation(vm, base + 5));
  kvmMmuInvalidateEnd(vm);
  // The very last page of the space: start 2^32 - 1 must not read as INVALID_GPA, end 2^32 not as 0.
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 0xffffffff, 0x100000000);
  t.true(gfnUnderInvalidation(vm, 0xffffffff));
});

test('a range above 2^32 gfns (a 52-bit space) is kept whole: start and last take two words each', (t) => {
  const vm = newVm({ physBits: 52 });
  const seq = snap(vm);
  const top = 2 ** 40 - 16;
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, top, top + 16);
  t.deepEqual(mmuInvalidateRange(vm), [top, 2 ** 40]);
  t.true(gfnUnderInvalidation(vm, 2 ** 40 - 1));
  t.false(gfnUnderInvalidation(vm, (2 ** 40 - 1) % 2 ** 32), 'the same low word below');
  t.true(mmuInvalidateRetryGfn(vm, seq, top));
  kvmMmuInvalidateRangeAdd(vm, 2 ** 32 - 1, 2 ** 32);
  t.deepEqual(mmuInvalidateRange(vm), [2 ** 32 - 1, 2 ** 40], 'widened down across 2^32');
  t.true(gfnUnderInvalidation(vm, 2 ** 36));
  kvmMmuInvalidateEnd(vm);
});
