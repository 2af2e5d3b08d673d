/**
 * Memslots (include/linux/kvm_host.h struct kvm_memory_slot, virt/kvm/kvm_main.c): two
 * sets, the active one read by faults under kvm->srcu, the inactive one edited by the
 * updater (under slots_lock) and swapped in; a generation whose update-in-progress flag
 * (bit 63 in the kernel) is set around every swap and which is stored in MMIO SPTEs.
 *
 * Readers copy a slot record into a SlotInfo (no allocation on the fault path). Records
 * of a set are packed: indices [0, count).
 */

import { gfnHi, gfnJoin, gfnLo } from './address-space.js';
import { MEMSLOTS_MAX, SPTES_PER_TABLE } from './limits.js';
import { G, SET_HEADER_WORDS, SLOT, SLOT_WORDS, slotWord } from './layout.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/** uAPI memslot flags (include/uapi/linux/kvm.h) and the internal INVALID flag. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;
export const KVM_MEM_GUEST_MEMFD = 1 << 2;
export const KVM_MEMSLOT_INVALID = 1 << 16;

export const MEMSLOT_FLAG_NAMES: Readonly<Record<string, number>> = {
  log_dirty_pages: KVM_MEM_LOG_DIRTY_PAGES,
  readonly: KVM_MEM_READONLY,
  guest_memfd: KVM_MEM_GUEST_MEMFD,
};

export class SlotInfo {
  index = -1;
  id = -1;
  flags = 0;
  baseGfn = 0;
  npages = 0;
  hvaBase = 0;
  gmemBase = 0;
  dirtyBase = 0;

  copyFrom(o: SlotInfo): this {
    this.index = o.index; this.id = o.id; this.flags = o.flags; this.baseGfn = o.baseGfn;
    this.npages = o.npages; this.hvaBase = o.hvaBase; this.gmemBase = o.gmemBase; this.dirtyBase = o.dirtyBase;
    return this;
  }

  clear(): void {
    this.index = -1;
    this.id = -1;
  }

  get valid(): boolean {
    return this.index >= 0;
  }

  /** A slot being deleted or moved (KVM_MEMSLOT_INVALID): its SPTEs are not yet zapped. */
  get invalid(): boolean {
    return this.index >= 0 && (this.flags & KVM_MEMSLOT_INVALID) !== 0;
  }

  contains(gfn: number): boolean {
    return gfn >= this.baseGfn && gfn < this.baseGfn + this.npages;
  }
}

const setBase = (vm: Vm, set: number): number => vm.layout.memslotsBase + set * (SET_HEADER_WORDS + MEMSLOTS_MAX * SLOT_WORDS);

export function memslotsActiveSet(vm: Vm): number {
  return S.load(vm.i32, G.MEMSLOTS_ACTIVE);
}

export function memslotsCount(vm: Vm, set: number): number {
  return S.load(vm.i32, setBase(vm, set));
}

export function readSlot(vm: Vm, set: number, i: number, out: SlotInfo): SlotInfo {
  // Plain reads: a set is only read after the Atomics load of MEMSLOTS_ACTIVE that
  // published it, and is not written while readers may use it (SRCU).
  const i32 = vm.i32;
  const w = slotWord(vm.layout, set, i, 0);
  out.index = i;
  out.id = S.get(i32, w + SLOT.ID);
  out.flags = S.get(i32, w + SLOT.FLAGS);
  out.baseGfn = gfnJoin(S.get(i32, w + SLOT.BASE_GFN), S.get(i32, w + SLOT.BASE_GFN_HI));
  out.npages = S.get(i32, w + SLOT.NPAGES);
  out.hvaBase = S.get(i32, w + SLOT.HVA_BASE);
  out.gmemBase = S.get(i32, w + SLOT.GMEM_BASE);
  out.dirtyBase = S.get(i32, w + SLOT.DIRTY_BASE);
  return out;
}

/** __gfn_to_memslot() on a set: the slot containing `gfn`, copied into `out`; false if none. */
export function gfnToMemslot(vm: Vm, set: number, gfn: number, out: SlotInfo): boolean {
  const n = memslotsCount(vm, set);
  const i32 = vm.i32;
  let w = slotWord(vm.layout, set, 0, 0);
  for (let i = 0; i < n; i++, w += SLOT_WORDS) {
    const base = gfnJoin(S.get(i32, w + SLOT.BASE_GFN), S.get(i32, w + SLOT.BASE_GFN_HI));
    if (gfn >= base && gfn - base < S.get(i32, w + SLOT.NPAGES)) {
      readSlot(vm, set, i, out);
      return true;
    }
  }
  out.clear();
  return false;
}

