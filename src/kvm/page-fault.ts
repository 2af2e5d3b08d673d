/**
 * The page fault's data plane: what each named guard and action of
 * machines/page-fault.machine.ts does to shared memory (arch/x86/kvm/mmu/mmu.c,
 * tdp_mmu.c). The protocol — the order of these and every retry — lives in the machine.
 *
 * Why the seq snapshot comes before the pfn is resolved: the pfn is only trusted if no
 * invalidation could have freed it since; an invalidation bumps the seq at its end, so a
 * fault that snapshots first and re-checks under mmu_lock cannot miss one that completed
 * in between (interleaving (a) of reference §4).
 */

import type { KvmActor, RetPf, RetryReason } from './actor.js';
import { beginDirtyMark, dirtyMarkOf, endDirtyMark, kvmSlotDirtyTrackEnabled, markPageDirtyInSlot } from './dirty-bitmap.js';
import { hvaToPfn, gmemGetPfn } from './host.js';
import { sevGmemPrepare } from './snp-rmp.js';
import { G, spteWord } from './layout.js';
import { KVM_MAX_HUGEPAGE_LEVEL } from './limits.js';
import { hugepageMixed, kvmMemIsPrivate } from './mem-attrs.js';
import { KVM_MEMSLOT_INVALID, KVM_MEM_GUEST_MEMFD, KVM_MEM_READONLY, gfnToMemslot, memslotsActiveSet, memslotsGeneration, slotLevelAligned } from './memslots.js';
import { MmuSeq, mmuInvalidateInProgress, mmuInvalidateRangeValid, mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe, mmuSeqAsIntInto, readMmuSeq } from './mmu-invalidate.js';
import { mmuReadTrylock, mmuReadUnlock } from './mmu-lock.js';
import { mmuTopupMemoryCaches, tableGoneFrom, tdpMmuAllocSp, tdpMmuFreeUnusedSp } from './page-pool.js';
import { actorRcuReadUnlock, rcuReadLock, rcuReadUnlock } from './rcu.js';
import {
  SPTE_A, SPTE_D, SPTE_W, SPTE_X, isFrozen, isLarge, isLast, isMmio, isMmuWritable, isShadowPresent,
  makeMmioHi, makeMmioLo, makeSpteHi, makeSpteLo, spteChildTable, type MakeSpteArgs,
} from './spte.js';
import { levelBaseGfn, spteIndex, tdpFindLeaf, tdpIterStart, tdpIterStepDownTo, tdpIterStepIntoKnown } from './tdp-iter.js';
import { casLockless, isObsoleteRoot, isObsoleteRootLocked, referencedRootTable, rootTable, tdpMmuLinkSp, tdpMmuSetSpteAtomic, tdpMmuSplitHugePage, vcpuRootSlot } from './tdp-mmu.js';
import { actorFlushRemoteTlbs } from './tlb.js';
import { pagesPerLevel, type Errno } from './types.js';
import * as S from './shm.js';

/**
 * kvm_mmu_do_page_fault() entry: fill struct kvm_page_fault and look the memslot up in
 * the active set (the caller holds kvm->srcu).
 */
export function kvmMmuDoPageFaultInit(a: KvmActor, gfn: number, write: boolean, exec: boolean, present: boolean, prefetch: boolean, isPrivate: boolean): void {
  a.fault.reset(gfn, write, exec, present, prefetch, isPrivate);
  kvmVcpuGfnToMemslot(a, gfn);
}

/**
 * kvm_vcpu_gfn_to_memslot(): the vCPU's last used slot if it still covers the gfn and the
 * memslot set has not changed since, else a lookup in the active set. Caller holds SRCU.
 */
function kvmVcpuGfnToMemslot(a: KvmActor, gfn: number): void {
  const set = memslotsActiveSet(a.vm);
  const gen = memslotsGeneration(a.vm);
  const last = a.lastSlot;
  if (a.lastSlotSet === set && a.lastSlotGen === gen && last.valid && last.contains(gfn)) {
    a.fault.slot.copyFrom(last);
    return;
  }
  if (gfnToMemslot(a.vm, set, gfn, a.fault.slot)) {
    last.copyFrom(a.fault.slot);
    a.lastSlotSet = set;
    a.lastSlotGen = gen;
  }
}

export function setRet(a: KvmActor, ret: RetPf, reason?: RetryReason): void {
  a.fault.ret = ret;
  a.fault.retryReason = ret === 'retry' ? (reason ?? null) : null;
}

