/**
 * Memory attributes (KVM_SET_MEMORY_ATTRIBUTES; kvm->mem_attr_array) and the per-hugepage
 * "mixed" flags of lpage_info (KVM_LPAGE_MIXED_FLAG) that kvm_mmu_hugepage_adjust() reads.
 *
 * Storage is sparse like the kernel's xarray: 1-GiB chunks, each allocated on first store
 * (only the vmm stores, under slots_lock) and found through a hash index by chunk number,
 * so a 52-bit guest physical space costs only the chunks attributes were set in. A chunk holds one byte
 * per gfn, then one mixed byte per 2M region and one for the 1G region. The mixed flags are
 * recomputed only in the post-set step (kvm_arch_post_set_memory_attributes), so between
 * the store and the post-set they are stale — the window of R14.
 */

import { ATTR_CHUNK_GFNS } from './limits.js';
import { ATTR_CHUNK_BYTES, ATTR_INDEX, ATTR_INDEX_WORDS, G } from './layout.js';
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

/** The attribute index's first probe for chunk number `top` (Fibonacci hashing). */
function indexSlot(vm: Vm, top: number): number {
  return (Math.imul(top, 0x9e3779b1) >>> 0) & (vm.layout.attrIndexEntries - 1);
}

/**
 * The chunk holding `gfn`'s attributes, 0 if none: a linear probe of the index from the
 * chunk number's hash to its key or an empty entry (the index is never full). Lock-free:
 * the vmm stores an entry's chunk before its key.
 */
function chunkOf(vm: Vm, gfn: number): number {
  const key = Math.floor(gfn / ATTR_CHUNK_GFNS) + 1;
  const mask = vm.layout.attrIndexEntries - 1;
  for (let e = indexSlot(vm, key - 1), n = 0; n <= mask; e = (e + 1) & mask, n++) {
    const w = vm.layout.attrIndexBase + e * ATTR_INDEX_WORDS;
    const k = S.load(vm.i32, w + ATTR_INDEX.KEY);
    if (k === key) return S.load(vm.i32, w + ATTR_INDEX.CHUNK);
    if (k === 0) return 0;
  }
  return 0;
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

/**
 * kvm_range_has_memory_attributes(): every gfn of [start, end) has exactly `attrs`. One
 * index probe per chunk the range crosses, then its bytes — four at a time where they
 * fill a word (a byte access counts as its whole word in a footprint: the same words).
 */
export function kvmRangeHasMemoryAttributes(vm: Vm, start: number, end: number, attrs: number): boolean {
  for (let g = start; g < end;) {
    const segEnd = Math.min(end, (Math.floor(g / ATTR_CHUNK_GFNS) + 1) * ATTR_CHUNK_GFNS);
    const c = chunkOf(vm, g);
    if (c === 0) {
      if (attrs !== 0) return false;
    } else if (!chunkBytesAre(vm, chunkByte(vm, c, g & (ATTR_CHUNK_GFNS - 1)), segEnd - g, attrs)) {
      return false;
    }
    g = segEnd;
  }
  return true;
}

/** The `n` bytes from byte `b` all equal `v`. */
function chunkBytesAre(vm: Vm, b: number, n: number, v: number): boolean {
  const end = b + n;
  let i = b;
  for (; i < end && (i & 3) !== 0; i++) if (S.load8(vm.u8, i) !== v) return false;
  const word = Math.imul(v, 0x01010101);
  for (; i + 4 <= end; i += 4) if (S.load(vm.i32, i >>> 2) !== word) return false;
  for (; i < end; i++) if (S.load8(vm.u8, i) !== v) return false;
  return true;
}

function ensureChunk(vm: Vm, gfn: number): number {
  const c = chunkOf(vm, gfn);
  if (c !== 0) return c;
  const n = S.add(vm.i32, G.ATTR_CHUNK_BUMP, 1) + 1;
  if (n > vm.layout.config.attrChunks) throw new RangeError('memory-attribute chunks exhausted (attributes set over more guest memory than the VM was laid out for)');
  const key = Math.floor(gfn / ATTR_CHUNK_GFNS) + 1;
  const mask = vm.layout.attrIndexEntries - 1;
  let e = indexSlot(vm, key - 1);
  while (S.load(vm.i32, vm.layout.attrIndexBase + e * ATTR_INDEX_WORDS + ATTR_INDEX.KEY) !== 0) e = (e + 1) & mask;
  const w = vm.layout.attrIndexBase + e * ATTR_INDEX_WORDS;
  S.store(vm.i32, w + ATTR_INDEX.CHUNK, n);
  S.store(vm.i32, w + ATTR_INDEX.KEY, key);
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
