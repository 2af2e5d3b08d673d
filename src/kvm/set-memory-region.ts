/**
 * KVM_SET_USER_MEMORY_REGION2 (the memslot sets it edits are memslots.ts), the data plane
 * of machines/memslot-update.machine.ts: KVM_SET_USER_MEMORY_REGION2
 * checks and classification (kvm_set_memory_region), the edits of the inactive set, the
 * swap (kvm_swap_active_memslots), kvm_mmu_zap_all_fast and the zap of invalidated roots,
 * and the write-protect pass of kvm_mmu_slot_apply_flags when dirty logging is enabled.
 */

import type { KvmActor, MemslotChange } from './actor.js';
import { dirtyBitmapAlloc, setDirtyLogInProgress } from './dirty-bitmap.js';
import { gmemReserve, hostMmap, hostMunmapDeleted } from './host.js';
import { G } from './layout.js';
import { MEMSLOTS_MAX, PAGE_SIZE_BIG, SPTES_PER_TABLE, U64_MAX } from './limits.js';
import {
  KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEMSLOT_INVALID, SlotInfo, idToMemslot,
  memslotRemove, memslotReplace, memslotsActiveSet, memslotsCopySet, memslotsCount, readSlot,
} from './memslots.js';
import { kvmUpdateHugepageMixed } from './mem-attrs.js';
import { mnInvalidateLockIfIdle, mnInvalidateUnlock } from './mmu-invalidate.js';
import { zapLeafsStart } from './mmu-notifier.js';
import { kvmCheckHasQuirk } from './quirks.js';
import { bumpStateEpoch } from './vm.js';
import { mmuReadTrylock, mmuReadUnlock } from './mmu-lock.js';
import type { SetMemslotOp } from './ops.js';
import { kvmMakeAllCpusRequest, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS } from './requests.js';
import { SPTE_W, isShadowPresent, isLast } from './spte.js';
import { srcuGracePeriodPendingOn, synchronizeSrcuStart } from './srcu.js';
import { spteWord } from './layout.js';
import { tdpNextLeaf } from './tdp-iter.js';
import {
  claimInvalidatedRoots, isObsoleteRoot, kvmTdpMmuInvalidateAllRoots, kvmTdpMmuPutRoot, rootTable, rootsInUse,
  tdpMmuSetSpteAtomic, tdpMmuZapSpteAtomic, wrprotLo,
} from './tdp-mmu.js';
import { actorFlushRemoteTlbs } from './tlb.js';
import { pagesPerLevel } from './types.js';
import { isGfnAlias } from './vm-types.js';
import * as S from './shm.js';

const KVM_MEM_FLAGS_VALID = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD;
const scan = new SlotInfo();

export function beginSetMemslot(a: KvmActor, op: SetMemslotOp): void {
  const m = a.memslot;
  m.id = op.slot; m.flags = op.flags; m.gpa = op.gpa; m.size = op.size; m.backingLevel = op.backingLevel; m.hostMemory = op.hostMemory ?? 'anonymous'; m.populated = op.populated ?? false;
  m.change = 'noop'; m.phase = 'final'; m.errno = null;
  m.old.clear(); m.next.clear();
}

function activeOld(a: KvmActor): boolean {
  return idToMemslot(a.vm, memslotsActiveSet(a.vm), a.memslot.id, a.memslot.old);
}

