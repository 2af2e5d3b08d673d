/**
 * The vCPU: what vcpu_enter_guest() does around guest entry (requests, kvm_mmu_reload) and
 * what the CPU does in guest mode — one access per step through the TLB or a hardware walk
 * of the TDP tables (setting A/D by CAS, as EPT A/D assists do), with the checks a
 * KASAN-like oracle would make on the host page the access reaches.
 */

import type { KvmActor } from './actor.js';
import type { AccessOp } from './ops.js';
import { dirtyLogInProgress, dirtyMarkInFlight, kvmSlotDirtyTrackEnabled, testPageDirty } from './dirty-bitmap.js';
import { isZeroPfn, pfnGeneration, pfnOwner } from './host.js';
import { MMU_CACHE_TABLES, PAGE_SIZE } from './limits.js';
import { ACTOR, actorWord, spteWord } from './layout.js';
import { kvmMemIsPrivate } from './mem-attrs.js';
import { SlotInfo, gfnToMemslot, memslotsActiveSet, memslotsGeneration, memslotsUpdateInProgress } from './memslots.js';
import { kvmMmuDoPageFaultInit } from './page-fault.js';
import { mmuTopupMemoryCaches, tableGoneFrom, tableGracePeriodDone, tableParentWord } from './page-pool.js';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_TLB_FLUSH, kvmCheckRequest, kvmRequestPending, kvmTestRequest } from './requests.js';
import { SPTE_A, SPTE_D, SPTE_W, SPTE_X, isFrozen, isLast, isMmio, isShadowPresent, sptePfn } from './spte.js';
import { spteIndex, tdpFindLeaf } from './tdp-iter.js';
import { rcuReadLock, rcuReadUnlock } from './rcu.js';
import { casLockless, isObsoleteRoot, kvmTdpMmuGetVcpuRoot, kvmTdpMmuPutRoot, rootTable, vcpuRootSlot } from './tdp-mmu.js';
import { TLB_FLAG_PRIVATE, TLB_FLAG_W, TLB_FLAG_X, pscDrop, pscFill, pscLookup, pscParentWord, tlbEntry, tlbFill, tlbFlushAll, tlbLookup, type TlbEntry } from './tlb.js';
import * as S from './shm.js';

export function hasRequestTlbFlush(a: KvmActor): boolean {
  return kvmTestRequest(a.vm, a.actor, KVM_REQ_TLB_FLUSH);
}

/** KVM_REQ_TLB_FLUSH → kvm_vcpu_flush_tlb_all() */
export function kvmVcpuFlushTlb(a: KvmActor): void {
  kvmCheckRequest(a.vm, a.actor, KVM_REQ_TLB_FLUSH);
  tlbFlushAll(a.vm, a.actor);
}

