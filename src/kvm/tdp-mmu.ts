/**
 * The TDP MMU's mutations (arch/x86/kvm/mmu/tdp_mmu.c). Every SPTE change goes through
 * one of two funnels and ends in handleChangedSpte():
 *  - tdpMmuSetSpteAtomic(): mmu_lock held for read; one 64-bit CAS; on failure the caller
 *    sees the fresh value and retries (the fault returns RET_PF_RETRY);
 *  - tdpMmuSetSpteLocked(): mmu_lock held for write; an atomic XCHG when the old SPTE has
 *    volatile bits (a present leaf, whose A/D hardware may set concurrently — ba3a6120a4e7),
 *    else a plain store.
 *
 * handleChangedSpte() asserts the kernel's forbidden transitions (present leaf → present
 * leaf with another pfn is a BUG(); non-present → non-present is legal only for MMIO and
 * FROZEN) and tears down a table whose parent SPTE stopped pointing at it
 * (handle_removed_pt: every child frozen for good, then RCU-freed).
 *
 * Roots: tdp_mmu_root_count starts at 2 (the vCPU's and the TDP MMU's own), invalidation
 * sets role.invalid, the TDP MMU drops its reference after zapping the root, the last put
 * frees it after a grace period.
 */

import { ROOTS_MAX, SPTES_PER_TABLE } from './limits.js';
import { ACTOR, G, ROOT, actorWord, rootWord, spteWord } from './layout.js';
import { SlotInfo, gfnToMemslot, memslotsActiveSet } from './memslots.js';
import { LOCK_HELD_NONE, LOCK_HELD_WRITE, lockHeld } from './mmu-lock.js';
import { tableMarkCached, tableMarkLive, tdpMmuAllocSp, tdpMmuQueueFreeSp } from './page-pool.js';
import {
  FROZEN_HI, FROZEN_LO, NONLEAF_HI, NONPRESENT_HI, NONPRESENT_LO, SPTE_HI_FLAGS_MASK, SPTE_LO_FLAGS_MASK, SPTE_PS, SPTE_W,
  isFrozen, isLast, isMmio, isShadowPresent, makeNonleafLo, pfnHi, pfnLo, spteChildTable, spteDescribe, spteHex, sptePfn, spteToBigInt,
} from './spte.js';
import type { KvmThread } from './thread.js';
import { pagesPerLevel } from './types.js';
import { internalLock, internalUnlock, type Vm } from './vm.js';
import * as S from './shm.js';

// Scratch words to build 64-bit CAS operands from 32-bit halves without BigInt math.
const scratch64 = new BigInt64Array(2);
const scratch32 = new Int32Array(scratch64.buffer);

const NONPRESENT_BIG = spteToBigInt(NONPRESENT_LO, NONPRESENT_HI);

function big(lo: number, hi: number, slot: number): bigint {
  if (lo === NONPRESENT_LO && hi === NONPRESENT_HI) return NONPRESENT_BIG;
  scratch32[slot * 2] = lo;
  scratch32[slot * 2 + 1] = hi;
  return scratch64[slot]!;
}

function halves(v: bigint): [number, number] {
  scratch64[0] = v;
  return [scratch32[0]!, scratch32[1]!];
}

const FROZEN_BIG = spteToBigInt(FROZEN_LO, FROZEN_HI);

/** The SPTE's 64-bit element index from its low word index. */
const i64Index = (sptep: number): number => sptep >>> 1;

export function sptePair(vm: Vm, sptep: number): [number, number] {
  return [S.load(vm.i32, sptep), S.load(vm.i32, sptep + 1)];
}

function spteRef(where: string, lo: number, hi: number, level: number) {
  return { where, value: spteHex(lo, hi), decoded: spteDescribe(lo, hi, level) };
}

/**
 * __tdp_mmu_set_spte_atomic() + handle_changed_spte(): CAS `old` → `new`. Returns false
 * (-EBUSY) when the SPTE changed under us. Locking: mmu_lock held (read or write).
 */
export function tdpMmuSetSpteAtomic(
  t: KvmThread, sptep: number, level: number, gfn: number, oldLo: number, oldHi: number, newLo: number, newHi: number,
): boolean {
  const vm = t.vm;
  if (lockHeld(vm, t.actor) === LOCK_HELD_NONE) {
    t.report('lock-discipline', `${vm.actorName(t.actor)} changed an SPTE atomically without holding mmu_lock (lockdep_assert_held_read)`, { gfn });
  }
  if (isFrozen(oldLo, oldHi)) {
    t.report('forbidden-spte-transition', 'tdp_mmu_set_spte_atomic asked to modify a FROZEN SPTE (WARN)', { gfn, sptes: [spteRef('old', oldLo, oldHi, level)] });
  }
  if (!S.cas64x2(vm.i32, vm.i64, sptep, oldLo, oldHi, newLo, newHi)) return false;
  t.noteSpteWrite?.(sptep);
  handleChangedSpte(t, gfn, oldLo, oldHi, newLo, newHi, level, true);
  return true;
}