/** check_memory_region_flags() and the argument checks of kvm_set_memory_region(): EINVAL. */
export function invalidArgs(a: KvmActor): boolean {
  const m = a.memslot;
  if (m.id < 0 || m.id >= MEMSLOTS_MAX) return true;
  if ((m.flags & ~KVM_MEM_FLAGS_VALID) !== 0) return true;
  if ((m.flags & KVM_MEM_GUEST_MEMFD) !== 0) {
    if (!a.vm.hasPrivateMem) return true;
    if ((m.flags & (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)) !== 0) return true;
  }
  if (m.gpa % PAGE_SIZE_BIG !== 0n || m.size % PAGE_SIZE_BIG !== 0n) return true;
  if (m.gpa + m.size > U64_MAX) return true;
  if ((m.gpa + m.size) / PAGE_SIZE_BIG > BigInt(a.vm.maxGfn) + 1n) return true;
  // kvm_arch_prepare_memory_region(): a TDX slot may not reach the shared-alias half.
  if (m.size > 0n && isGfnAlias(a.vm.type, a.vm.rootLevel, Number((m.gpa + m.size) / PAGE_SIZE_BIG) - 1)) return true;
  const exists = activeOld(a);
  if (m.size === 0n) return !exists;
  if (!exists) return false;
  const o = m.old;
  if (BigInt(o.npages) !== m.size / PAGE_SIZE_BIG) return true;
  if (((o.flags ^ m.flags) & (KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD)) !== 0) return true;
  if ((o.flags & KVM_MEM_GUEST_MEMFD) !== 0 && BigInt(o.baseGfn) !== m.gpa / PAGE_SIZE_BIG) return true;
  return false;
}

/** -EEXIST: the new range overlaps another slot. */
export function overlapsOtherSlot(a: KvmActor): boolean {
  const m = a.memslot;
  if (m.size === 0n) return false;
  const start = Number(m.gpa / PAGE_SIZE_BIG);
  const end = start + Number(m.size / PAGE_SIZE_BIG);
  const set = memslotsActiveSet(a.vm);
  const n = memslotsCount(a.vm, set);
  for (let i = 0; i < n; i++) {
    const s = readSlot(a.vm, set, i, scan);
    if (s.id === m.id) continue;
    if (start < s.baseGfn + s.npages && s.baseGfn < end) return true;
  }
  return false;
}

function classify(a: KvmActor): MemslotChange {
  const m = a.memslot;
  if (!activeOld(a)) return 'create';
  if (m.size === 0n) return 'delete';
  if (BigInt(m.old.baseGfn) !== m.gpa / PAGE_SIZE_BIG) return 'move';
  if (m.old.flags !== m.flags) return 'flags_only';
  return 'noop';
}

export function isNoop(a: KvmActor): boolean {
  return classify(a) === 'noop';
}

export function classifyChange(a: KvmActor): void {
  a.memslot.change = classify(a);
}

export function isCreate(a: KvmActor): boolean {
  return a.memslot.change === 'create';
}

export function isFlagsOnly(a: KvmActor): boolean {
  return a.memslot.change === 'flags_only';
}

