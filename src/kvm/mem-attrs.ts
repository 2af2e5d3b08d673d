/**
 * Memory attributes (KVM_SET_MEMORY_ATTRIBUTES; kvm->mem_attr_array) and the per-hugepage
 * "mixed" flags of lpage_info (KVM_LPAGE_MIXED_FLAG) that kvm_mmu_hugepage_adjust() reads.
 *
 * Storage is sparse like the kernel's xarray: a top-level table of 1-GiB chunks, each
 * allocated on first store (only the vmm stores, under slots_lock). A chunk holds one byte
 * per gfn, then one mixed byte per 2M region and one for the 1G region. The mixed flags are
 * recomputed only in the post-set step (kvm_arch_post_set_memory_attributes), so between
 * the store and the post-set they are stale — the window of R14.
 */

import { ATTR_CHUNK_GFNS } from './limits.js';
import { ATTR_CHUNK_BYTES, ATTR_TOP_ENTRIES, G } from './layout.js';
import { bumpStateEpoch, type Vm } from './vm.js';
import * as S from './shm.js';

/** KVM_MEMORY_ATTRIBUTE_PRIVATE */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;

const CHUNK_SHIFT = 18;
const MIXED_2M = ATTR_CHUNK_GFNS;
/** Gfns per 2M region, and its shift. */
const PAGES_2M = 512;
const PAGES_2M_SHIFT = 9;
/** 2M regions per chunk (one mixed byte each). */
const REGIONS_2M_PER_CHUNK = ATTR_CHUNK_GFNS / PAGES_2M;
const MIXED_1G = ATTR_CHUNK_GFNS + REGIONS_2M_PER_CHUNK;

function chunkOf(vm: Vm, gfn: number): number {
  const top = Math.floor(gfn / ATTR_CHUNK_GFNS);
  if (top >= ATTR_TOP_ENTRIES) return 0;
  return S.load(vm.i32, vm.layout.attrTopBase + top);
}

function chunkByte(vm: Vm, chunk: number, off: number): number {
  return vm.layout.attrChunksByte + (chunk - 1) * ATTR_CHUNK_BYTES + off;
}

/** kvm_get_memory_attributes() */
export function kvmGetMemoryAttributes(vm: Vm, gfn: number): number {
  const c = chunkOf(vm, gfn);
  return c === 0 ? 0 : S.load8(vm.u8, chunkByte(vm, c, gfn & (ATTR_CHUNK_GFNS - 1)));
}

/** kvm_mem_is_private() */
export function kvmMemIsPrivate(vm: Vm, gfn: number): boolean {
  return vm.hasPrivateMem && (kvmGetMemoryAttributes(vm, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
}

/** kvm_range_has_memory_attributes(): every gfn of [start, end) has exactly `attrs`. */
export function kvmRangeHasMemoryAttributes(vm: Vm, start: number, end: number, attrs: number): boolean {
  for (let g = start; g < end; g++) {
    const c = chunkOf(vm, g);
    if (c === 0) {
      if (attrs !== 0) return false;
      g = (Math.floor(g / ATTR_CHUNK_GFNS) + 1) * ATTR_CHUNK_GFNS - 1;
      continue;
    }
    if (S.load8(vm.u8, chunkByte(vm, c, g & (ATTR_CHUNK_GFNS - 1))) !== attrs) return false;
  }
  return true;
}

function ensureChunk(vm: Vm, gfn: number): number {
  const top = Math.floor(gfn / ATTR_CHUNK_GFNS);
  if (top >= ATTR_TOP_ENTRIES) throw new RangeError('gfn above the guest physical address width');
  const w = vm.layout.attrTopBase + top;
  const c = S.load(vm.i32, w);
  if (c !== 0) return c;
  const n = S.add(vm.i32, G.ATTR_CHUNK_BUMP, 1) + 1;
  if (n > vm.layout.config.attrChunks) throw new RangeError('memory-attribute chunks exhausted (attributes set over more guest memory than the VM was laid out for)');
  S.store(vm.i32, w, n);
  return n;
}

/** xa_store() of `attrs` for every gfn of [start, end). */
export function kvmStoreMemoryAttributes(vm: Vm, start: number, end: number, attrs: number): void {
  for (let g = start; g < end; g++) {
    let c = chunkOf(vm, g);
    if (c === 0) {
      if (attrs === 0) { g = (Math.floor(g / ATTR_CHUNK_GFNS) + 1) * ATTR_CHUNK_GFNS - 1; continue; }
      c = ensureChunk(vm, g);
    }
    S.store8(vm.u8, chunkByte(vm, c, g & (ATTR_CHUNK_GFNS - 1)), attrs);
  }
  bumpStateEpoch(vm);
}

/** The lpage_info mixed flag of the `level` (2 or 3) region containing `gfn`. */
export function hugepageMixed(vm: Vm, gfn: number, level: number): boolean {
  const c = chunkOf(vm, gfn);
  if (c === 0) return false;
  const off = level === 2 ? MIXED_2M + ((gfn >>> PAGES_2M_SHIFT) & (REGIONS_2M_PER_CHUNK - 1)) : MIXED_1G;
  return S.load8(vm.u8, chunkByte(vm, c, off)) !== 0;
}

/**
 * kvm_arch_post_set_memory_attributes(): recompute the mixed flags of every 2M region and
 * 1G region overlapping [start, end).
 */
export function kvmUpdateHugepageMixed(vm: Vm, start: number, end: number): void {
  for (let r = start - (start % PAGES_2M); r < end; r += PAGES_2M) {
    const c = chunkOf(vm, r);
    if (c === 0) continue;
    const first = S.load8(vm.u8, chunkByte(vm, c, r & (ATTR_CHUNK_GFNS - 1)));
    const mixed = kvmRangeHasMemoryAttributes(vm, r, r + PAGES_2M, first) ? 0 : 1;
    S.store8(vm.u8, chunkByte(vm, c, MIXED_2M + ((r >>> PAGES_2M_SHIFT) & (REGIONS_2M_PER_CHUNK - 1))), mixed);
  }
  for (let r = start - (start % ATTR_CHUNK_GFNS); r < end; r += ATTR_CHUNK_GFNS) {
    const c = chunkOf(vm, r);
    if (c === 0) continue;
    const first = S.load8(vm.u8, chunkByte(vm, c, 0));
    const mixed = kvmRangeHasMemoryAttributes(vm, r, r + ATTR_CHUNK_GFNS, first) ? 0 : 1;
    S.store8(vm.u8, chunkByte(vm, c, MIXED_1G), mixed);
  }
  bumpStateEpoch(vm);
}

export { CHUNK_SHIFT as ATTR_CHUNK_SHIFT };