/**
 * fast_pf_fix_direct_spte(): the lockless cmpxchg of fast_page_fault (RCU only, no
 * mmu_lock). Only ever makes a leaf writable, so no handle_changed_spte bookkeeping.
 */
export function casLockless(t: KvmThread, sptep: number, _level: number, _gfn: number, oldLo: number, oldHi: number, newLo: number, newHi: number): boolean {
  if (!S.cas64x2(t.vm.i32, t.vm.i64, sptep, oldLo, oldHi, newLo, newHi)) return false;
  t.noteSpteWrite?.(sptep);
  return true;
}

/**
 * tdp_mmu_iter_set_spte() → kvm_tdp_mmu_write_spte(): mmu_lock held for write; XCHG when
 * the old SPTE is volatile (present leaf) so a concurrent A/D or fast-PF update is not
 * lost. Returns the value actually replaced.
 */
export function tdpMmuSetSpteLocked(t: KvmThread, sptep: number, level: number, gfn: number, newLo: number, newHi: number): [number, number] {
  const vm = t.vm;
  if (lockHeld(vm, t.actor) !== LOCK_HELD_WRITE) {
    t.report('lock-discipline', `${vm.actorName(t.actor)} used the write-locked SPTE setter without holding mmu_lock for write (lockdep_assert_held_write)`, { gfn });
  }
  const [lo0, hi0] = sptePair(vm, sptep);
  let oldLo = lo0;
  let oldHi = hi0;
  if (isShadowPresent(lo0) && isLast(lo0, level)) {
    [oldLo, oldHi] = halves(S.exchange64(vm.i64, i64Index(sptep), big(newLo, newHi, 1)));
  } else {
    S.store64x2(vm.i32, vm.i64, sptep, newLo, newHi);
  }
  t.noteSpteWrite?.(sptep);
  handleChangedSpte(t, gfn, oldLo, oldHi, newLo, newHi, level, false);
  return [oldLo, oldHi];
}

/**
 * tdp_mmu_zap_spte_atomic(): freeze (CAS to FROZEN_SPTE), flush, then clear — so nobody
 * can install a new SPTE before the TLB flush. One step, for the invalid-root zap (`flush`
 * false, fcdffe97f80e); where a flush sits between, the caller takes the freeze and the
 * clear as separate steps (tdpMmuFreezeSpte, tdpMmuClearFrozenSpte). Returns false when
 * the CAS lost.
 */
export function tdpMmuZapSpteAtomic(t: KvmThread, sptep: number, level: number, gfn: number, oldLo: number, oldHi: number, flush: boolean, flushFn: () => void): boolean {
  const vm = t.vm;
  if (!S.cas64x2(vm.i32, vm.i64, sptep, oldLo, oldHi, FROZEN_LO, FROZEN_HI)) return false;
  if (flush) flushFn();
  S.store64x2(vm.i32, vm.i64, sptep, NONPRESENT_LO, NONPRESENT_HI);
  t.noteSpteWrite?.(sptep);
  handleChangedSpte(t, gfn, oldLo, oldHi, NONPRESENT_LO, NONPRESENT_HI, level, true);
  return true;
}

/**
 * The first step of tdp_mmu_zap_spte_atomic() where the model lets others run between the
 * steps: freeze (CAS to FROZEN_SPTE). Until tdpMmuClearFrozenSpte() a fault that meets the
 * SPTE retries and a hardware walk finds nothing. Returns false when the CAS lost.
 */
export function tdpMmuFreezeSpte(t: KvmThread, sptep: number, oldLo: number, oldHi: number): boolean {
  if (!S.cas64x2(t.vm.i32, t.vm.i64, sptep, oldLo, oldHi, FROZEN_LO, FROZEN_HI)) return false;
  t.noteSpteWrite?.(sptep);
  return true;
}

/** The last step: the SPTE the caller froze (and flushed) becomes non-present, with handle_changed_spte(). */
export function tdpMmuClearFrozenSpte(t: KvmThread, sptep: number, level: number, gfn: number, oldLo: number, oldHi: number): void {
  S.store64x2(t.vm.i32, t.vm.i64, sptep, NONPRESENT_LO, NONPRESENT_HI);
  t.noteSpteWrite?.(sptep);
  handleChangedSpte(t, gfn, oldLo, oldHi, NONPRESENT_LO, NONPRESENT_HI, level, true);
}