/** The final slot of a CREATE / FLAGS_ONLY into the inactive set (hva mmap'd by the "VMM" on create). */
export function installNewSlot(a: KvmActor): void {
  const m = a.memslot;
  const s = m.next;
  const inactive = memslotsActiveSet(a.vm) ^ 1;
  if (m.change === 'create') {
    const npages = Number(m.size / PAGE_SIZE_BIG);
    s.id = m.id; s.flags = m.flags; s.baseGfn = Number(m.gpa / PAGE_SIZE_BIG); s.npages = npages;
    s.hvaBase = hostMmap(a.vm, npages, m.backingLevel, m.hostMemory, m.populated);
    s.gmemBase = (m.flags & KVM_MEM_GUEST_MEMFD) !== 0 ? gmemReserve(a.vm, npages) : 0;
    s.dirtyBase = (m.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0 ? dirtyBitmapAlloc(a.vm, npages) : 0;
    kvmMmuInitMemslotMemoryAttributes(a, s);
  } else {
    s.copyFrom(m.old);
    s.flags = m.flags;
    if ((m.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0 && (m.old.flags & KVM_MEM_LOG_DIRTY_PAGES) === 0) {
      s.dirtyBase = dirtyBitmapAlloc(a.vm, s.npages, m.old.dirtyBase);
      // Writes before the enabling ioctl returns need not be logged (userspace copies all memory first).
      setDirtyLogInProgress(a.vm, s.id, true);
    }
  }
  s.index = 0;
  memslotReplace(a.vm, inactive, s);
}

/** kvm_invalidate_memslot(): an INVALID copy of the old slot into the inactive set. */
export function installInvalidSlot(a: KvmActor): void {
  const inv = new SlotInfo().copyFrom(a.memslot.old);
  inv.flags |= KVM_MEMSLOT_INVALID;
  memslotReplace(a.vm, memslotsActiveSet(a.vm) ^ 1, inv);
}

/** DELETE removes the INVALID slot; MOVE replaces it with the slot at its new gpa. */
export function replaceInvalidSlot(a: KvmActor): void {
  const m = a.memslot;
  const inactive = memslotsActiveSet(a.vm) ^ 1;
  if (m.change === 'delete') {
    memslotRemove(a.vm, inactive, m.id);
    return;
  }
  const s = m.next.copyFrom(m.old);
  s.baseGfn = Number(m.gpa / PAGE_SIZE_BIG);
  s.flags = m.flags;
  // kvm_prepare_memory_region(): a MOVE that turns dirty logging on gets a new, zeroed
  // bitmap (one logged on both sides keeps its own, bits and all).
  if ((m.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0 && (m.old.flags & KVM_MEM_LOG_DIRTY_PAGES) === 0) s.dirtyBase = dirtyBitmapAlloc(a.vm, s.npages, m.old.dirtyBase);
  kvmMmuInitMemslotMemoryAttributes(a, s);
  memslotReplace(a.vm, inactive, s);
}

/**
 * kvm_mmu_init_memslot_memory_attributes(), from kvm_alloc_memslot_metadata() on CREATE and
 * MOVE: the new slot's mixed flags come from the attributes as they are now. Attributes set
 * where no slot was updated no slot's flags (kvm_arch_post_set_memory_attributes() runs per
 * slot in range), so a slot created or moved there must compute them; the model keeps the
 * flags per gfn, not per slot, and recomputes them over the slot.
 */
function kvmMmuInitMemslotMemoryAttributes(a: KvmActor, s: SlotInfo): void {
  if (a.vm.hasPrivateMem) kvmUpdateHugepageMixed(a.vm, s.baseGfn, s.baseGfn + s.npages);
}

export function setPhase(a: KvmActor, phase: 'invalidate' | 'final'): void {
  a.memslot.phase = phase;
}

export function phaseIs(a: KvmActor, phase: string): boolean {
  return a.memslot.phase === phase;
}

export function genBeginUpdate(a: KvmActor): void {
  S.store(a.vm.i32, G.MEMSLOTS_GEN_UPDATE_IN_PROGRESS, 1);
}

/** No invalidation active; when true, mn_invalidate_lock is held until the swap in the same step. */
export function mnActiveInvalidateIdle(a: KvmActor): boolean {
  a.memslot.mnLockHeld = mnInvalidateLockIfIdle(a.vm);
  return a.memslot.mnLockHeld;
}

export function waitMnActiveInvalidate(a: KvmActor): void {
  a.waitOn(G.MN_ACTIVE_INVALIDATE_COUNT, 'mn_active_invalidate_count');
}

export function swapActiveMemslots(a: KvmActor): void {
  S.xor(a.vm.i32, G.MEMSLOTS_ACTIVE, 1);
  bumpStateEpoch(a.vm);
  if (a.memslot.mnLockHeld) {
    a.memslot.mnLockHeld = false;
    mnInvalidateUnlock(a.vm);
  }
}

export function syncSrcuStart(a: KvmActor): void {
  a.memslot.srcuTarget = synchronizeSrcuStart(a.vm);
}

export function srcuGracePeriodDone(a: KvmActor): boolean {
  return srcuGracePeriodPendingOn(a.vm, a.memslot.srcuTarget, a.actor) < 0;
}

export function waitSrcuReader(a: KvmActor): void {
  const w = srcuGracePeriodPendingOn(a.vm, a.memslot.srcuTarget, a.actor);
  if (w >= 0) a.waitOn(w, 'synchronize_srcu(kvm->srcu)');
}

/** generation = (gen & ~IN_PROGRESS) + 1; then bring the now-inactive set up to date. */
export function genEndUpdate(a: KvmActor): void {
  S.add(a.vm.i32, G.MEMSLOTS_GEN, 1);
  S.store(a.vm.i32, G.MEMSLOTS_GEN_UPDATE_IN_PROGRESS, 0);
  const active = memslotsActiveSet(a.vm);
  memslotsCopySet(a.vm, active, active ^ 1);
}

/**
 * kvm_memslot_flush_zap_all(): whether kvm_arch_flush_shadow_memslot() zaps everything
 * (kvm_mmu_zap_all_fast) or only the slot's leaf SPTEs. Before 6.12 always everything;
 * from aa8d1f48d353 (kernel switch slotZapOnlyWithQuirk) only on a KVM_X86_DEFAULT_VM whose
 * KVM_X86_QUIRK_SLOT_ZAP_ALL is on (the default: userspace can disable it).
 */
export function memslotFlushZapAll(a: KvmActor): boolean {
  if (!a.vm.kernel.switches.slotZapOnlyWithQuirk) return true;
  return a.vm.type === 'default' && kvmCheckHasQuirk(a.vm.disabledQuirks, 'slot_zap_all');
}

/**
 * kvm_mmu_zap_memslot() (kvm_mmu_zap_memslot_leafs in 6.12), under the write lock: a gfn
 * range over the whole old slot for kvm_unmap_gfn_range(), whose TDP MMU half zaps the
 * slot's leaf SPTEs in every root (the notifier's zap, mmu-notifier.ts, one leaf per
 * step); page tables stay, roots stay valid. The flush is accumulated for the caller.
 */
export function zapSlotLeafsStart(a: KvmActor): void {
  const o = a.memslot.old;
  a.inval.flush = false;
  zapLeafsStart(a, [o.baseGfn, o.baseGfn + o.npages]);
}

/** kvm_mmu_zap_all_fast(): mmu_valid_gen++, invalidate every root, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS to all vCPUs. */
export function kvmMmuZapAllFast(a: KvmActor): void {
  S.add(a.vm.i32, G.MMU_VALID_GEN, 1);
  kvmTdpMmuInvalidateAllRoots(a.vm);
  kvmMakeAllCpusRequest(a.vm, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, true);
}

export function tryReadLockVmm(a: KvmActor): boolean {
  return mmuReadTrylock(a.vm, a.actor) === 'ok';
}

export function readUnlockVmm(a: KvmActor): void {
  if (mmuReadUnlock(a.vm, a.actor) === 'broken') a.report('lock-discipline', `${a.name}: read_unlock of mmu_lock it does not hold for read`);
}

/** The cursor over the invalidated roots' top-level SPTEs (kvm_tdp_mmu_zap_invalidated_roots). */
export function zapInvalidatedRootsStart(a: KvmActor): void {
  const c = a.cursor;
  c.roots = claimInvalidatedRoots(a.vm);
  c.rootIdx = 0;
  c.topIdx = 0;
  findNextTop(a);
}

/** The next present top-level SPTE; roots found empty have the TDP MMU's reference put. */
function findNextTop(a: KvmActor): void {
  const c = a.cursor;
  c.pending = false;
  while (c.rootIdx < c.roots.length) {
    const slot = c.roots[c.rootIdx]!;
    const table = rootTable(a.vm, slot);
    for (; c.topIdx < SPTES_PER_TABLE; c.topIdx++) {
      const w = spteWord(a.vm.layout, table, c.topIdx);
      const lo = S.load(a.vm.i32, w);
      if (!isShadowPresent(lo)) continue;
      c.leaf.sptep = w; c.leaf.level = a.vm.rootLevel; c.leaf.table = table; c.leaf.lo = lo; c.leaf.hi = S.load(a.vm.i32, w + 1);
      c.leaf.baseGfn = c.topIdx * pagesPerLevel(a.vm.rootLevel);
      c.pending = true;
      return;
    }
    kvmTdpMmuPutRoot(a, slot);
    c.rootIdx++;
    c.topIdx = 0;
  }
}

/** tdp_mmu_zap_root(): zap one top-level SPTE (shared mode, no flush in an invalid root). */
export function tdpMmuZapRootSpte(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  const l = c.leaf;
  if (tdpMmuZapSpteAtomic(a, l.sptep, 4, l.baseGfn, l.lo, l.hi, false, () => {})) {
    a.stats.zaps++;
  } else {
    a.stats.casFailures++;
    c.topIdx--; // lost the CAS: look at the same SPTE again
  }
}

/** Next present top-level SPTE of the claimed roots; a finished root has the TDP MMU's reference put. */
export function zapRootsAdvance(a: KvmActor): void {
  if (!a.cursor.pending) return;
  a.cursor.topIdx++;
  findNextTop(a);
}

export function enablesDirtyLogging(a: KvmActor): boolean {
  const m = a.memslot;
  return m.change === 'flags_only' && (m.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0 && (m.old.flags & KVM_MEM_LOG_DIRTY_PAGES) === 0;
}

/** kvm_commit_memory_region(): nr_memslots_dirty_logging. */
export function commitMemoryRegion(a: KvmActor): void {
  const m = a.memslot;
  const was = (m.old.valid ? m.old.flags : 0) & KVM_MEM_LOG_DIRTY_PAGES;
  const now = m.change === 'delete' ? 0 : m.flags & KVM_MEM_LOG_DIRTY_PAGES;
  if (was !== now) S.add(a.vm.i32, G.NR_MEMSLOTS_DIRTY_LOGGING, now !== 0 ? 1 : -1);
}

/** kvm_tdp_mmu_wrprot_slot(): the cursor over every valid root's writable leafs of the slot. */
export function wrprotStart(a: KvmActor): void {
  const c = a.cursor;
  c.roots = rootsInUse(a.vm).filter((s) => !isObsoleteRoot(a.vm, s));
  c.rootIdx = 0;
  c.ranges = [a.memslot.next.baseGfn, a.memslot.next.baseGfn + a.memslot.next.npages];
  c.rangeIdx = 0;
  c.gfn = c.ranges[0]!;
  findNextWritable(a);
}

function findNextWritable(a: KvmActor): void {
  const c = a.cursor;
  c.pending = false;
  while (c.rootIdx < c.roots.length) {
    const end = c.ranges[1]!;
    while (tdpNextLeaf(a.vm, rootTable(a.vm, c.roots[c.rootIdx]!), c.gfn, end, c.leaf)) {
      if ((c.leaf.lo & SPTE_W) !== 0) { c.pending = true; return; }
      c.gfn = c.leaf.baseGfn + pagesPerLevel(c.leaf.level);
    }
    c.rootIdx++;
    c.gfn = c.ranges[0]!;
  }
}

/** Clear W on the pending leaf by CAS (a lost CAS is retried from the fresh value by the next advance). */
export function wrprotLeaf(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  const l = c.leaf;
  if (isShadowPresent(l.lo) && isLast(l.lo, l.level) && !tdpMmuSetSpteAtomic(a, l.sptep, l.level, l.baseGfn, l.lo, l.hi, wrprotLo(l.lo), l.hi)) {
    a.stats.casFailures++;
  }
}

/** The next writable leaf: the same SPTE again if it is still writable (the CAS lost), else the following ones. */
export function wrprotAdvance(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  const l = c.leaf;
  const lo = S.load(a.vm.i32, l.sptep);
  if (!isShadowPresent(lo) || (lo & SPTE_W) === 0 || wrprotSkipped(a)) c.gfn = l.baseGfn + pagesPerLevel(l.level);
  findNextWritable(a);
}

/** When the write-protect action itself is skipped (a mutation), the walk must still move on. */
function wrprotSkipped(a: KvmActor): boolean {
  return a.cursor.leaf.lo === S.load(a.vm.i32, a.cursor.leaf.sptep);
}

export function memslotFlushRemoteTlbs(a: KvmActor): void {
  actorFlushRemoteTlbs(a);
}


/** mutex_unlock(&kvm->slots_lock) at the end of the ioctl: dirty logging is now fully on. */
export function memslotIoctlDone(a: KvmActor): void {
  const m = a.memslot;
  if (m.id >= 0 && m.id < MEMSLOTS_MAX && m.change === 'flags_only') setDirtyLogInProgress(a.vm, m.id, false);
  // The VMM frees the memory of a deleted slot (QEMU drops the RAM block): its hva range
  // is reused by later creates instead of growing the address space forever.
  if (m.errno === null && m.change === 'delete' && m.old.valid && m.old.npages > 0) hostMunmapDeleted(a.vm, m.old.hvaBase, m.old.npages);
}