export function setFaultErrno(a: KvmActor, errno: Errno): void {
  a.fault.errno = errno;
  a.fault.ret = 'continue';
}

/**
 * fast_page_fault(): lockless. Only for a permission fault on a present SPTE: spurious if
 * the access is already allowed; a write to an MMU-writable but write-protected 4K SPTE
 * (dirty logging) is fixed by CAS (fast_pf_fix_direct_spte), and in a dirty-logged slot
 * the gfn is marked dirty in the next step (fastPageFaultMarkDirty), still inside the
 * lockless walk's RCU section: another vCPU can write through the SPTE between the two, so
 * a KVM_GET_DIRTY_LOG in that window reports the write one log late, as in the kernel.
 * Returns true when the fault is resolved here (ret set), false to take the slow path
 * (RET_PF_INVALID).
 */
export function tryFastPageFault(a: KvmActor): boolean {
  const f = a.fault;
  if (!f.present || f.prefetch || f.isPrivate) return false;
  // page_fault_can_be_fast(): an access whose private/shared kind disagrees with the
  // attributes (e.g. an SNP shared access to a private page) must reach the slow path and
  // its KVM_EXIT_MEMORY_FAULT, not spin on RET_PF_SPURIOUS.
  if (a.vm.hasPrivateMem && kvmMemIsPrivate(a.vm, f.gfn)) return false;
  const root = vcpuRootSlot(a.vm, a.actor);
  if (root < 0 || isObsoleteRoot(a.vm, root)) return false;
  // walk_shadow_page_lockless_begin(): the tables it walks (and the SPTE it CASes) stay
  // allocated until it is done, however they are unlinked meanwhile.
  rcuReadLock(a.vm, a.actor);
  const fixed = fastPageFaultLocked(a, root);
  // walk_shadow_page_lockless_end(), unless the dirty mark is still to come.
  if (!fastPageFaultMarkPending(a)) rcuReadUnlock(a.vm, a.actor);
  return fixed;
}

function fastPageFaultLocked(a: KvmActor, root: number): boolean {
  const f = a.fault;
  const leaf = tdpFindLeaf(a.vm, rootTable(a.vm, root), f.gfn, a.leaf);
  if (!isShadowPresent(leaf.lo) || !isLast(leaf.lo, leaf.level)) return false;
  if (accessAllowed(leaf.lo, f.write, f.exec)) {
    setRet(a, 'spurious');
    return true;
  }
  if (!f.write || f.exec || (leaf.lo & SPTE_W) !== 0 || !isMmuWritable(leaf.hi)) return false;
  if (leaf.level > 1 && f.slot.valid && kvmSlotDirtyTrackEnabled(f.slot)) return false;
  const newLo = leaf.lo | SPTE_W | SPTE_D | SPTE_A;
  const marks = f.slot.valid && kvmSlotDirtyTrackEnabled(f.slot);
  if (marks) beginDirtyMark(a.vm, a.actor, f.gfn);
  if (!casLockless(a, leaf.sptep, leaf.level, f.gfn, leaf.lo, leaf.hi, newLo, leaf.hi)) { // fast_pf_fix_direct_spte()
    if (marks) endDirtyMark(a.vm, a.actor);
    return false;
  }
  // (With `marks`, the mark stays in flight — ACTOR.MARKING — until fastPageFaultMarkDirty.)
  setRet(a, 'fixed');
  return true;
}

/** The fast fix's mark_page_dirty_in_slot() is due (its step comes next): this vCPU's mark is in flight. */
export function fastPageFaultMarkPending(a: KvmActor): boolean {
  return dirtyMarkOf(a.vm, a.actor) >= 0;
}

/** fast_page_fault() resolved the fault (spurious, or fixed with no dirty mark due). */
export function fastPageFaultResolved(a: KvmActor): boolean {
  return a.fault.ret !== 'continue';
}

/** fast_pf_fix_direct_spte()'s mark_page_dirty_in_slot(), after its cmpxchg; then walk_shadow_page_lockless_end(). */
export function fastPageFaultMarkDirty(a: KvmActor): void {
  const f = a.fault;
  markPageDirtyInSlot(a.vm, f.slot, f.gfn);
  endDirtyMark(a.vm, a.actor);
}

export function accessAllowed(lo: number, write: boolean, exec: boolean): boolean {
  if (write && (lo & SPTE_W) === 0) return false;
  if (exec && (lo & SPTE_X) === 0) return false;
  return true;
}