const invalidProbe = new SlotInfo();

/** The active memslot set holds `gfn` in a slot being deleted or moved (KVM_MEMSLOT_INVALID). */
function gfnInInvalidSlot(vm: Vm, gfn: number): boolean {
  return gfnToMemslot(vm, memslotsActiveSet(vm), gfn, invalidProbe) && invalidProbe.invalid;
}

function pfnDiffers(oldLo: number, oldHi: number, newLo: number, newHi: number): boolean {
  return sptePfn(oldLo, oldHi) !== sptePfn(newLo, newHi);
}

/**
 * handle_changed_spte(): the bookkeeping after every SPTE change, and the kernel's
 * assertions on what may change into what.
 */
export function handleChangedSpte(
  t: KvmThread, gfn: number, oldLo: number, oldHi: number, newLo: number, newHi: number, level: number, shared: boolean,
): void {
  if (oldLo === newLo && oldHi === newHi) return;
  const wasPresent = isShadowPresent(oldLo);
  const isPresent = isShadowPresent(newLo);
  const wasLeaf = wasPresent && isLast(oldLo, level);
  const isLeaf = isPresent && isLast(newLo, level);
  // (The pfns are compared only where it decides: not for the usual non-present → leaf.)
  if (wasLeaf && isLeaf && pfnDiffers(oldLo, oldHi, newLo, newHi)) {
    t.report('forbidden-spte-transition', `present leaf SPTE replaced by a leaf with another pfn at gfn 0x${gfn.toString(16)} without a zap (handle_changed_spte BUG: a notifier should have zapped first)`, {
      gfn, pfn: sptePfn(newLo, newHi), sptes: [spteRef('old', oldLo, oldHi, level), spteRef('new', newLo, newHi, level)],
    });
    return;
  }
  if (wasLeaf && isMmio(newLo, newHi) && gfnInInvalidSlot(t.vm, gfn)) {
    // e0c378684b65 (R1): a fault must not take a memslot being deleted (INVALID, its SPTEs
    // not yet zapped) for no memslot and turn its present leaf into an MMIO SPTE. A no-slot
    // fault whose lookup predates a memslot *create* can do the same to a leaf mapped in
    // the new slot since (no seq check for no-slot faults, a create zaps nothing); the
    // kernel does that too, and the MMIO SPTE's old generation makes it stale.
    t.report('forbidden-spte-transition', `present leaf SPTE at gfn 0x${gfn.toString(16)} replaced by an MMIO SPTE (a fault treated a memslot being deleted as no memslot)`, {
      gfn, sptes: [spteRef('old', oldLo, oldHi, level), spteRef('new', newLo, newHi, level)],
    });
    return;
  }
  if (!wasPresent && !isPresent) {
    // Only a *new* FROZEN value is exempt: clearing someone else's freeze is not.
    const special = isMmio(oldLo, oldHi) || isMmio(newLo, newHi) || isFrozen(newLo, newHi);
    if (!special) {
      t.report('forbidden-spte-transition', `non-present → non-present SPTE change at gfn 0x${gfn.toString(16)} that is neither MMIO nor FROZEN (WARN)`, {
        gfn, sptes: [spteRef('old', oldLo, oldHi, level), spteRef('new', newLo, newHi, level)],
      });
    }
    return;
  }
  if (wasPresent && !wasLeaf && (isLeaf || !isPresent || pfnDiffers(oldLo, oldHi, newLo, newHi))) {
    handleRemovedPt(t, spteChildTable(oldLo), level - 1, shared);
  }
}

/**
 * handle_removed_pt(): a table no longer reachable from its parent. Every child SPTE is
 * frozen for good (XCHG, so a racing CAS by a walker that still holds the pointer fails),
 * child tables are torn down recursively, and the table is freed after an RCU grace
 * period.
 */
export function handleRemovedPt(t: KvmThread, table: number, level: number, shared: boolean): void {
  const vm = t.vm;
  for (let i = 0; i < SPTES_PER_TABLE; i++) {
    const w = spteWord(vm.layout, table, i);
    const [lo, hi] = halves(S.exchange64(vm.i64, i64Index(w), FROZEN_BIG));
    if (isFrozen(lo, hi)) continue;
    if (isShadowPresent(lo) && !isLast(lo, level)) handleRemovedPt(t, spteChildTable(lo), level - 1, shared);
  }
  tdpMmuQueueFreeSp(vm, table);
}

