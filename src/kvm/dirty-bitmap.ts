/**
 * The dirty bitmap (the ioctls that read it are get-dirty-log.ts): the per-memslot bitmap (kvm_memory_slot.dirty_bitmap),
 * mark_page_dirty_in_slot() when a writable SPTE is created (make_spte) or made writable
 * by fast_page_fault, and the take-and-clear of KVM_GET_DIRTY_LOG. Bitmaps are carved
 * from a pool once per slot that enables logging (bounded by the layout).
 *
 * Each slot id has a GET_DIRTY_LOG-in-progress word: a guest write through a writable
 * translation whose bit is clear while no get is in progress is a lost dirty page.
 */

import { gfnHi, gfnJoin, gfnLo } from './address-space.js';
import { ACTOR, G, actorWord } from './layout.js';
import { KVM_MEM_LOG_DIRTY_PAGES, type SlotInfo } from './memslots.js';
import { bumpStateEpoch, type Vm } from './vm.js';
import * as S from './shm.js';

export function kvmSlotDirtyTrackEnabled(s: SlotInfo): boolean {
  return (s.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0;
}

/**
 * A zeroed bitmap for `npages`: the slot's own one again when it had one (dirty logging
 * re-enabled, `reuseBase` ≠ 0), else a new one. Returns its first bit index (DIRTY_BASE);
 * 0 means "no bitmap" (word 0 of the pool is never handed out).
 */
export function dirtyBitmapAlloc(vm: Vm, npages: number, reuseBase = 0): number {
  const words = Math.ceil(npages / 32) + 1;
  if (reuseBase !== 0) {
    const w0 = reuseBase >>> 5;
    for (let w = 0; w < words; w++) S.store(vm.i32, vm.layout.dirtyBase + w0 + w, 0);
    return reuseBase;
  }
  const base = S.add(vm.i32, G.DIRTY_BUMP, words);
  if (base + words > vm.layout.config.dirtyWords) throw new RangeError('dirty bitmap pool exhausted (dirty logging enabled on more memory than the VM was laid out for)');
  for (let w = 0; w < words; w++) S.store(vm.i32, vm.layout.dirtyBase + base + w, 0);
  return base * 32;
}

function bitWord(vm: Vm, s: SlotInfo, gfn: number): [number, number] {
  const bit = s.dirtyBase + (gfn - s.baseGfn);
  return [vm.layout.dirtyBase + (bit >>> 5), 1 << (bit & 31)];
}

/** mark_page_dirty_in_slot() */
export function markPageDirtyInSlot(vm: Vm, s: SlotInfo, gfn: number): void {
  if (!kvmSlotDirtyTrackEnabled(s)) return;
  const [w, m] = bitWord(vm, s, gfn);
  S.or(vm.i32, w, m);
}

export function testPageDirty(vm: Vm, s: SlotInfo, gfn: number): boolean {
  const [w, m] = bitWord(vm, s, gfn);
  return (S.load(vm.i32, w) & m) !== 0;
}

/** Clears the bit of `gfn`; returns whether it was set (the xchg of kvm_get_dirty_log_protect). */
export function takePageDirty(vm: Vm, s: SlotInfo, gfn: number): boolean {
  const [w, m] = bitWord(vm, s, gfn);
  const was = (S.and(vm.i32, w, ~m) & m) !== 0;
  if (was) bumpStateEpoch(vm);
  return was;
}

/** The next dirty gfn of the slot at or after `from`, or -1. */
export function nextDirtyGfn(vm: Vm, s: SlotInfo, from: number): number {
  for (let g = Math.max(from, s.baseGfn); g < s.baseGfn + s.npages; g++) {
    const [w, m] = bitWord(vm, s, g);
    const word = S.load(vm.i32, w);
    if (word === 0) { g += 31 - ((s.dirtyBase + g - s.baseGfn) & 31); continue; }
    if ((word & m) !== 0) return g;
  }
  return -1;
}

/** Around a writable SPTE's CAS and its mark_page_dirty_in_slot(): the mark is in flight (see ACTOR.MARKING). */
export function beginDirtyMark(vm: Vm, actor: number, gfn: number): void {
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.MARKING_HI), gfnHi(gfn + 1));
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.MARKING), gfnLo(gfn + 1));
}

export function endDirtyMark(vm: Vm, actor: number): void {
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.MARKING), 0);
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.MARKING_HI), 0);
}

/** The gfn `actor` made writable and has not marked dirty yet, or -1 (see ACTOR.MARKING). */
export function dirtyMarkOf(vm: Vm, actor: number): number {
  const lo = S.load(vm.i32, actorWord(vm.layout, actor, ACTOR.MARKING));
  const hi = S.load(vm.i32, actorWord(vm.layout, actor, ACTOR.MARKING_HI));
  return lo === 0 && hi === 0 ? -1 : gfnJoin(lo, hi) - 1;
}

/** Some actor made `gfn` writable and has not marked it dirty yet. */
export function dirtyMarkInFlight(vm: Vm, gfn: number): boolean {
  const lo = gfnLo(gfn + 1);
  const hi = gfnHi(gfn + 1);
  for (let a = 0; a < vm.layout.actors; a++) {
    if (S.load(vm.i32, actorWord(vm.layout, a, ACTOR.MARKING)) === lo && S.load(vm.i32, actorWord(vm.layout, a, ACTOR.MARKING_HI)) === hi) return true;
  }
  return false;
}

export function dirtyLogInProgress(vm: Vm, slotId: number): boolean {
  return S.load(vm.i32, vm.layout.dirtyLogInProgressBase + slotId) !== 0;
}

export function setDirtyLogInProgress(vm: Vm, slotId: number, on: boolean): void {
  S.store(vm.i32, vm.layout.dirtyLogInProgressBase + slotId, on ? 1 : 0);
  if (!on) bumpStateEpoch(vm);
}
