/**
 * The MMU notifier's callbacks (the counters they move are mmu-invalidate.ts), the data
 * plane of machines/invalidation.machine.ts: the MMU-notifier range walk
 * (__kvm_handle_hva_range), the leaf zap of kvm_unmap_gfn_range → tdp_mmu_zap_leafs under
 * the write lock, and KVM_SET_MEMORY_ATTRIBUTES (kvm_vm_set_mem_attributes).
 */

import type { KvmActor } from './actor.js';
import { HVA_READ, HVA_WRITE, hostApplyChange, hostFreePage, hostNotifierRange, type HostChangeKind } from './host.js';
import { G } from './layout.js';
import { PAGE_SIZE_BIG, U64_MAX, ZAP_YIELD_SPTES } from './limits.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, hugepageMixed, kvmRangeHasMemoryAttributes, kvmStoreMemoryAttributes, kvmUpdateHugepageMixed } from './mem-attrs.js';
import { SlotInfo, memslotsActiveSet, memslotsCount, readSlot } from './memslots.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd, mmuInvalidateRangeValid, mnActiveInvalidateDec, mnActiveInvalidateInc } from './mmu-invalidate.js';
import { mmuWriteTrylock, mmuWriteUnlock } from './mmu-lock.js';
import type { InvalidateOp, SetMemoryAttributesOp } from './ops.js';
import { actorSrcuReadUnlock, srcuReadLock } from './srcu.js';
import { NONPRESENT_HI, NONPRESENT_LO } from './spte.js';
import { tdpNextLeaf } from './tdp-iter.js';
import { rootTable, rootsInUse, tdpMmuSetSpteLocked } from './tdp-mmu.js';
import { actorFlushRemoteTlbs } from './tlb.js';
import { pagesPerLevel } from './types.js';
import * as S from './shm.js';

/** The model stores one byte of attributes per gfn (KVM defines bit 3, PRIVATE, only). */
const ATTR_BYTE_MASK = 0xffn;

const scan = new SlotInfo();

/** Sets up a host event: the hva range of the slot that maps [gpa, gpa + size). */
export function beginHostInvalidation(a: KvmActor, op: InvalidateOp, hvaStart: number, hvaEnd: number): void {
  beginHostChange(a, op.kind, hvaStart, hvaEnd, op.prot === 'rw' ? HVA_READ | HVA_WRITE : op.prot === 'r' ? HVA_READ : 0, false);
}

export function beginAttributeChange(a: KvmActor, op: SetMemoryAttributesOp): void {
  const v = a.inval;
  beginInvalidation(v, true, false);
  v.attrGpa = op.gpa;
  v.attrSize = op.size;
  v.attrFlags = op.flags;
  v.attrValue = op.attributes;
  if (op.gpa % PAGE_SIZE_BIG === 0n && op.size % PAGE_SIZE_BIG === 0n) {
    v.attrStart = Number(op.gpa / PAGE_SIZE_BIG);
    v.attrEnd = Number((op.gpa + op.size) / PAGE_SIZE_BIG);
  }
  v.attrs = Number(op.attributes & ATTR_BYTE_MASK);
}

/**
 * The CoW break of a vCPU's write fault on the zero page (do_wp_page → wp_page_copy): the
 * notifier range is the faulting hva page, widened to the huge zero page's 2M when the
 * PMD maps it (the split comes first, __split_huge_pmd). Runs in the vCPU's context,
 * inside its fault's kvm->srcu section.
 */
export function beginCowBreak(a: KvmActor): void {
  const s = a.fault.slot;
  const h = s.hvaBase + (a.fault.gfn - s.baseGfn);
  beginHostChange(a, 'cow', h, h + 1, 0, true);
  a.stats.cowBreaks++;
  a.fault.cowBroken = true;
  a.accessExitsAtCow = a.accessExits;
}

/** What every invalidation starts from: no ranges, no pages to free, no flush owed, no error. */
function beginInvalidation(v: KvmActor['inval'], isAttr: boolean, inFault: boolean): void {
  v.isAttr = isAttr;
  v.inFault = inFault;
  v.ranges = [];
  v.extraRanges = [];
  v.oldPfns = [];
  v.flush = false;
  v.errno = null;
}