/**
 * tdp_mmu_link_sp(): CAS a new table (from the actor's cache) into the non-present SPTE
 * the iterator read. Returns false when the CAS lost (the caller frees the table).
 */
export function tdpMmuLinkSp(t: KvmThread, sptep: number, level: number, gfn: number, oldLo: number, oldHi: number, table: number): boolean {
  const newLo = makeNonleafLo(table);
  // The table is live before the CAS publishes it: a walker that reads the new SPTE on
  // another thread must find it initialised (tdp_mmu_init_child_sp() comes first too).
  tableMarkLive(t.vm, table, sptep);
  if (!tdpMmuSetSpteAtomic(t, sptep, level, gfn, oldLo, oldHi, newLo, NONLEAF_HI)) {
    tableMarkCached(t.vm, table);
    return false;
  }
  return true;
}

/**
 * tdp_mmu_split_huge_page(): fill a new table with 512 SPTEs equivalent to the huge one
 * (same pfns, permissions and A/D), off-line, then link it by CAS. No TLB flush: the
 * translations are identical. Returns false when the CAS lost.
 */
export function tdpMmuSplitHugePage(t: KvmThread, sptep: number, level: number, gfn: number, oldLo: number, oldHi: number, table: number): boolean {
  const vm = t.vm;
  const childLevel = level - 1;
  const pagesPerChild = pagesPerLevel(childLevel);
  const basePfn = sptePfn(oldLo, oldHi);
  // make_small_spte(): the huge SPTE's flags, without PT_PAGE_SIZE_MASK at 4K.
  const flagsLo = oldLo & SPTE_LO_FLAGS_MASK & (childLevel === 1 ? ~SPTE_PS : ~0);
  const flagsHi = oldHi & SPTE_HI_FLAGS_MASK;
  for (let i = 0; i < SPTES_PER_TABLE; i++) {
    const pfn = basePfn + i * pagesPerChild;
    const w = spteWord(vm.layout, table, i);
    S.put(vm.i32, w, (flagsLo | pfnLo(pfn)) | 0);
    S.put(vm.i32, w + 1, (flagsHi | pfnHi(pfn)) | 0);
  }
  return tdpMmuLinkSp(t, sptep, level, gfn, oldLo, oldHi, table);
}

// ---------------------------------------------------------------- roots

export function rootTable(vm: Vm, slot: number): number {
  return S.load(vm.i32, rootWord(vm.layout, slot, ROOT.TABLE));
}

/** is_obsolete_sp() for a TDP MMU root: role.invalid. */
export function isObsoleteRoot(vm: Vm, slot: number): boolean {
  return slot < 0 || S.load(vm.i32, rootWord(vm.layout, slot, ROOT.INVALID)) !== 0;
}

/**
 * isObsoleteRoot() for a caller holding mmu_lock (for read) and a reference to the root: a
 * plain read. role.invalid is set only with mmu_lock held for write
 * (kvm_tdp_mmu_invalidate_roots(): lockdep_assert_held_write, "a root doesn't become
 * invalid while there are active readers"), and cleared only when a free slot is reused
 * for a new root, which a referenced root is not; the Atomics operation that took the
 * lock orders this read after the last writer's release.
 */
export function isObsoleteRootLocked(vm: Vm, slot: number): boolean {
  return slot < 0 || S.get(vm.i32, rootWord(vm.layout, slot, ROOT.INVALID)) !== 0;
}

/**
 * rootTable() of a root the caller holds a reference to (the vCPU's own root): a plain
 * read — the word is written when the slot is allocated, before the root is published,
 * and a referenced root's slot is not freed or reused.
 */
export function referencedRootTable(vm: Vm, slot: number): number {
  return S.get(vm.i32, rootWord(vm.layout, slot, ROOT.TABLE));
}

/**
 * vcpu->arch.mmu->root.hpa, as the vCPU's root slot (-1: INVALID_PAGE). Only its own vCPU
 * writes it (kvm_mmu_load/unload, kvm_mmu_free_obsolete_roots) and reads it, so both are
 * plain accesses, in the threaded engine too: a fault reads it three times.
 */
export function vcpuRootSlot(vm: Vm, vcpu: number): number {
  return S.get(vm.i32, actorWord(vm.layout, vcpu, ACTOR.ROOT_SLOT));
}

/**
 * kvm_tdp_mmu_get_vcpu_root_hpa() (kvm_mmu_load): take a reference on a valid root, or
 * create one from the vCPU's cache (refcount 2). Returns the root slot, or -1 when the
 * cache is empty (the caller tops up and tries again).
 */
