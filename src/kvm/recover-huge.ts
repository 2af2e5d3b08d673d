/**
 * Turning dirty logging off (kvm_mmu_slot_apply_flags() without KVM_MEM_LOG_DIRTY_PAGES):
 * the slot's 4K mappings, forced while writes were tracked, can be huge again. Under the
 * read lock, each valid root is walked from the 1G level down (for_each_tdp_pte_min_level
 * from PG_LEVEL_2M) for present non-leaf SPTEs inside the slot whose gfn range the host
 * mapping, the slot's alignment and the attributes allow to be mapped huge
 * (kvm_mmu_max_mapping_level() ≥ the SPTE's level).
 *
 * Until 6.12 such a SPTE is zapped (kvm_tdp_mmu_zap_collapsible_sptes():
 * tdp_mmu_zap_spte_atomic() — freeze, flush, clear; a later fault maps it huge). From 6.13
 * (13e2e4f62a4b, with 35ef80eb29ab batching the flush) it is replaced in place by a huge
 * SPTE made from its first present leaf (tdp_mmu_make_huge_spte() → make_huge_spte():
 * that leaf's bits with PS set and the address aligned down to the huge page), one flush
 * for the slot at the end (kvm_mmu_recover_huge_pages()). A table with no present leaf
 * is left alone (-ENOENT). The kernel profile's `recoverHugePagesInPlace` chooses.
 */

