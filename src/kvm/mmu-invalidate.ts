/**
 * The MMU-notifier invalidation counters (include/linux/kvm_host.h, virt/kvm/kvm_main.c):
 * mmu_invalidate_seq, mmu_invalidate_in_progress, mmu_invalidate_range_start/_end (gfns
 * since 6.7) and mn_active_invalidate_count.
 *
 * Protocol (why it works): a fault snapshots the seq *before* it resolves the pfn, then
 * re-checks under mmu_lock. An invalidation raises in_progress and zaps under the write
 * lock at start, and bumps the seq at end. So a fault that resolved its pfn before or
 * during an invalidation either sees in_progress with its gfn in range, or a seq that
 * moved, and retries instead of installing a pfn the host is about to free.
 */

import { gfnHi, gfnJoin, gfnLo } from './address-space.js';
import { G } from './layout.js';
import { bumpStateEpoch, internalLock, internalUnlock, type Vm } from './vm.js';
import * as S from './shm.js';

/** kvm_mmu_invalidate_begin(): in_progress++; the first one resets the range to INVALID_GPA. */
export function kvmMmuInvalidateBegin(vm: Vm): void {
  const n = S.add(vm.i32, G.INVALIDATE_IN_PROGRESS, 1) + 1;
  if (n === 1) S.store(vm.i32, G.INVALIDATE_RANGE_VALID, 0);
}

/** The range's first gfn (0) or last gfn (1), from its two words. */
function rangeGfn(vm: Vm, last: 0 | 1): number {
  return last === 0
    ? gfnJoin(S.load(vm.i32, G.INVALIDATE_RANGE_START), S.load(vm.i32, G.INVALIDATE_RANGE_START_HI))
    : gfnJoin(S.load(vm.i32, G.INVALIDATE_RANGE_LAST), S.load(vm.i32, G.INVALIDATE_RANGE_LAST_HI));
}

function setRange(vm: Vm, start: number, last: number): void {
  S.store(vm.i32, G.INVALIDATE_RANGE_START, gfnLo(start));
  S.store(vm.i32, G.INVALIDATE_RANGE_START_HI, gfnHi(start));
  S.store(vm.i32, G.INVALIDATE_RANGE_LAST, gfnLo(last));
  S.store(vm.i32, G.INVALIDATE_RANGE_LAST_HI, gfnHi(last));
}

/**
 * kvm_mmu_invalidate_range_add(): the first range sets, later ones widen to a superset.
 * Locking: mmu_lock held for write (the words of a gfn are not read torn under it).
 */
export function kvmMmuInvalidateRangeAdd(vm: Vm, start: number, end: number): void {
  const last = end - 1;
  if (S.load(vm.i32, G.INVALIDATE_RANGE_VALID) === 0) {
    setRange(vm, start, last);
    S.store(vm.i32, G.INVALIDATE_RANGE_VALID, 1);
    return;
  }
  setRange(vm, Math.min(rangeGfn(vm, 0), start), Math.max(rangeGfn(vm, 1), last));
}

/** A range was added since in_progress last rose from 0 (it is not INVALID_GPA). */
export function mmuInvalidateRangeValid(vm: Vm): boolean {
  return S.load(vm.i32, G.INVALIDATE_RANGE_VALID) !== 0;
}

/** The accumulated range as [start, end) gfns, or null while it is INVALID_GPA. */
export function mmuInvalidateRange(vm: Vm): [number, number] | null {
  if (S.load(vm.i32, G.INVALIDATE_RANGE_VALID) === 0) return null;
  return [rangeGfn(vm, 0), rangeGfn(vm, 1) + 1];
}

/** mmu_invalidate_seq as element of `i64` (the two words at G.INVALIDATE_SEQ). */
const SEQ64 = G.INVALIDATE_SEQ >> 1;

/**
 * kvm_mmu_invalidate_end(): mmu_invalidate_seq++; smp_wmb(); in_progress--. The increment
 * is a plain read-modify-write of the 64-bit word, as in the kernel: it runs under the
 * write lock, and lockless readers load the whole word.
 * Returns the new in_progress (negative = KVM_BUG_ON, an unbalanced end).
 */
export function kvmMmuInvalidateEnd(vm: Vm): number {
  S.store64(vm.i64, SEQ64, BigInt.asIntN(64, S.load64(vm.i64, SEQ64) + 1n));
  const left = S.sub(vm.i32, G.INVALIDATE_IN_PROGRESS, 1) - 1;
  bumpStateEpoch(vm);
  return left;
}

/** READ_ONCE(kvm->mmu_invalidate_seq): the unsigned 64-bit counter (for reports and tests). */
export function mmuInvalidateSeq(vm: Vm): bigint {
  return BigInt.asUintN(64, S.load64(vm.i64, SEQ64));
}

/**
 * A snapshot of the counter as its two 32-bit halves (unsigned), so the fault path needs no
 * BigInt. The high word is read first: the counter only grows, and its writer stores the
 * whole 64-bit word, so a read torn by a carry gives a value the counter had before
 * (high old, low wrapped) — a spurious mismatch, never a match with a later value.
 */