export function kvmTdpMmuGetVcpuRoot(t: KvmThread): number {
  const vm = t.vm;
  internalLock(vm.i32, G.ROOTS_LOCK);
  try {
    let free = -1;
    for (let s = 0; s < ROOTS_MAX; s++) {
      const inUse = S.get(vm.i32, rootWord(vm.layout, s, ROOT.IN_USE));
      if (inUse === 0) { if (free < 0) free = s; continue; }
      if (S.get(vm.i32, rootWord(vm.layout, s, ROOT.INVALID)) === 0) {
        S.add(vm.i32, rootWord(vm.layout, s, ROOT.REFCOUNT), 1);
        return s;
      }
    }
    if (free < 0) throw new RangeError(`more than ${ROOTS_MAX} TDP roots alive (obsolete roots are not being freed)`);
    const table = tdpMmuAllocSp(vm, t.actor, vm.rootLevel, 0);
    if (table === 0) return -1;
    tableMarkLive(vm, table, 0);
    if (free >= S.get(vm.i32, G.ROOTS_HIGH)) S.store(vm.i32, G.ROOTS_HIGH, free + 1);
    S.store(vm.i32, rootWord(vm.layout, free, ROOT.TABLE), table);
    S.store(vm.i32, rootWord(vm.layout, free, ROOT.INVALID), 0);
    S.store(vm.i32, rootWord(vm.layout, free, ROOT.REFCOUNT), 2);
    S.store(vm.i32, rootWord(vm.layout, free, ROOT.SCHEDULED_ZAP), 1);
    S.store(vm.i32, rootWord(vm.layout, free, ROOT.IN_USE), 1);
    return free;
  } finally {
    internalUnlock(vm.i32, G.ROOTS_LOCK);
  }
}

/** kvm_tdp_mmu_put_root(): drop a reference; the last one frees the root after a grace period. */
export function kvmTdpMmuPutRoot(t: KvmThread, slot: number): void {
  const vm = t.vm;
  const left = S.sub(vm.i32, rootWord(vm.layout, slot, ROOT.REFCOUNT), 1) - 1;
  if (left > 0) return;
  const table = rootTable(vm, slot);
  internalLock(vm.i32, G.ROOTS_LOCK);
  try {
    S.store(vm.i32, rootWord(vm.layout, slot, ROOT.IN_USE), 0);
  } finally {
    internalUnlock(vm.i32, G.ROOTS_LOCK);
  }
  // Anything still linked below a dead root is torn down with it.
  handleRemovedPt(t, table, vm.rootLevel, true);
}

/** kvm_tdp_mmu_invalidate_roots(): mark every root invalid (mmu_lock held for write). */
export function kvmTdpMmuInvalidateAllRoots(vm: Vm): void {
  for (let s = 0; s < ROOTS_MAX; s++) {
    if (S.load(vm.i32, rootWord(vm.layout, s, ROOT.IN_USE)) === 0) continue;
    S.store(vm.i32, rootWord(vm.layout, s, ROOT.INVALID), 1);
  }
}

/** Roots the TDP MMU still has to zap and put (invalid, reference not yet dropped). Claims them. */
export function claimInvalidatedRoots(vm: Vm): number[] {
  const out: number[] = [];
  internalLock(vm.i32, G.ROOTS_LOCK);
  try {
    for (let s = 0; s < ROOTS_MAX; s++) {
      if (S.get(vm.i32, rootWord(vm.layout, s, ROOT.IN_USE)) === 0) continue;
      if (S.get(vm.i32, rootWord(vm.layout, s, ROOT.INVALID)) === 0) continue;
      if (S.get(vm.i32, rootWord(vm.layout, s, ROOT.SCHEDULED_ZAP)) === 0) continue;
      S.put(vm.i32, rootWord(vm.layout, s, ROOT.SCHEDULED_ZAP), 0);
      out.push(s);
    }
  } finally {
    internalUnlock(vm.i32, G.ROOTS_LOCK);
  }
  return out;
}

/** Every root slot in use, valid or not. */
export function rootsInUse(vm: Vm): number[] {
  const out: number[] = [];
  for (let s = 0; s < ROOTS_MAX; s++) if (S.load(vm.i32, rootWord(vm.layout, s, ROOT.IN_USE)) !== 0) out.push(s);
  return out;
}

/** Clearing W for write-protection (kept MMU-writable, so fast_page_fault may restore it). */
export function wrprotLo(lo: number): number {
  return lo & ~SPTE_W;
}