/** A host page-table change over hva pages [hvaStart, hvaEnd): a host event, or a CoW break inside a fault. */
function beginHostChange(a: KvmActor, kind: HostChangeKind, hvaStart: number, hvaEnd: number, prot: number, inFault: boolean): void {
  const v = a.inval;
  beginInvalidation(v, false, inFault);
  v.kind = kind;
  v.hvaStart = hvaStart;
  v.hvaEnd = hvaEnd;
  [v.mnHvaStart, v.mnHvaEnd] = hostNotifierRange(a.vm, hvaStart, hvaEnd);
  v.prot = prot;
}

export function isAttributeChange(a: KvmActor): boolean {
  return a.inval.isAttr;
}

export function mnStart(a: KvmActor): void {
  mnActiveInvalidateInc(a.vm);
}

export function mnEnd(a: KvmActor): void {
  mnActiveInvalidateDec(a.vm);
}

/** srcu_read_lock(&kvm->srcu); nested in a CoW break's fault, whose older section covers it. */
export function invalSrcuReadLock(a: KvmActor): void {
  if (!a.inval.inFault) srcuReadLock(a.vm, a.actor);
}

export function invalSrcuReadUnlock(a: KvmActor): void {
  if (!a.inval.inFault) actorSrcuReadUnlock(a);
}

/**
 * The gfn ranges of the active memslots the event hits (hva ranges for the notifier, gfn
 * ranges for attributes), appended to `out` when given. Returns how many.
 */
function slotRanges(a: KvmActor, out: number[] | null): number {
  const v = a.inval;
  const set = memslotsActiveSet(a.vm);
  const n = memslotsCount(a.vm, set);
  let found = 0;
  for (let i = 0; i < n; i++) {
    const s = readSlot(a.vm, set, i, scan);
    const lo = v.isAttr ? v.attrStart : v.mnHvaStart;
    const hi = v.isAttr ? v.attrEnd : v.mnHvaEnd;
    const base = v.isAttr ? s.baseGfn : s.hvaBase;
    const start = Math.max(lo, base);
    const end = Math.min(hi, base + s.npages);
    if (start >= end) continue;
    found++;
    if (out !== null) out.push(s.baseGfn + (start - base), s.baseGfn + (end - base));
  }
  return found;
}

/**
 * No active memslot is hit by the event: the notifier then takes no mmu_lock at all
 * (071064f14d87) — the asymmetry that made R4 possible.
 */
export function noSlotIntersects(a: KvmActor): boolean {
  return slotRanges(a, null) === 0;
}

/**
 * __kvm_handle_hva_range()'s walk of the memslots (kvm_handle_gfn_range for attributes):
 * the gfn range of each slot the event hits, which the handlers (unmap, zap) then take.
 */
export function computeGfnRanges(a: KvmActor): void {
  a.inval.ranges = [];
  slotRanges(a, a.inval.ranges);
}

export function tryMmuWriteLock(a: KvmActor): boolean {
  const r = mmuWriteTrylock(a.vm, a.actor);
  if (r === 'broken') a.report('lock-discipline', 'write_lock on a broken mmu_lock');
  return r === 'ok';
}

export function writeUnlock(a: KvmActor): void {
  if (mmuWriteUnlock(a.vm, a.actor) === 'broken') a.report('lock-discipline', `${a.name}: write_unlock of mmu_lock it does not hold for write`);
}

export function invalidateBegin(a: KvmActor): void {
  kvmMmuInvalidateBegin(a.vm);
}

export function invalidateRangeAdd(a: KvmActor): void {
  const r = a.inval.ranges.concat(a.inval.extraRanges);
  for (let i = 0; i < r.length; i += 2) kvmMmuInvalidateRangeAdd(a.vm, r[i]!, r[i + 1]!);
}

/**
 * 9129633d568e "Prevent installing hugepages when mem attributes are changing": add the
 * head and tail hugepage chunks whose attributes are not already mixed to the
 * invalidation range, so a fault elsewhere in the same 2M/1G region retries. From 6.15
 * (the VM's kernel switch attrInvalidateHugepageHeadTail); before, only the converted
 * gfns are in the range (R14).
 */
