/**
 * KVM_GET_DIRTY_LOG (kvm_get_dirty_log_protect, no manual protect): the data plane of
 * machines/dirty-log.machine.ts. Each dirty bit is taken and its SPTE write-protected
 * under the mmu_lock write lock; one remote flush before returning.
 */

import type { KvmActor } from './actor.js';
import { kvmSlotDirtyTrackEnabled, nextDirtyGfn, setDirtyLogInProgress, takePageDirty } from './dirty-log.js';
import { idToMemslot, memslotsActiveSet } from './memslots.js';
import type { GetDirtyLogOp } from './ops.js';
import { SPTE_W, isLast, isShadowPresent } from './spte.js';
import { tdpFindLeaf } from './tdp-iter.js';
import { isObsoleteRoot, rootTable, rootsInUse, tdpMmuSetSpteLocked, wrprotLo } from './tdp-mmu.js';
import { kvmFlushRemoteTlbs } from './tlb.js';

export function beginGetDirtyLogOp(a: KvmActor, op: GetDirtyLogOp): void {
  const d = a.dirty;
  d.slot = op.slot;
  d.info.clear();
  d.dirty = [];
  d.flush = false;
  d.errno = null;
}

/** -ENOENT: no such slot, or it has no dirty bitmap. */
export function slotNotLogging(a: KvmActor): boolean {
  const d = a.dirty;
  if (!idToMemslot(a.vm, memslotsActiveSet(a.vm), d.slot, d.info)) return true;
  return !kvmSlotDirtyTrackEnabled(d.info);
}

export function beginGetDirtyLog(a: KvmActor): void {
  setDirtyLogInProgress(a.vm, a.dirty.slot, true);
  a.dirty.current = nextDirtyGfn(a.vm, a.dirty.info, a.dirty.info.baseGfn);
}

export function bitmapDone(a: KvmActor): boolean {
  return a.dirty.current < 0;
}

/** xchg the current dirty bit into the returned log. */
export function takeDirtyGfn(a: KvmActor): void {
  const d = a.dirty;
  if (d.current >= 0 && takePageDirty(a.vm, d.info, d.current)) d.dirty.push(d.current);
}

/** On to the next set bit. */
export function dirtyAdvance(a: KvmActor): void {
  const d = a.dirty;
  if (d.current >= 0) d.current = nextDirtyGfn(a.vm, d.info, d.current + 1);
}

/** kvm_arch_mmu_enable_log_dirty_pt_masked(): write-protect the gfn just taken, in every valid root. */
export function wrprotDirtyGfn(a: KvmActor): void {
  const d = a.dirty;
  const g = d.current;
  if (g < 0 || d.dirty[d.dirty.length - 1] !== g) return;
  for (const slot of rootsInUse(a.vm)) {
    if (isObsoleteRoot(a.vm, slot)) continue;
    const l = tdpFindLeaf(a.vm, rootTable(a.vm, slot), g, a.leaf);
    if (!isShadowPresent(l.lo) || !isLast(l.lo, l.level) || (l.lo & SPTE_W) === 0) continue;
    tdpMmuSetSpteLocked(a, l.sptep, l.level, l.baseGfn, wrprotLo(l.lo), l.hi);
    d.flush = true;
  }
}

export function dirtyFlushPending(a: KvmActor): boolean {
  return a.dirty.flush;
}

export function dirtyFlushRemoteTlbs(a: KvmActor): void {
  a.dirty.flush = false;
  a.stats.flushes++;
  kvmFlushRemoteTlbs(a.vm);
}

export function endGetDirtyLog(a: KvmActor): void {
  setDirtyLogInProgress(a.vm, a.dirty.slot, false);
}