/** id_to_memslot() on a set. */
export function idToMemslot(vm: Vm, set: number, id: number, out: SlotInfo): boolean {
  const n = memslotsCount(vm, set);
  for (let i = 0; i < n; i++) {
    if (S.load(vm.i32, slotWord(vm.layout, set, i, SLOT.ID)) === id) {
      readSlot(vm, set, i, out);
      return true;
    }
  }
  out.clear();
  return false;
}

function writeSlot(vm: Vm, set: number, i: number, s: SlotInfo): void {
  const i32 = vm.i32;
  S.store(i32, slotWord(vm.layout, set, i, SLOT.USED), 1);
  S.store(i32, slotWord(vm.layout, set, i, SLOT.ID), s.id);
  S.store(i32, slotWord(vm.layout, set, i, SLOT.FLAGS), s.flags);
  S.store(i32, slotWord(vm.layout, set, i, SLOT.BASE_GFN), gfnLo(s.baseGfn));
  S.store(i32, slotWord(vm.layout, set, i, SLOT.BASE_GFN_HI), gfnHi(s.baseGfn));
  S.store(i32, slotWord(vm.layout, set, i, SLOT.NPAGES), s.npages);
  S.store(i32, slotWord(vm.layout, set, i, SLOT.HVA_BASE), s.hvaBase);
  S.store(i32, slotWord(vm.layout, set, i, SLOT.GMEM_BASE), s.gmemBase);
  S.store(i32, slotWord(vm.layout, set, i, SLOT.DIRTY_BASE), s.dirtyBase);
}

/** kvm_replace_memslot() on the inactive set: put `s` in place of slot `s.id` (insert if absent). */
export function memslotReplace(vm: Vm, set: number, s: SlotInfo): void {
  const n = memslotsCount(vm, set);
  let i = 0;
  while (i < n && S.load(vm.i32, slotWord(vm.layout, set, i, SLOT.ID)) !== s.id) i++;
  if (i === n) {
    if (n >= MEMSLOTS_MAX) throw new RangeError(`more than ${MEMSLOTS_MAX} memslots`);
    S.store(vm.i32, setBase(vm, set), n + 1);
  }
  writeSlot(vm, set, i, s);
}

/** Removes slot `id` from a set (packing the records). */
export function memslotRemove(vm: Vm, set: number, id: number): void {
  const n = memslotsCount(vm, set);
  const tmp = new SlotInfo();
  for (let i = 0; i < n; i++) {
    if (S.load(vm.i32, slotWord(vm.layout, set, i, SLOT.ID)) !== id) continue;
    if (i !== n - 1) writeSlot(vm, set, i, readSlot(vm, set, n - 1, tmp));
    S.store(vm.i32, slotWord(vm.layout, set, n - 1, SLOT.USED), 0);
    S.store(vm.i32, setBase(vm, set), n - 1);
    return;
  }
}

/** Copies every record of `from` over `to` (kvm_activate_memslot bringing the old set up to date). */
export function memslotsCopySet(vm: Vm, from: number, to: number): void {
  const words = SET_HEADER_WORDS + MEMSLOTS_MAX * SLOT_WORDS;
  const a = setBase(vm, from);
  const b = setBase(vm, to);
  for (let k = 0; k < words; k++) S.store(vm.i32, b + k, S.load(vm.i32, a + k));
}

/** The memslot generation (without the in-progress flag) and the flag. */
export function memslotsGeneration(vm: Vm): number {
  return S.load(vm.i32, G.MEMSLOTS_GEN);
}

export function memslotsUpdateInProgress(vm: Vm): boolean {
  return S.load(vm.i32, G.MEMSLOTS_GEN_UPDATE_IN_PROGRESS) !== 0;
}

/** Every slot of the active set (for checkers and reports). */
export function activeSlots(vm: Vm): SlotInfo[] {
  const set = memslotsActiveSet(vm);
  const n = memslotsCount(vm, set);
  const out: SlotInfo[] = [];
  for (let i = 0; i < n; i++) out.push(readSlot(vm, set, i, new SlotInfo()));
  return out;
}

/**
 * The alignment rule of kvm_mmu_hugepage_adjust()/lpage_info: a `level` mapping needs the
 * gfn and the backing offset (hva, or guest_memfd offset for private) to agree modulo it.
 */
export function slotLevelAligned(s: SlotInfo, level: number, isPrivate: boolean): boolean {
  const pages = level === 2 ? SPTES_PER_TABLE : SPTES_PER_TABLE * SPTES_PER_TABLE;
  const other = isPrivate ? s.gmemBase : s.hvaBase;
  return ((s.baseGfn - other) % pages + pages) % pages === 0;
}