export function tryTopupMemoryCaches(a: KvmActor): boolean {
  return mmuTopupMemoryCaches(a.vm, a.actor);
}

/** fault->mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(); */
export function snapshotMmuSeq(a: KvmActor): void {
  readMmuSeq(a.vm, a.fault.mmuSeq);
}

export function faultRetryUnsafe(a: KvmActor): boolean {
  return mmuInvalidateRetryGfnUnsafe(a.vm, a.fault.mmuSeq, a.fault.gfn);
}

export function slotIsInvalid(a: KvmActor): boolean {
  const s = a.fault.slot;
  return s.index >= 0 && (s.flags & KVM_MEMSLOT_INVALID) !== 0; // SlotInfo.invalid
}

/**
 * kvm_mmu_faultin_pfn() on an INVALID memslot: `if (fault->prefetch) return -EAGAIN;`
 * (3ccbf6f47098, 6.18: a pre-fault punts to userspace). Before 6.18 the INVALID check
 * looks at nothing else and every fault retries (R13). The guard the page-fault machine
 * calls isPrefetch: it is only asked on an INVALID slot.
 */
export function prefetchPuntsInvalidSlot(a: KvmActor): boolean {
  return a.vm.kernel.switches.prefetchInvalidSlotEagain && a.fault.prefetch;
}

/**
 * No usable memslot: none at the gfn, or (as before e0c378684b65) an INVALID one — the
 * real protocol never gets here with an INVALID slot (slotIsInvalid comes first); with
 * that check mutated away, the fault treats the slot being deleted as MMIO, as 5.11 did.
 */
export function noSlot(a: KvmActor): boolean {
  const s = a.fault.slot;
  return s.index < 0 || (s.flags & KVM_MEMSLOT_INVALID) !== 0; // !valid || invalid
}

export function gfnAboveMaxGfn(a: KvmActor): boolean {
  return a.fault.gfn > a.vm.maxGfn;
}

/** fault->is_private != kvm_mem_is_private(kvm, fault->gfn): -EFAULT, KVM_EXIT_MEMORY_FAULT. */
export function isPrivateMismatch(a: KvmActor): boolean {
  return a.vm.hasPrivateMem && a.fault.isPrivate !== kvmMemIsPrivate(a.vm, a.fault.gfn);
}

/** A write to a KVM_MEM_READONLY slot: KVM_PFN_ERR_RO_FAULT → RET_PF_EMULATE. */
export function writeToReadonlySlot(a: KvmActor): boolean {
  return a.fault.write && (a.fault.slot.flags & KVM_MEM_READONLY) !== 0;
}

/** kvm_faultin_pfn_private() → kvm_gmem_get_pfn(). */
export function tryKvmGmemGetPfn(a: KvmActor): boolean {
  const s = a.fault.slot;
  if ((s.flags & KVM_MEM_GUEST_MEMFD) === 0) return false;
  const index = s.gmemBase + (a.fault.gfn - s.baseGfn);
  a.fault.pfn = gmemGetPfn(a.vm, index);
  // kvm_gmem_get_pfn() → kvm_gmem_prepare_folio() → sev_gmem_prepare() on an SNP VM.
  if (a.vm.type === 'snp') sevGmemPrepare(a.vm, index);
  a.fault.mapWritable = true;
  a.fault.hostLevel = 1;
  return true;
}

/** __gfn_to_pfn_memslot() → hva_to_pfn(): false is KVM_PFN_ERR_FAULT (→ -EFAULT). */
export function tryHvaToPfn(a: KvmActor): boolean {
  const s = a.fault.slot;
  const pfn = hvaToPfn(a.vm, s.hvaBase + (a.fault.gfn - s.baseGfn), a.fault.write, a.gup, a.hostPages);
  if (pfn === 0) return false;
  a.fault.pfn = pfn;
  a.fault.mapWritable = a.gup.writable && (s.flags & KVM_MEM_READONLY) === 0;
  a.fault.hostLevel = a.gup.level;
  return true;
}

/**
 * kvm_mmu_hugepage_adjust(): the largest level ≤ KVM_MAX_HUGEPAGE_LEVEL that the host
 * mapping, the memslot bounds and alignment, the attributes (no "mixed" region) and dirty
 * logging (4K only) allow; the pfn is aligned down to it.
 */