export function addHugepageHeadTail(a: KvmActor): void {
  const v = a.inval;
  v.extraRanges = [];
  if (!a.vm.kernel.switches.attrInvalidateHugepageHeadTail) return;
  for (const level of [2, 3]) {
    const pages = pagesPerLevel(level);
    for (let i = 0; i < v.ranges.length; i += 2) {
      const start = v.ranges[i]!;
      const end = v.ranges[i + 1]!;
      const head = start - (start % pages);
      if (head < start && !hugepageMixed(a.vm, start, level)) v.extraRanges.push(head, start);
      const tail = Math.ceil(end / pages) * pages;
      if (tail > end && !hugepageMixed(a.vm, end - 1, level)) v.extraRanges.push(end, Math.min(tail, a.vm.maxGfn + 1));
    }
  }
}

/** Positions the cursor on the first present leaf of the ranges, over every root (valid or not). */
export function zapStart(a: KvmActor): void {
  zapLeafsStart(a, a.inval.ranges);
}

/**
 * The cursor of kvm_unmap_gfn_range() → kvm_tdp_mmu_unmap_gfn_range(): every root in use
 * (for_each_tdp_mmu_root_yield_safe, valid or not), gfn ranges as [start, end) pairs; the
 * zap itself is tdpMmuZapLeaf, one leaf per step. Also the memslot zap of 6.12
 * (set-memory-region.ts zapSlotLeafsStart).
 */
export function zapLeafsStart(a: KvmActor, ranges: number[]): void {
  const c = a.cursor;
  c.roots = rootsInUse(a.vm);
  c.rootIdx = 0;
  c.ranges = ranges;
  c.rangeIdx = 0;
  c.gfn = c.ranges.length > 0 ? c.ranges[0]! : 0;
  c.sinceYield = 0;
  findNextLeaf(a);
}

/** Advance the cursor to the next present leaf SPTE in (root × range) order. */
export function findNextLeaf(a: KvmActor): void {
  const c = a.cursor;
  c.pending = false;
  while (c.rootIdx < c.roots.length) {
    while (c.rangeIdx * 2 < c.ranges.length) {
      const end = c.ranges[c.rangeIdx * 2 + 1]!;
      if (tdpNextLeaf(a.vm, rootTable(a.vm, c.roots[c.rootIdx]!), c.gfn, end, c.leaf)) {
        c.pending = true;
        return;
      }
      c.rangeIdx++;
      if (c.rangeIdx * 2 < c.ranges.length) c.gfn = c.ranges[c.rangeIdx * 2]!;
    }
    c.rootIdx++;
    c.rangeIdx = 0;
    c.gfn = c.ranges.length > 0 ? c.ranges[0]! : 0;
  }
}

export function cursorDone(a: KvmActor): boolean {
  return !a.cursor.pending;
}

/** tdp_mmu_zap_leafs(): zap the pending leaf under the write lock; the flush is accumulated. */
export function tdpMmuZapLeaf(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  const l = c.leaf;
  tdpMmuSetSpteLocked(a, l.sptep, l.level, l.baseGfn, NONPRESENT_LO, NONPRESENT_HI);
  a.inval.flush = true;
  a.stats.zaps++;
}

/** Move the cursor past the pending leaf to the next present one (kept apart from the zap so `--skip` of the zap still terminates). */
export function zapAdvance(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  c.gfn = c.leaf.baseGfn + pagesPerLevel(c.leaf.level);
  c.sinceYield++;
  findNextLeaf(a);
}

/**
 * tdp_mmu_iter_cond_resched() in a zap that may yield (may_block: a blockable notifier
 * range, KVM_SET_MEMORY_ATTRIBUTES): time to drop mmu_lock (ZAP_YIELD_SPTES leafs since the
 * last yield stand in for need_resched() or contention).
 */
export function zapNeedResched(a: KvmActor): boolean {
  return a.cursor.pending && a.cursor.sinceYield >= ZAP_YIELD_SPTES;
}

/**
 * The flush owed before the yield: `if (flush) kvm_flush_remote_tlbs(kvm)`, where `flush`
 * covers every leaf zapped so far by this walk, in any root (a835429cda91 passed the
 * caller's flush in; before it only the current root's zaps were flushed). Once mmu_lock
 * is dropped, another zapper can find these SPTEs already gone, owe no flush of its own,
 * and let the mm free the page while a vCPU's TLB still maps it.
 */
export function flushBeforeYield(a: KvmActor): void {
  if (a.inval.flush) invalFlushRemoteTlbs(a);
}