export class MmuSeq {
  lo = 0;
  hi = 0;
}

export function readMmuSeq(vm: Vm, out: MmuSeq): void {
  out.hi = S.load(vm.i32, G.INVALIDATE_SEQ + 1) >>> 0;
  out.lo = S.load(vm.i32, G.INVALIDATE_SEQ) >>> 0;
}

/** The counter still equals the snapshot. */
function seqUnchanged(vm: Vm, snap: MmuSeq): boolean {
  return (S.load(vm.i32, G.INVALIDATE_SEQ + 1) >>> 0) === snap.hi && (S.load(vm.i32, G.INVALIDATE_SEQ) >>> 0) === snap.lo;
}

/** Sets the counter (a VM created as if it had already seen `seq` invalidations). */
export function setMmuInvalidateSeq(vm: Vm, seq: bigint): void {
  S.store64(vm.i64, SEQ64, BigInt.asIntN(64, seq));
}

/**
 * The snapshot as `is_page_fault_stale(..., int mmu_seq)` took it before the fix of R3:
 * truncated to a 32-bit int, then sign-extended back to `unsigned long` when passed on to
 * the retry check — on the halves: the low word kept, the high word its sign. Equal to the
 * snapshot while the counter is below 2^31.
 */
export function mmuSeqAsIntInto(snap: MmuSeq, out: MmuSeq): MmuSeq {
  out.lo = snap.lo;
  out.hi = snap.lo >= 0x80000000 ? 0xffffffff : 0;
  return out;
}

export function mmuInvalidateInProgress(vm: Vm): number {
  return S.load(vm.i32, G.INVALIDATE_IN_PROGRESS);
}

/** True when an invalidation in progress covers `gfn` (a range was added and contains it). */
export function gfnUnderInvalidation(vm: Vm, gfn: number): boolean {
  if (S.load(vm.i32, G.INVALIDATE_IN_PROGRESS) <= 0) return false;
  if (S.load(vm.i32, G.INVALIDATE_RANGE_VALID) === 0) return false;
  return gfn >= rangeGfn(vm, 0) && gfn <= rangeGfn(vm, 1);
}

/**
 * mmu_invalidate_retry_gfn() — under mmu_lock: retry if an invalidation in progress covers
 * the gfn, or if any invalidation completed since the snapshot (the seq is VM-wide). An
 * invalidation in progress whose range was never added retries too (the kernel WARNs).
 */
export function mmuInvalidateRetryGfn(vm: Vm, mmuSeq: MmuSeq, gfn: number): boolean {
  if (S.load(vm.i32, G.INVALIDATE_IN_PROGRESS) > 0) {
    if (S.load(vm.i32, G.INVALIDATE_RANGE_VALID) === 0) return true;
    if (gfn >= rangeGfn(vm, 0) && gfn <= rangeGfn(vm, 1)) return true;
  }
  return !seqUnchanged(vm, mmuSeq);
}

/**
 * mmu_invalidate_retry_gfn_unsafe() — the lockless pre-check (6.8): the same tests with
 * READ_ONCE, without the WARN case; may be wrong either way, so the locked check must follow.
 */
export function mmuInvalidateRetryGfnUnsafe(vm: Vm, mmuSeq: MmuSeq, gfn: number): boolean {
  if (gfnUnderInvalidation(vm, gfn)) return true;
  return !seqUnchanged(vm, mmuSeq);
}

/**
 * mn_active_invalidate_count++ under mn_invalidate_lock: a memslot swap that holds the lock
 * (mnInvalidateLockIfIdle) either sees the count raised, or is done before the notifier
 * reads the memslots.
 */
export function mnActiveInvalidateInc(vm: Vm): void {
  internalLock(vm.i32, G.MN_INVALIDATE_LOCK);
  S.add(vm.i32, G.MN_ACTIVE_INVALIDATE_COUNT, 1);
  internalUnlock(vm.i32, G.MN_INVALIDATE_LOCK);
}

/**
 * kvm_swap_active_memslots(): takes mn_invalidate_lock and keeps it when no invalidation
 * is active (the caller swaps, then calls mnInvalidateUnlock); returns false, unlocked,
 * when one is (the caller waits for the count to drop).
 */
export function mnInvalidateLockIfIdle(vm: Vm): boolean {
  internalLock(vm.i32, G.MN_INVALIDATE_LOCK);
  if (S.load(vm.i32, G.MN_ACTIVE_INVALIDATE_COUNT) === 0) return true;
  internalUnlock(vm.i32, G.MN_INVALIDATE_LOCK);
  return false;
}

export function mnInvalidateUnlock(vm: Vm): void {
  internalUnlock(vm.i32, G.MN_INVALIDATE_LOCK);
}

export function mnActiveInvalidateDec(vm: Vm): number {
  return S.sub(vm.i32, G.MN_ACTIVE_INVALIDATE_COUNT, 1) - 1;
}

export function mnActiveInvalidateCount(vm: Vm): number {
  return S.load(vm.i32, G.MN_ACTIVE_INVALIDATE_COUNT);
}