export function computeGoalLevel(a: KvmActor): void {
  const f = a.fault;
  f.goalLevel = 1;
  if (!f.slot.valid) return;
  if (kvmSlotDirtyTrackEnabled(f.slot)) return;
  const max = Math.min(KVM_MAX_HUGEPAGE_LEVEL, f.hostLevel);
  for (let level = max; level >= 2; level--) {
    const base = levelBaseGfn(f.gfn, level);
    const pages = pagesPerLevel(level);
    if (base < f.slot.baseGfn || base + pages > f.slot.baseGfn + f.slot.npages) continue;
    if (!slotLevelAligned(f.slot, level, f.isPrivate)) continue;
    if (hugepageMixed(a.vm, f.gfn, level)) continue;
    f.goalLevel = level;
    f.pfn -= f.gfn - base;
    return;
  }
}

export function tryReadLock(a: KvmActor): boolean {
  const r = mmuReadTrylock(a.vm, a.actor);
  if (r === 'broken') a.report('lock-discipline', 'read_lock on a broken mmu_lock');
  return r === 'ok';
}

export function waitMmuLock(a: KvmActor): void {
  a.stats.lockWaits++;
  a.waitOn(G.MMU_LOCK, 'mmu_lock');
}

export function faultRcuReadLock(a: KvmActor): void {
  rcuReadLock(a.vm, a.actor);
}

export function faultRcuReadUnlock(a: KvmActor): void {
  actorRcuReadUnlock(a);
}

/**
 * is_page_fault_stale(): `root_to_sp(vcpu->arch.mmu->root.hpa)` is the fault's first use of
 * the root. With no root loaded (root.hpa == INVALID_PAGE, a kvm_mmu_reload() failure
 * ignored — R11) the kernel dereferences garbage here; the model reports it and retries.
 */
export function faultIsObsoleteRoot(a: KvmActor): boolean {
  const slot = vcpuRootSlot(a.vm, a.actor);
  if (slot < 0) {
    a.report('invalid-root', `${a.name} faults on gfn 0x${a.fault.gfn.toString(16)} with no root loaded (root.hpa == INVALID_PAGE): root_to_sp() dereferences garbage — kvm_mmu_reload() failed and its error was not returned`, { gfn: a.fault.gfn });
  }
  return isObsoleteRootLocked(a.vm, slot);
}

export function faultRetryLocked(a: KvmActor): boolean {
  warnRangeInvalid(a);
  return mmuInvalidateRetryGfn(a.vm, a.fault.mmuSeq, a.fault.gfn);
}

/**
 * mmu_invalidate_retry_gfn()'s WARN_ON_ONCE: in_progress raised while the range is still
 * INVALID_GPA, seen under mmu_lock — someone dropped the lock between
 * kvm_mmu_invalidate_begin() and kvm_mmu_invalidate_range_add().
 */
function warnRangeInvalid(a: KvmActor): void {
  if (mmuInvalidateInProgress(a.vm) > 0 && !mmuInvalidateRangeValid(a.vm)) {
    a.report('unbalanced-in-progress', `${a.name}'s fault on gfn 0x${a.fault.gfn.toString(16)} found mmu_invalidate_in_progress raised with no range added (INVALID_GPA) under mmu_lock: mmu_invalidate_retry_gfn() WARNs (mmu_lock dropped between kvm_mmu_invalidate_begin() and range_add())`, { gfn: a.fault.gfn });
  }
}

/**
 * The locked check of a 6.1 kernel before 82d811ff5665 (R3): is_page_fault_stale() took
 * the snapshot as `int`; it reached mmu_invalidate_retry_hva() sign-extended, so from
 * bit 31 of the counter on it never equals the counter and every fault is stale.
 */
const intSeq = new MmuSeq();

export function faultRetryLockedIntSeq(a: KvmActor): boolean {
  warnRangeInvalid(a);
  return mmuInvalidateRetryGfn(a.vm, mmuSeqAsIntInto(a.fault.mmuSeq, intSeq), a.fault.gfn);
}

export function faultIterStart(a: KvmActor): void {
  // Under mmu_lock, the vCPU's own root (referenced): plain reads of its words.
  // kvm_tdp_mmu_map() takes the root once (tdp_mmu_get_root_for_fault()) and walks it:
  // the iterator keeps its slot for the install's checks.
  const slot = vcpuRootSlot(a.vm, a.actor);
  a.iter.rootSlot = slot;
  tdpIterStart(a.vm, a.iter, referencedRootTable(a.vm, slot), a.fault.gfn);
}

