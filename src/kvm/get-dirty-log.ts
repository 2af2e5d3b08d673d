/**
 * KVM_GET_DIRTY_LOG (kvm_get_dirty_log_protect, no manual protect): the data plane of
 * machines/dirty-log.machine.ts. Each dirty bit is taken and its SPTE write-protected
 * under the mmu_lock write lock; one remote flush before returning.
 */

import type { KvmActor } from './actor.js';
import { kvmSlotDirtyTrackEnabled, nextDirtyGfn, setDirtyLogInProgress, takePageDirty } from './dirty-bitmap.js';
import { idToMemslot, memslotsActiveSet } from './memslots.js';
import type { ClearDirtyLogOp, GetDirtyLogOp } from './ops.js';
import { G } from './layout.js';
import { SPTE_W, isLast, isShadowPresent } from './spte.js';
import { tdpFindLeaf } from './tdp-iter.js';
import { isObsoleteRoot, rootTable, rootsInUse, tdpMmuSetSpteLocked, wrprotLo } from './tdp-mmu.js';
import { actorFlushRemoteTlbs } from './tlb.js';
import * as S from './shm.js';

export function beginGetDirtyLogOp(a: KvmActor, op: GetDirtyLogOp | ClearDirtyLogOp): void {
  const d = a.dirty;
  d.clear = op.op === 'clear_dirty_log';
  d.firstPage = op.op === 'clear_dirty_log' ? op.firstPage : 0n;
  d.numPages = op.op === 'clear_dirty_log' ? op.numPages : 0n;
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

/**
 * kvm_clear_dirty_log_protect() argument checks: first_page 64-aligned, the range inside
 * the slot, num_pages a multiple of 64 unless it reaches the slot's end — else EINVAL.
 */
export function invalidClearRange(a: KvmActor): boolean {
  const d = a.dirty;
  if (!d.clear) return false;
  const npages = BigInt(d.info.npages);
  if ((d.firstPage & 63n) !== 0n || d.firstPage > npages || d.numPages > npages - d.firstPage) return true;
  return d.numPages < npages - d.firstPage && (d.numPages & 63n) !== 0n;
}

/** Manual protect: KVM_GET_DIRTY_LOG copies the bitmap and leaves bits and SPTEs alone. */
export function isManualGet(a: KvmActor): boolean {
  return !a.dirty.clear && S.load(a.vm.i32, G.MANUAL_DIRTY_LOG_PROTECT) !== 0;
}

/** The copy_to_user of the bitmap (manual protect): every set bit, nothing cleared. */
export function copyDirtyBitmap(a: KvmActor): void {
  const d = a.dirty;
  const end = d.info.baseGfn + d.info.npages;
  for (let g = nextDirtyGfn(a.vm, d.info, d.info.baseGfn); g >= 0 && g < end; g = nextDirtyGfn(a.vm, d.info, g + 1)) d.dirty.push(g);
}

/** Start the take-and-protect loop over the whole slot (GET) or the named range (CLEAR). */
export function beginGetDirtyLog(a: KvmActor): void {
  const d = a.dirty;
  d.start = d.info.baseGfn + (d.clear ? Number(d.firstPage) : 0);
  d.end = d.clear ? d.start + Number(d.numPages) : d.info.baseGfn + d.info.npages;
  setDirtyLogInProgress(a.vm, d.slot, true);
  d.current = nextInRange(a, d.start);
}

function nextInRange(a: KvmActor, from: number): number {
  const g = nextDirtyGfn(a.vm, a.dirty.info, from);
  return g >= 0 && g < a.dirty.end ? g : -1;
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
  if (d.current >= 0) d.current = nextInRange(a, d.current + 1);
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
  actorFlushRemoteTlbs(a);
}

export function endGetDirtyLog(a: KvmActor): void {
  setDirtyLogInProgress(a.vm, a.dirty.slot, false);
}
