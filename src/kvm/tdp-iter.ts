/**
 * tdp_iter (arch/x86/kvm/mmu/tdp_iter.c): walking the TDP tables. Walking never writes.
 *
 * `TdpIter` is the fault's iterator, advanced one level per step: an explicit fixed-size
 * path (no recursion), the SPTE it points at (`sptep`, a word index) and the value it read
 * (`oldLo`/`oldHi`, as `iter->old_spte`). The value is read in two 32-bit halves; every
 * decision that leads to a write is validated by the 64-bit CAS.
 *
 * `tdpFindLeaf` and `tdpNextLeaf` are the one-shot walks used by hardware (the guest's
 * access) and by range operations (zap, write-protect) that resume from a gfn cursor.
 */

import { SPTES_PER_TABLE, TDP_MAX_ROOT_LEVEL } from './limits.js';
import { spteWord } from './layout.js';
import { isFrozen, isLast, isShadowPresent, spteChildTable } from './spte.js';
import { pagesPerLevel } from './types.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/**
 * SPTE index within its table for `gfn` at `level` (SPTE_INDEX()). Levels 1-3 take bits
 * below 27, which `>>>` keeps for any gfn; levels 4 and 5 take bits 27-44, above what a
 * 32-bit shift sees, so they divide (exact: a power of two, gfn < 2^53; `&` truncates).
 */
export function spteIndex(gfn: number, level: number): number {
  if (level < 4) return (gfn >>> (9 * (level - 1))) & (SPTES_PER_TABLE - 1);
  return (gfn / pagesPerLevel(level)) & (SPTES_PER_TABLE - 1);
}

/** First gfn mapped by the level-`level` SPTE covering `gfn`. */
export function levelBaseGfn(gfn: number, level: number): number {
  return gfn - (gfn % pagesPerLevel(level));
}

export class TdpIter {
  /** The root slot walked (the `root` kvm_tdp_mmu_map() takes once per fault; -1 if none). */
  rootSlot = -1;
  rootTable = 0;
  gfn = 0;
  level = TDP_MAX_ROOT_LEVEL;
  table = 0;
  sptep = 0;
  oldLo = 0;
  oldHi = 0;
  /** path[level] = table read at that level. */
  readonly path = new Int32Array(TDP_MAX_ROOT_LEVEL + 1);
}

function readSpte(vm: Vm, iter: TdpIter): void {
  iter.oldLo = S.load(vm.i32, iter.sptep);
  iter.oldHi = S.load(vm.i32, iter.sptep + 1);
}

/** tdp_iter_start(): position at the root-level SPTE for `gfn` and read it. */
export function tdpIterStart(vm: Vm, iter: TdpIter, rootTable: number, gfn: number): void {
  iter.rootTable = rootTable;
  iter.gfn = gfn;
  const level = vm.rootLevel;
  iter.level = level;
  iter.table = rootTable;
  iter.path[level] = rootTable;
  iter.sptep = spteWord(vm.layout, rootTable, spteIndex(gfn, level));
  readSpte(vm, iter);
}

/** try_step_down(): follow the non-leaf SPTE just read into its child and read the next SPTE. */
export function tdpIterStepDown(vm: Vm, iter: TdpIter): void {
  tdpIterStepDownTo(vm, iter, spteChildTable(iter.oldLo));
}

/** tdpIterStepDown() for a caller that has already taken `child` = spte_to_child_pt(iter->old_spte). */
export function tdpIterStepDownTo(vm: Vm, iter: TdpIter, child: number): void {
  iter.level -= 1;
  iter.table = child;
  iter.path[iter.level] = child;
  iter.sptep = spteWord(vm.layout, child, spteIndex(iter.gfn, iter.level));
  readSpte(vm, iter);
}

/** Step into a table this actor just linked: its SPTEs are known (no read needed). */
export function tdpIterStepIntoKnown(vm: Vm, iter: TdpIter, child: number, lo: number, hi: number): void {
  iter.level -= 1;
  iter.table = child;
  iter.path[iter.level] = child;
  iter.sptep = spteWord(vm.layout, child, spteIndex(iter.gfn, iter.level));
  iter.oldLo = lo;
  iter.oldHi = hi;
}

/** A leaf found by a one-shot walk. */
export interface LeafRef {
  sptep: number;
  level: number;
  table: number;
  lo: number;
  hi: number;
  /** First gfn the SPTE maps. */
  baseGfn: number;
}

/** A zeroed LeafRef, for the one each actor reuses. */
export function newLeafRef(): LeafRef {
  return { sptep: 0, level: 1, table: 0, lo: 0, hi: 0, baseGfn: 0 };
}

/**
 * Hardware-style walk to the SPTE mapping `gfn`: returns the last SPTE reached (a present
 * leaf, or the first non-present / frozen / MMIO one) with its level. `out.lo` tells which.
 */
export function tdpFindLeaf(vm: Vm, rootTable: number, gfn: number, out: LeafRef): LeafRef {
  let table = rootTable;
  for (let level: number = vm.rootLevel; level >= 1; level--) {
    const w = spteWord(vm.layout, table, spteIndex(gfn, level));
    const lo = S.load(vm.i32, w);
    const hi = S.load(vm.i32, w + 1);
    if (!isShadowPresent(lo) || isFrozen(lo, hi) || isLast(lo, level)) {
      out.sptep = w; out.level = level; out.table = table; out.lo = lo; out.hi = hi; out.baseGfn = levelBaseGfn(gfn, level);
      return out;
    }
    table = spteChildTable(lo);
  }
  throw new Error('unreachable: a level-1 SPTE is always last');
}

/**
 * The next present leaf SPTE at or after gfn `cursor` and before `end` (skipping whole
 * non-present subtrees), as for_each_tdp_pte_min_level with a leaf filter. Returns false
 * when there is none.
 */
export function tdpNextLeaf(vm: Vm, rootTable: number, cursor: number, end: number, out: LeafRef): boolean {
  let gfn = cursor;
  walk: while (gfn < end) {
    let table = rootTable;
    for (let level: number = vm.rootLevel; level >= 1; level--) {
      const w = spteWord(vm.layout, table, spteIndex(gfn, level));
      const lo = S.load(vm.i32, w);
      const hi = S.load(vm.i32, w + 1);
      if (!isShadowPresent(lo)) {
        gfn = levelBaseGfn(gfn, level) + pagesPerLevel(level);
        continue walk;
      }
      if (isLast(lo, level)) {
        out.sptep = w; out.level = level; out.table = table; out.lo = lo; out.hi = hi; out.baseGfn = levelBaseGfn(gfn, level);
        return true;
      }
      table = spteChildTable(lo);
    }
  }
  return false;
}