/** try_step_down(); a walker must never enter a table that was freed and reused. */
export function faultIterStepDown(a: KvmActor): void {
  const child = spteChildTable(a.iter.oldLo);
  const now = tableGoneFrom(a.vm, child, a.iter.sptep);
  if (now !== null) {
    a.report('table-reuse', `${a.name}'s walk stepped into table #${child} through the SPTE it read, but the table was unlinked and freed meanwhile and is now ${now}: a use-after-free of a page table (it was reused before the walker's RCU grace period ended)`, { gfn: a.fault.gfn });
  }
  tdpIterStepDownTo(a.vm, a.iter, child);
}

export function iterIsFrozen(a: KvmActor): boolean {
  return isFrozen(a.iter.oldLo, a.iter.oldHi);
}

export function iterAtGoalLevel(a: KvmActor): boolean {
  return a.iter.level === a.fault.goalLevel;
}

export function iterIsPresentNonLeaf(a: KvmActor): boolean {
  return isShadowPresent(a.iter.oldLo) && !isLarge(a.iter.oldLo) && a.iter.level > 1;
}

export function iterIsPresentLarge(a: KvmActor): boolean {
  return isShadowPresent(a.iter.oldLo) && isLarge(a.iter.oldLo);
}

/** A table-linking setter of tdp-mmu.ts: CAS `table` in for the SPTE the iterator read. */
type LinkSp = (t: KvmActor, sptep: number, level: number, gfn: number, oldLo: number, oldHi: number, table: number) => boolean;

/**
 * tdp_mmu_alloc_sp() from the vCPU's cache, then `link` it where the iterator stands. The
 * table is remembered in fault.sp (freed by freeUnusedSp if the CAS lost). Returns false
 * when the CAS lost.
 */
function tryAllocAndLinkSp(a: KvmActor, link: LinkSp): boolean {
  const it = a.iter;
  const sp = tdpMmuAllocSp(a.vm, a.actor, it.level - 1, levelBaseGfn(it.gfn, it.level));
  if (sp === 0) throw new Error(`${a.name}: page-table cache empty after top-up`);
  a.fault.sp = sp;
  if (!link(a, it.sptep, it.level, it.gfn, it.oldLo, it.oldHi, sp)) {
    a.stats.casFailures++;
    return false;
  }
  return true;
}

/** tdp_mmu_alloc_sp() + tdp_mmu_link_sp(). */
export function tryLinkSp(a: KvmActor): boolean {
  return tryAllocAndLinkSp(a, tdpMmuLinkSp);
}

/** tdp_mmu_split_huge_page() */
export function trySplitHugePage(a: KvmActor): boolean {
  return tryAllocAndLinkSp(a, tdpMmuSplitHugePage);
}

/** Continue the walk in the table this fault just linked (its content is known to us). */
export function iterUseLinkedSp(a: KvmActor): void {
  const sp = a.fault.sp;
  a.fault.sp = 0;
  const w = spteWord(a.vm.layout, sp, spteIndex(a.iter.gfn, a.iter.level - 1));
  tdpIterStepIntoKnown(a.vm, a.iter, sp, S.get(a.vm.i32, w), S.get(a.vm.i32, w + 1));
}

export function freeUnusedSp(a: KvmActor): void {
  if (a.fault.sp !== 0) tdpMmuFreeUnusedSp(a.vm, a.actor, a.fault.sp);
  a.fault.sp = 0;
}

/**
 * tdp_mmu_map_handle_target_level(): a pre-fault does not overwrite a shadow-present SPTE
 * at its goal level (RET_PF_SPURIOUS). From 6.16 (ea9fcdf76d3d) only a present *leaf*: a
 * page table at the goal level (its range mapped at 4K before) is replaced by the huge
 * mapping, as a guest fault would; before, the pre-fault counts the range as mapped and
 * leaves the table as it is, whatever its leaves.
 */
export function prefetchOverPresent(a: KvmActor): boolean {
  const lo = a.iter.oldLo;
  if (!a.fault.prefetch || !isShadowPresent(lo)) return false;
  return !a.vm.kernel.switches.prefetchSpuriousOnlyOverLeaf || isLast(lo, a.iter.level);
}

/**
 * is_shadow_present_pte(old) && is_access_allowed(fault, old) && is_last_spte(old, level):
 * RET_PF_SPURIOUS from 6.13 (386d69f9f29b); before, only an identical new SPTE is.
 */