/**
 * tdp_iter_restart() after the lock is taken again: the walk resumes at the gfn it reached,
 * read afresh (tables may have changed while the lock was dropped), skipping roots freed
 * meanwhile (the kernel holds a reference on the root it walks).
 */
export function zapRestart(a: KvmActor): void {
  const c = a.cursor;
  c.sinceYield = 0;
  const live = rootsInUse(a.vm);
  const cur = c.roots[c.rootIdx];
  if (cur !== undefined && !live.includes(cur)) {
    c.rangeIdx = 0;
    c.gfn = c.ranges.length > 0 ? c.ranges[0]! : 0;
  }
  c.roots = c.roots.filter((r, i) => i < c.rootIdx || live.includes(r));
  if (c.pending) findNextLeaf(a);
}

export function invalFlushPending(a: KvmActor): boolean {
  return a.inval.flush;
}

export function invalFlushRemoteTlbs(a: KvmActor): void {
  a.inval.flush = false;
  actorFlushRemoteTlbs(a);
}

export function hostChange(a: KvmActor): void {
  const v = a.inval;
  v.oldPfns = hostApplyChange(a.vm, v.kind, v.hvaStart, v.hvaEnd, v.prot);
}

/**
 * kvm_mmu_invalidate_end(); a negative in_progress is KVM_BUG_ON, and so is an end with no
 * range added since the begin that raised in_progress from 0 (WARN_ON_ONCE(
 * mmu_invalidate_range_start == INVALID_GPA), in kvm_main.c since the guest_memfd series).
 */
export function invalidateEnd(a: KvmActor): void {
  if (!mmuInvalidateRangeValid(a.vm)) {
    a.report('unbalanced-in-progress', `${a.name}'s kvm_mmu_invalidate_end() found no range added since kvm_mmu_invalidate_begin() (mmu_invalidate_range_start == INVALID_GPA: WARN_ON_ONCE) — faults meanwhile retried on every gfn`);
  }
  const left = kvmMmuInvalidateEnd(a.vm);
  if (left < 0) a.report('unbalanced-in-progress', `mmu_invalidate_in_progress went negative (${left}) at ${a.name}'s invalidate_end: an end without a begin (KVM_BUG_ON)`);
}

export function hostFreeOldPages(a: KvmActor): void {
  for (const p of a.inval.oldPfns) hostFreePage(a.vm, p);
}

/** kvm_vm_ioctl_set_mem_attributes() argument checks. */
export function attrInvalid(a: KvmActor): boolean {
  const v = a.inval;
  const supported = a.vm.hasPrivateMem ? BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE) : 0n;
  if (v.attrFlags !== 0n || (v.attrValue & ~supported) !== 0n) return true;
  if (v.attrSize === 0n || v.attrGpa % PAGE_SIZE_BIG !== 0n || v.attrSize % PAGE_SIZE_BIG !== 0n) return true;
  const end = v.attrGpa + v.attrSize;
  return end > U64_MAX || end / PAGE_SIZE_BIG > BigInt(a.vm.maxGfn) + 1n;
}

export function attrsAlreadySet(a: KvmActor): boolean {
  return kvmRangeHasMemoryAttributes(a.vm, a.inval.attrStart, a.inval.attrEnd, a.inval.attrs);
}

export function storeAttributes(a: KvmActor): void {
  kvmStoreMemoryAttributes(a.vm, a.inval.attrStart, a.inval.attrEnd, a.inval.attrs);
}

export function postSetMemoryAttributes(a: KvmActor): void {
  const r = a.inval.ranges.concat(a.inval.extraRanges);
  for (let i = 0; i < r.length; i += 2) kvmUpdateHugepageMixed(a.vm, r[i]!, r[i + 1]!);
}

/** kvm->slots_lock as a mutex word (0 free, holder actor + 1). */
export function trySlotsLock(a: KvmActor): boolean {
  return S.compareExchange(a.vm.i32, G.SLOTS_LOCK, 0, a.actor + 1) === 0;
}

export function waitSlotsLock(a: KvmActor): void {
  a.waitOn(G.SLOTS_LOCK, 'slots_lock');
}

export function slotsUnlock(a: KvmActor): void {
  if (S.compareExchange(a.vm.i32, G.SLOTS_LOCK, a.actor + 1, 0) !== a.actor + 1) {
    a.report('lock-discipline', `${a.name}: mutex_unlock(slots_lock) without holding it`);
  }
}