export function hasRequestFreeObsoleteRoots(a: KvmActor): boolean {
  return kvmTestRequest(a.vm, a.actor, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
}

/**
 * kvm_mmu_reload()'s `if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu))`
 * (20a6cff3b283, 6.15). Before 6.15 only vcpu_enter_guest() handled the request, so a
 * pre-fault issued before the vCPU re-entered the guest kept an obsolete root (R12).
 */
export function reloadHasRequestFreeObsoleteRoots(a: KvmActor): boolean {
  return a.vm.kernel.switches.reloadFreesObsoleteRoots && hasRequestFreeObsoleteRoots(a);
}

/** is_obsolete_root(kvm, vcpu->arch.mmu->root.hpa): a root is loaded and it is obsolete (false for INVALID_PAGE). */
export function rootIsObsolete(a: KvmActor): boolean {
  const slot = vcpuRootSlot(a.vm, a.actor);
  return slot >= 0 && isObsoleteRoot(a.vm, slot);
}

/** kvm_mmu_free_obsolete_roots(): drop this vCPU's root if it is invalid. */
export function kvmMmuFreeObsoleteRoots(a: KvmActor): void {
  kvmCheckRequest(a.vm, a.actor, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
  const slot = vcpuRootSlot(a.vm, a.actor);
  if (slot < 0 || !isObsoleteRoot(a.vm, slot)) return;
  S.put(a.vm.i32, actorWord(a.vm.layout, a.actor, ACTOR.ROOT_SLOT), -1);
  kvmTdpMmuPutRoot(a, slot);
}

/**
 * kvm_mmu_reset_context() → kvm_mmu_unload(): drop the vCPU's root (the TDP MMU frees it
 * when its last reference goes); the next guest entry loads one and flushes the TLB.
 */
export function kvmMmuResetContext(a: KvmActor): boolean {
  const slot = vcpuRootSlot(a.vm, a.actor);
  if (slot < 0) return false;
  S.put(a.vm.i32, actorWord(a.vm.layout, a.actor, ACTOR.ROOT_SLOT), -1);
  kvmTdpMmuPutRoot(a, slot);
  return true;
}

/** kvm_mmu_reload() returned an error. */
export function mmuLoadFailed(a: KvmActor): boolean {
  return a.mmuLoadErrno !== null;
}

/**
 * vcpu_enter_guest(): `r = kvm_mmu_reload(vcpu); if (unlikely(r)) goto cancel_injection;` —
 * KVM_RUN returns r; the pending guest access (if any: an emulated one is already done)
 * fails with it.
 */
export function failRunMmuLoad(a: KvmActor): void {
  if (a.currentAccess() !== null) {
    a.queue.complete({ op: 'access', ok: false, errno: a.mmuLoadErrno, emulated: false, exits: a.accessExits });
    a.accessExits = 0;
    a.accessExitsAtCow = 0;
  }
  a.mmuLoadErrno = null;
}

export function needsRootLoad(a: KvmActor): boolean {
  return vcpuRootSlot(a.vm, a.actor) < 0;
}

/**
 * kvm_mmu_load(): top up the page-table caches (-ENOMEM when the host has no page to
 * give, left in `mmuLoadErrno` for the caller), then a valid root for this vCPU and a
 * local TLB flush for it.
 */
export function kvmMmuLoad(a: KvmActor): void {
  a.mmuLoadErrno = null;
  if (!mmuTopupMemoryCaches(a.vm, a.actor)) {
    a.mmuLoadErrno = 'ENOMEM';
    return;
  }
  const slot = kvmTdpMmuGetVcpuRoot(a);
  if (slot < 0) throw new Error(`${a.name}: no table in cache (${MMU_CACHE_TABLES} after top-up) for a new root`);
  S.put(a.vm.i32, actorWord(a.vm.layout, a.actor, ACTOR.ROOT_SLOT), slot);
  tlbFlushAll(a.vm, a.actor);
}

export function hasPendingRequests(a: KvmActor): boolean {
  return kvmRequestPending(a.vm, a.actor);
}

const checkSlot = new SlotInfo();
/** The TLB entry a guest access hits, read into one record (accesses run one at a time per thread). */
const tlbHit: TlbEntry = { pfn: 0, flags: 0, pfnGen: 0 };

/** Whether the current access is private: the guest's choice (SNP/TDX) or the attribute (SW_PROTECTED). */
function accessIsPrivate(a: KvmActor, gfn: number): boolean {
  const op = a.currentAccess();
  if (op?.private !== undefined) return op.private;
  return kvmMemIsPrivate(a.vm, gfn);
}

/**
 * The host page a guest access reaches must be alive (and, through a TLB entry, the same
 * page); a write must never reach the zero page.
 */
function checkHostPage(a: KvmActor, gfn: number, pfn: number, genAtFill: number, viaTlb: boolean, write: boolean): void {
  const owner = pfnOwner(a.vm, pfn);
  const gen = pfnGeneration(a.vm, pfn);
  if (write && isZeroPfn(a.vm, pfn)) {
    a.report('zero-page', `guest write to gfn 0x${gfn.toString(16)} by ${a.name} reached the zero page (pfn 0x${pfn.toString(16)}) ${viaTlb ? 'through a TLB entry' : 'through a writable SPTE'}: every untouched anonymous page of the host now reads as written`, { gfn, pfn });
  }
  if (owner === 0 || (viaTlb && gen !== genAtFill)) {
    a.report('use-after-free', `guest access to gfn 0x${gfn.toString(16)} by ${a.name} reached host pfn 0x${pfn.toString(16)} ${owner === 0 ? 'after the host freed it' : 'after it was freed and reused'} (${viaTlb ? 'through a stale TLB entry' : 'through a present SPTE'})`, { gfn, pfn });
  }
}

/**
 * A guest write through a writable translation must be visible to dirty logging: a TLB
 * entry (`rootSlot` -1) or the level-`level` SPTE of root `rootSlot` (`obsolete`: it is
 * invalid). The report names the translation; it is only put into words when reported.
 */
function checkDirtyLogged(a: KvmActor, gfn: number, rootSlot: number, obsolete: boolean, level: number): void {
  // The checker reads the memslots without kvm->srcu (the vCPU is in guest mode): a
  // memslot update meanwhile makes the read unreliable, and the check is skipped.
  const gen = memslotsGeneration(a.vm);
  if (memslotsUpdateInProgress(a.vm)) return;
  if (!gfnToMemslot(a.vm, memslotsActiveSet(a.vm), gfn, checkSlot)) return;
  if (!kvmSlotDirtyTrackEnabled(checkSlot)) return;
  if (testPageDirty(a.vm, checkSlot, gfn) || dirtyLogInProgress(a.vm, checkSlot.id) || dirtyMarkInFlight(a.vm, gfn)) return;
  if (memslotsGeneration(a.vm) !== gen || memslotsUpdateInProgress(a.vm)) return;
  const via = rootSlot < 0 ? 'a TLB entry' : `the SPTE of root #${rootSlot}${obsolete ? ', invalid' : ''}, level ${level}`;
  a.report('lost-dirty-page', `guest write to gfn 0x${gfn.toString(16)} by ${a.name} went through a writable translation (${via}) while its dirty bit is clear — the next KVM_GET_DIRTY_LOG will miss it`, { gfn });
}

/**
 * The CPU executing one guest access: TLB hit, else a walk — from the table the
 * paging-structure cache holds for the gfn's 2 MiB region, or from the vCPU's root — that
 * sets A (and D on write) by CAS and fills the TLB. Returns false on an EPT violation (no
 * translation or not enough permission), leaving `a.lastWalkPresent` for the error code;
 * the violation drops the paging-structure cache entry the walk used.
 */
export function tryGuestAccess(a: KvmActor): boolean {
  const op = a.currentAccess();
  if (op === null) return false;
  const gfn = Math.floor(op.gpa / PAGE_SIZE);
  const write = op.access === 'write';
  const exec = op.access === 'exec';
  a.stats.accesses++;
  const e = gfn <= a.vm.maxGfn ? tlbLookup(a.vm, a.actor, gfn) : -1;
  if (e >= 0) {
    const t = tlbEntry(a.vm, a.actor, e, tlbHit);
    const kindOk = !a.vm.hasPrivateMem || accessIsPrivate(a, gfn) === ((t.flags & TLB_FLAG_PRIVATE) !== 0);
    if (kindOk && (!write || (t.flags & TLB_FLAG_W) !== 0) && (!exec || (t.flags & TLB_FLAG_X) !== 0)) {
      a.stats.tlbHits++;
      checkHostPage(a, gfn, t.pfn, t.pfnGen, true, write);
      if (write) checkDirtyLogged(a, gfn, -1, false, 0);
      return true;
    }
  }
  a.lastWalkPresent = false;
  a.lastWalkMmio = false;
  const slot = vcpuRootSlot(a.vm, a.actor);
  if (slot < 0 || gfn > a.vm.maxGfn) return false;
  // The hardware walker reads page tables like an RCU reader: a table unlinked under it
  // is freed only after the grace period (and the remote flush) that KVM waits for.
  rcuReadLock(a.vm, a.actor);
  try {
    const cached = pscLookup(a.vm, a.actor, gfn);
    if (cached === 0) {
      tdpFindLeaf(a.vm, rootTable(a.vm, slot), gfn, a.leaf);
      return accessLeaf(a, slot, gfn, write, exec);
    }
    if (readCachedTable(a, cached, gfn) && accessLeaf(a, slot, gfn, write, exec)) return true;
    pscDrop(a.vm, a.actor, gfn);
    return false;
  } finally {
    rcuReadUnlock(a.vm, a.actor);
  }
}

/**
 * A walk that starts from the table the paging-structure cache holds for gfn's 2 MiB
 * region: its 4K entry into `a.leaf`. The table must still be one a walker may read — live
 * where it was cached, or unlinked but within the grace period of a flush that has not
 * yet reached this vCPU (its entries frozen, so the access faults). A table freed or
 * reused since is a use-after-free by the hardware: the flush that must follow unlinking
 * it never came. Returns false then.
 */
function readCachedTable(a: KvmActor, table: number, gfn: number): boolean {
  const vm = a.vm;
  const now = tableGoneFrom(vm, table, pscParentWord(vm, a.actor, gfn)) ?? (tableGracePeriodDone(vm, table) ? 'freed (its RCU grace period has ended)' : null);
  if (now !== null) {
    a.report('table-reuse', `${a.name}'s access to gfn 0x${gfn.toString(16)} started its walk at table #${table} from the paging-structure cache, but that table was unlinked since and is now ${now}: no TLB flush reached this vCPU between the unlink and the free — a use-after-free of a page table by the hardware walker`, { gfn });
    return false;
  }
  const l = a.leaf;
  l.sptep = spteWord(vm.layout, table, spteIndex(gfn, 1));
  l.level = 1;
  l.table = table;
  l.lo = S.load(vm.i32, l.sptep);
  l.hi = S.load(vm.i32, l.sptep + 1);
  l.baseGfn = gfn;
  return true;
}

/**
 * The access through the SPTE `a.leaf` holds: a present leaf with the permission, whose A
 * (and D) bit is set by CAS; fills the TLB, and for a 4K leaf the paging-structure cache.
 */
function accessLeaf(a: KvmActor, slot: number, gfn: number, write: boolean, exec: boolean): boolean {
  const leaf = a.leaf;
  for (let tries = 0; tries < 8; tries++) {
    const { lo, hi } = leaf;
    if (isMmio(lo, hi)) {
      // Reserved bits: an EPT misconfig (handle_mmio_page_fault), unless the guest made a
      // private access (SNP/TDX), which KVM never meets on an MMIO SPTE (see docs/model.md).
      a.lastWalkMmio = a.currentAccess()?.private !== true;
      return false;
    }
    if (!isShadowPresent(lo) || isFrozen(lo, hi) || !isLast(lo, leaf.level)) return false;
    a.lastWalkPresent = true;
    if ((write && (lo & SPTE_W) === 0) || (exec && (lo & SPTE_X) === 0)) return false;
    const pfn = sptePfn(lo, hi) + (gfn - leaf.baseGfn);
    if (a.vm.hasPrivateMem && accessIsPrivate(a, gfn) !== pfnOwner(a.vm, pfn) < 0) return false;
    const want = lo | SPTE_A | (write ? SPTE_D : 0);
    if (want !== lo && !casLockless(a, leaf.sptep, leaf.level, gfn, lo, hi, want, hi)) {
      leaf.lo = S.load(a.vm.i32, leaf.sptep);
      leaf.hi = S.load(a.vm.i32, leaf.sptep + 1);
      continue;
    }
    const flags = ((lo & SPTE_W) !== 0 ? TLB_FLAG_W : 0) | ((lo & SPTE_X) !== 0 ? TLB_FLAG_X : 0) | (pfnOwner(a.vm, pfn) < 0 ? TLB_FLAG_PRIVATE : 0);
    tlbFill(a.vm, a.actor, gfn, pfn, flags, pfnGeneration(a.vm, pfn));
    if (leaf.level === 1) pscFill(a.vm, a.actor, gfn, leaf.table, tableParentWord(a.vm, leaf.table));
    checkHostPage(a, gfn, pfn, 0, false, write);
    // The root's state is read before the dirty-log check's own reads (an explored step's footprint records both).
    if (write) checkDirtyLogged(a, gfn, slot, isObsoleteRoot(a.vm, slot), leaf.level);
    return true;
  }
  return false;
}

/** The access the vCPU exited on (an EPT violation or misconfig always has one). */
function exitAccess(a: KvmActor): AccessOp {
  const op = a.currentAccess();
  if (op === null) throw new Error(`${a.name}: a VM exit without a guest access`);
  return op;
}

/** The gfn of the access the vCPU exited on (kvm_mmu_page_fault()'s cr2_or_gpa). */
export function exitGfn(a: KvmActor): number {
  return Math.floor(exitAccess(a).gpa / PAGE_SIZE);
}

/** An exit of the access being retried by hardware (EPT violation or misconfig). */
export function countAccessExit(a: KvmActor): void {
  a.stats.exits++;
  a.accessExits++;
}

/** kvm_mmu_page_fault() → kvm_mmu_do_page_fault(): the fault for the access the vCPU exited on, its error code's present and private bits given. */
export function exitPageFaultInit(a: KvmActor, present: boolean, isPrivate: boolean): void {
  const op = exitAccess(a);
  kvmMmuDoPageFaultInit(a, Math.floor(op.gpa / PAGE_SIZE), op.access === 'write', op.access === 'exec', present, false, isPrivate);
}

/** The EPT violation: build the fault for the current access (kvm_mmu_page_fault). */
export function eptViolation(a: KvmActor): void {
  countAccessExit(a);
  exitPageFaultInit(a, a.lastWalkPresent, a.vm.hasPrivateMem && accessIsPrivate(a, exitGfn(a)));
}