export function isSpuriousAccess(a: KvmActor): boolean {
  const lo = a.iter.oldLo;
  return a.vm.kernel.switches.spuriousWhenAccessAllowed && isShadowPresent(lo) && isLast(lo, a.iter.level) && accessAllowed(lo, a.fault.write, a.fault.exec);
}

const spteArgs: MakeSpteArgs = { pfn: 0, level: 1, hostWritable: false, writable: false, exec: true, prefetch: false };

/**
 * make_spte() for the fault at the iterator's level (or make_mmio_spte() without a slot),
 * into fault.newLo/newHi.
 */
function makeNewSpte(a: KvmActor): void {
  const f = a.fault;
  if (noSlot(a)) {
    const gen = memslotsGeneration(a.vm);
    f.newLo = makeMmioLo(f.gfn, gen);
    f.newHi = makeMmioHi(f.gfn, gen);
    return;
  }
  const args = spteArgs;
  args.pfn = f.pfn;
  args.level = a.iter.level;
  args.hostWritable = f.mapWritable;
  args.writable = f.mapWritable;
  args.prefetch = f.prefetch;
  f.newLo = makeSpteLo(args);
  f.newHi = makeSpteHi(args);
}

export function newSpteEqualsOld(a: KvmActor): boolean {
  makeNewSpte(a);
  const f = a.fault;
  f.newValid = true;
  return f.newLo === a.iter.oldLo && f.newHi === a.iter.oldHi;
}

/**
 * The install: make_spte() and tdp_mmu_set_spte_atomic(). A writable SPTE in a slot with
 * dirty logging marks the gfn dirty (make_spte → mark_page_dirty_in_slot). The SPTE
 * newSpteEqualsOld() made for this level is reused while the slot is valid.
 */
export function tryInstallSpte(a: KvmActor): boolean {
  const f = a.fault;
  if (!f.newValid || f.slot.index < 0) makeNewSpte(a);
  f.newValid = false;
  const it = a.iter;
  const lo = f.newLo;
  const hi = f.newHi;
  if (lo === it.oldLo && hi === it.oldHi) return true;
  const marks = f.slot.index >= 0 && (lo & SPTE_W) !== 0 && kvmSlotDirtyTrackEnabled(f.slot);
  if (marks) beginDirtyMark(a.vm, a.actor, f.gfn);
  if (!tdpMmuSetSpteAtomic(a, it.sptep, it.level, f.gfn, it.oldLo, it.oldHi, lo, hi)) {
    if (marks) endDirtyMark(a.vm, a.actor);
    a.stats.casFailures++;
    return false;
  }
  // The flush after the install (tdp_mmu_map_handle_target_level()) is for a replaced
  // table: its walks may sit in any vCPU's paging-structure cache until flushed.
  f.replacedPresent = isShadowPresent(it.oldLo) && !isLast(it.oldLo, it.level);
  // is_page_fault_stale() ran under this same mmu_lock read section, so the root cannot
  // have become obsolete since: a leaf installed into an obsolete root is the bug of
  // a955cad84cda (R2), a mapping that outlives the memslot update that invalidated it.
  // The root is the one the walk took (faultIterStart), the vCPU's current root: only
  // the vCPU itself changes that, never in the middle of a fault.
  if (isShadowPresent(lo) && !isMmio(lo, hi) && isObsoleteRootLocked(a.vm, it.rootSlot)) {
    a.report('stale-spte', `${a.name}'s fault installed a leaf SPTE for gfn 0x${f.gfn.toString(16)} into obsolete root #${it.rootSlot} (invalidated by kvm_mmu_zap_all_fast()): is_page_fault_stale() must catch an obsolete root`, { gfn: f.gfn });
  }
  if (marks) {
    markPageDirtyInSlot(a.vm, f.slot, f.gfn);
    endDirtyMark(a.vm, a.actor);
  }
  return true;
}

export function flushRemoteTlbsGfn(a: KvmActor): void {
  actorFlushRemoteTlbs(a);
}

export function faultReadUnlock(a: KvmActor): void {
  if (mmuReadUnlock(a.vm, a.actor) === 'broken') a.report('lock-discipline', `${a.name}: read_unlock of mmu_lock it does not hold for read`);
}

/** kvm_release_pfn_clean(): the model does not pin host pages, so nothing to drop. */
export function releasePfn(_a: KvmActor): void {}