import type { KvmActor } from './actor.js';
import { KVM_MAX_HUGEPAGE_LEVEL, SPTES_PER_TABLE } from './limits.js';
import { spteWord } from './layout.js';
import { hvaBackingLevel, hvaPfn } from './host.js';
import { hugepageMixed } from './mem-attrs.js';
import { KVM_MEM_LOG_DIRTY_PAGES, slotLevelAligned, type SlotInfo } from './memslots.js';
import { SPTE_PS, isFrozen, isLast, isShadowPresent, pfnHi, pfnLo, spteChildTable, sptePfn, SPTE_LO_FLAGS_MASK, SPTE_HI_PFN_MASK } from './spte.js';
import { levelBaseGfn, spteIndex, type LeafRef } from './tdp-iter.js';
import { isObsoleteRoot, rootTable, rootsInUse, tdpMmuClearFrozenSpte, tdpMmuFreezeSpte, tdpMmuSetSpteAtomic } from './tdp-mmu.js';
import { actorFlushRemoteTlbs } from './tlb.js';
import { pagesPerLevel } from './types.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/** The FLAGS_ONLY change turns dirty logging off. */
export function disablesDirtyLogging(a: KvmActor): boolean {
  const m = a.memslot;
  return m.change === 'flags_only' && (m.flags & KVM_MEM_LOG_DIRTY_PAGES) === 0 && (m.old.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0;
}

/**
 * kvm_mmu_max_mapping_level(kvm, slot, gfn) ≥ `level` for the huge page at `base`: inside
 * the slot, aligned with its hva, no mixed attributes, and the host maps it at least that
 * large (host_pfn_mapping_level(): a page not faulted in on the host is 4K).
 */
export function hugeRecoverable(vm: Vm, slot: SlotInfo, base: number, level: number): boolean {
  const pages = pagesPerLevel(level);
  if (base < slot.baseGfn || base + pages > slot.baseGfn + slot.npages) return false;
  if (!slotLevelAligned(slot, level, false) || hugepageMixed(vm, base, level)) return false;
  // The host maps a huge backing block as a whole (host.ts), so its first and last page tell.
  const h = slot.hvaBase + (base - slot.baseGfn);
  return hostMappedLevel(vm, h) >= level && hostMappedLevel(vm, h + pages - 1) >= level;
}

function hostMappedLevel(vm: Vm, h: number): number {
  return hvaPfn(vm, h) === 0 ? 1 : hvaBackingLevel(vm, h);
}

/**
 * The next present non-leaf SPTE at level 2 or 3 at or after `cursor` and before `end`
 * that can be mapped huge, in pre-order (a 1G candidate before its 2M children).
 */
export function tdpNextCollapsible(vm: Vm, slot: SlotInfo, table0: number, cursor: number, end: number, out: LeafRef): boolean {
  let gfn = cursor;
  walk: while (gfn < end) {
    let table = table0;
    for (let level: number = vm.rootLevel; level >= 2; level--) {
      const w = spteWord(vm.layout, table, spteIndex(gfn, level));
      const lo = S.load(vm.i32, w);
      const hi = S.load(vm.i32, w + 1);
      const base = levelBaseGfn(gfn, level);
      const nonLeaf = isShadowPresent(lo) && !isFrozen(lo, hi) && !isLast(lo, level);
      if (nonLeaf && level <= KVM_MAX_HUGEPAGE_LEVEL && base >= gfn && hugeRecoverable(vm, slot, base, level)) {
        out.sptep = w; out.level = level; out.table = table; out.lo = lo; out.hi = hi; out.baseGfn = base;
        return true;
      }
      // Nothing below the 2M level is a candidate: a 2M table that is not one is passed over.
      if (!nonLeaf || level === 2) {
        gfn = base + pagesPerLevel(level);
        continue walk;
      }
      table = spteChildTable(lo);
    }
  }
  return false;
}

/** kvm_tdp_mmu_recover_huge_pages() / _zap_collapsible_sptes(): the cursor over every valid root. */
export function recoverStart(a: KvmActor): void {
  const c = a.cursor;
  const s = a.memslot.next;
  a.inval.flush = false;
  c.roots = rootsInUse(a.vm).filter((r) => !isObsoleteRoot(a.vm, r));
  c.rootIdx = 0;
  c.ranges = [s.baseGfn, s.baseGfn + s.npages];
  c.gfn = s.baseGfn;
  findNextCollapsible(a);
}

function findNextCollapsible(a: KvmActor): void {
  const c = a.cursor;
  c.pending = false;
  while (c.rootIdx < c.roots.length) {
    if (tdpNextCollapsible(a.vm, a.memslot.next, rootTable(a.vm, c.roots[c.rootIdx]!), c.gfn, c.ranges[1]!, c.leaf)) {
      c.pending = true;
      return;
    }
    c.rootIdx++;
    c.gfn = c.ranges[0]!;
  }
}

/**
 * tdp_mmu_make_huge_spte(): the first present leaf under `table` (whose SPTEs are at
 * `childLevel` and start at gfn `tableBase`), as a huge SPTE for the huge page at
 * `hugeBase`: its bits with PS set and its pfn moved back by its offset in the huge page.
 * Null when the table holds no present leaf (-ENOENT).
 */
export function makeHugeSpte(vm: Vm, table: number, childLevel: number, tableBase: number, hugeBase: number): [number, number] | null {
  for (let i = 0; i < SPTES_PER_TABLE; i++) {
    const w = spteWord(vm.layout, table, i);
    const lo = S.load(vm.i32, w);
    const hi = S.load(vm.i32, w + 1);
    if (!isShadowPresent(lo) || isFrozen(lo, hi)) continue;
    const gfn = tableBase + i * pagesPerLevel(childLevel);
    if (!isLast(lo, childLevel)) {
      const deeper = makeHugeSpte(vm, spteChildTable(lo), childLevel - 1, gfn, hugeBase);
      if (deeper !== null) return deeper;
      continue;
    }
    const pfn = sptePfn(lo, hi) - (gfn - hugeBase);
    return [(lo & SPTE_LO_FLAGS_MASK) | pfnLo(pfn) | SPTE_PS, (hi & ~SPTE_HI_PFN_MASK) | pfnHi(pfn)];
  }
  return null;
}

/**
 * Until 6.12 a candidate is zapped by tdp_mmu_zap_spte_atomic() in two model steps: the
 * freeze here, then the flush and the clear (recoverFlushFrozen), so a vCPU can meet the
 * FROZEN SPTE in between, as in the kernel.
 */
export function recoverZaps(a: KvmActor): boolean {
  return a.cursor.pending && !a.vm.kernel.switches.recoverHugePagesInPlace;
}

/** Freeze the candidate (a lost CAS leaves `frozen` false; the advance re-reads it). */
export function recoverFreeze(a: KvmActor): void {
  const l = a.cursor.leaf;
  a.cursor.frozen = tdpMmuFreezeSpte(a, l.sptep, l.lo, l.hi);
  if (!a.cursor.frozen) a.stats.casFailures++;
}

/** kvm_flush_remote_tlbs_gfn() for the frozen SPTE's range, then the clear; the cursor moves on. */
export function recoverFlushFrozen(a: KvmActor): void {
  const c = a.cursor;
  if (c.frozen) {
    actorFlushRemoteTlbs(a);
    tdpMmuClearFrozenSpte(a, c.leaf.sptep, c.leaf.level, c.leaf.baseGfn, c.leaf.lo, c.leaf.hi);
    c.frozen = false;
    a.stats.zaps++;
  }
  recoverAdvance(a);
}

/** From 6.13: the candidate replaced in place by a huge SPTE (tdp_mmu_set_spte_atomic); a lost CAS is retried. */
export function recoverHugeSpte(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  const l = c.leaf;
  const huge = makeHugeSpte(a.vm, spteChildTable(l.lo), l.level - 1, l.baseGfn, l.baseGfn);
  if (huge === null) return;
  if (tdpMmuSetSpteAtomic(a, l.sptep, l.level, l.baseGfn, l.lo, l.hi, huge[0], huge[1])) a.inval.flush = true;
  else a.stats.casFailures++;
}

/**
 * The next candidate: past this one when it was recovered, zapped or skipped, or when a
 * racing change left a leaf or nothing there; the same SPTE again (re-read, the kernel's
 * `goto retry`) when a lost CAS left another table.
 */
export function recoverAdvance(a: KvmActor): void {
  const c = a.cursor;
  if (!c.pending) return;
  const l = c.leaf;
  const lo = S.load(a.vm.i32, l.sptep);
  const hi = S.load(a.vm.i32, l.sptep + 1);
  const anotherTable = (lo !== l.lo || hi !== l.hi) && isShadowPresent(lo) && !isFrozen(lo, hi) && !isLast(lo, l.level);
  c.gfn = anotherTable ? l.baseGfn : l.baseGfn + pagesPerLevel(l.level);
  findNextCollapsible(a);
}
