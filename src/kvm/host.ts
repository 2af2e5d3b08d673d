/**
 * The host primary MMU: the VMM's address space (hva pages) and the host physical pages
 * behind it, with a generation per pfn so any use of a page after it was freed is
 * detected. Backing is 4K, 2M (THP for anonymous memory, hugetlbfs) or 1G (hugetlbfs): a
 * huge-backed block is faulted in whole, with contiguous aligned pfns, and split back to
 * 4K by any partial change — host_pfn_mapping_level() reads the backing level of the page.
 *
 * What a fault-in maps depends on the memory (mm/memory.c, mm/huge_memory.c, mm/gup.c):
 * a read fault without FOLL_WRITE on untouched private anonymous memory maps the shared
 * zero page read-only (do_anonymous_page; under THP the huge zero page,
 * do_huge_pmd_anonymous_page), and only a write fault allocates. A write through gup
 * (FOLL_WRITE) to a zero-page PTE breaks CoW: a new page replaces it between
 * mmu_notifier_invalidate_range_start and _end (wp_page_copy) — the page-fault machine
 * runs that as an invalidation in the faulting vCPU's context. Shared memory (memfd,
 * shmem) and hugetlbfs allocate on any fault and map writable. The zero pages are never
 * freed, migrated or reclaimed, and never written.
 *
 * Host events (migrate, reclaim, mprotect, munmap) change the hva → pfn map between
 * invalidate_range_start and _end (invalidation machine); the old pages are freed only
 * after _end returns, as the mm does.
 */

import { G } from './layout.js';
import { HOST_PAGE_BATCH } from './limits.js';
import { bumpStateEpoch, internalLock, internalUnlock, type Vm } from './vm.js';
import { pagesPerLevel } from './types.js';
import * as S from './shm.js';
import { HOST_MEMORIES, type HostMemory } from './host-memory.js';
export { HOST_MEMORIES, type HostMemory } from './host-memory.js';

export const HVA_READ = 1;
export const HVA_WRITE = 2;
export const HVA_MAPPED = 4;
const HVA_BACKING_SHIFT = 4;
const HVA_BACKING_MASK = 3 << HVA_BACKING_SHIFT;
const HVA_MEM_SHIFT = 6;
const HVA_MEM_MASK = 3 << HVA_MEM_SHIFT;

const MEM_ANONYMOUS = 0;

/**
 * Why `memory` cannot have pages of `backingLevel` (null when it can): anonymous memory is
 * 4K or THP (2M; there is no 1G THP), hugetlbfs is 2M or 1G, shared memory (memfd/shmem)
 * is 4K here (shmem THP is off by default, shmem_enabled=never).
 */
export function hostMemoryPageSizeError(memory: HostMemory, backingLevel: number): string | null {
  if (memory === 'anonymous' && backingLevel === 3) return '1G pages are hugetlbfs only (anonymous memory is 4K or THP 2M): use hugetlbfs';
  if (memory === 'hugetlbfs' && backingLevel === 1) return 'hugetlbfs pages are 2M or 1G';
  if (memory === 'shared' && backingLevel !== 1) return 'shared memory (memfd/shmem) is 4K here: use hugetlbfs for huge shared pages';
  return null;
}

/** The owner mark of the zero pages: no hva (h + 1) and no guest_memfd index (negative). */
export const ZERO_PAGE_OWNER = 0x7fffffff;

export type HostEventKind = 'migrate' | 'reclaim' | 'mprotect' | 'munmap';
export const HOST_EVENT_KINDS: readonly HostEventKind[] = ['migrate', 'reclaim', 'mprotect', 'munmap'];
/** A host page-table change: a host event, or the CoW break of a gup with FOLL_WRITE (wp_page_copy). */
export type HostChangeKind = HostEventKind | 'cow';

/** Result of a gup (hva_to_pfn), filled in place to avoid allocation on the fault path. */
export interface GupResult {
  pfn: number;
  writable: boolean;
  /** host_pfn_mapping_level(): 1, 2 or 3. */
  level: number;
  /** The gup wanted to write and found the zero page: it must break CoW first (no pfn returned). */
  cow: boolean;
}

const protByte = (vm: Vm, h: number): number => vm.layout.hvaProtByte + h;

export function hvaProt(vm: Vm, h: number): number {
  return S.load8(vm.u8, protByte(vm, h));
}

export function hvaPfn(vm: Vm, h: number): number {
  return S.load(vm.i32, vm.layout.hvaToPfnBase + h);
}

export function pfnOwner(vm: Vm, pfn: number): number {
  return S.load(vm.i32, vm.layout.pfnOwnerBase + pfn);
}

export function pfnGeneration(vm: Vm, pfn: number): number {
  return S.load(vm.i32, vm.layout.pfnGenBase + pfn);
}

/** True when `pfn` is allocated to someone. */
export function pfnAllocated(vm: Vm, pfn: number): boolean {
  return pfn > 0 && pfn < vm.layout.config.hostPages && pfnOwner(vm, pfn) !== 0;
}

/**
 * mmap(): reserve `npages` of hva, aligned to the backing level, read-write, of the given
 * memory; `populated` writes every page first (MAP_POPULATE on a writable private mapping
 * faults with FOLL_WRITE, as QEMU's -mem-prealloc does): each gets its own writable page.
 */
export function hostMmap(vm: Vm, npages: number, backingLevel: number, memory: HostMemory = 'anonymous', populated = false): number {
  const base = hostMmapRange(vm, npages, backingLevel, memory);
  if (populated) for (let h = base; h < base + npages; h++) if (hvaPfn(vm, h) === 0) faultInHostPage(vm, h, true, undefined);
  return base;
}

function hostMmapRange(vm: Vm, npages: number, backingLevel: number, memory: HostMemory): number {
  const bad = hostMemoryPageSizeError(memory, backingLevel);
  if (bad !== null) throw new RangeError(`${memory} memory, ${pagesPerLevel(backingLevel) * 4}K pages: ${bad}`);
  const align = pagesPerLevel(backingLevel);
  internalLock(vm.i32, G.HOST_LOCK);
  try {
    let base = reuseHva(vm, npages, align);
    if (base < 0) {
      base = Math.ceil(S.load(vm.i32, G.HVA_BUMP) / align) * align;
      if (base + npages > vm.layout.config.hvaPages) throw new RangeError('host virtual address space exhausted (raise the guest size the layout was built for)');
      S.store(vm.i32, G.HVA_BUMP, base + npages);
    }
    const prot = HVA_READ | HVA_WRITE | HVA_MAPPED | (HOST_MEMORIES.indexOf(memory) << HVA_MEM_SHIFT);
    // A huge page maps an aligned block wholly inside the mapping (thp_vma_suitable_order()):
    // the tail of a mapping whose size is not a multiple of the block is mapped by 4K pages,
    // so no huge block ever spans this mapping and the next one.
    const whole = npages - (npages % align);
    S.fill8(vm.u8, prot | ((backingLevel - 1) << HVA_BACKING_SHIFT), protByte(vm, base), protByte(vm, base + whole));
    S.fill8(vm.u8, prot, protByte(vm, base + whole), protByte(vm, base + npages));
    return base;
  } finally {
    internalUnlock(vm.i32, G.HOST_LOCK);
  }
}

/** An unmapped hva range of at least `npages` at an `align`-aligned start (first fit, the rest kept), or -1. */
function reuseHva(vm: Vm, npages: number, align: number): number {
  const free = vm.hvaFree;
  for (let i = 0; i < free.length; i++) {
    const r = free[i]!;
    const start = Math.ceil(r.base / align) * align;
    if (start + npages > r.base + r.npages) continue;
    free.splice(i, 1);
    if (start > r.base) free.push({ base: r.base, npages: start - r.base });
    if (start + npages < r.base + r.npages) free.push({ base: start + npages, npages: r.base + r.npages - start - npages });
    return start;
  }
  return -1;
}

/**
 * munmap() by the VMM once KVM_SET_USER_MEMORY_REGION has deleted the slot over it: the
 * host pages are freed and the range can be mapped again by a later create. No notifier
 * runs — no memslot maps the range any more, so KVM has nothing to zap. (The free ranges
 * live in this thread's Vm: only the VMM maps and unmaps.)
 */
export function hostMunmapDeleted(vm: Vm, base: number, npages: number): void {
  internalLock(vm.i32, G.HOST_LOCK);
  try {
    for (let h = base; h < base + npages; h++) {
      S.store8(vm.u8, protByte(vm, h), 0);
      const pfn = S.exchange(vm.i32, vm.layout.hvaToPfnBase + h, 0);
      if (pfn !== 0 && !isZeroPfn(vm, pfn)) freeLocked(vm, pfn);
    }
  } finally {
    internalUnlock(vm.i32, G.HOST_LOCK);
  }
  releaseHva(vm, base, npages);
  bumpStateEpoch(vm);
}

/** Gives [base, base + npages) back: merged with its free neighbours, or off the top of the bump. */
function releaseHva(vm: Vm, base: number, npages: number): void {
  const free = vm.hvaFree;
  free.push({ base, npages });
  free.sort((x, y) => x.base - y.base);
  for (let i = free.length - 1; i > 0; i--) {
    const prev = free[i - 1]!;
    const cur = free[i]!;
    if (prev.base + prev.npages === cur.base) {
      prev.npages += cur.npages;
      free.splice(i, 1);
    }
  }
  const top = free[free.length - 1];
  if (top !== undefined && top.base + top.npages === S.load(vm.i32, G.HVA_BUMP)) {
    S.store(vm.i32, G.HVA_BUMP, top.base);
    free.pop();
  }
}

function popFree(vm: Vm): number {
  const top = S.get(vm.i32, G.HOST_FREE_TOP);
  if (top === 0) return 0;
  S.put(vm.i32, G.HOST_FREE_TOP, top - 1);
  return S.get(vm.i32, vm.layout.pfnFreeBase + top - 1);
}

function pushFree(vm: Vm, pfn: number): void {
  const top = S.get(vm.i32, G.HOST_FREE_TOP);
  S.put(vm.i32, vm.layout.pfnFreeBase + top, pfn);
  S.put(vm.i32, G.HOST_FREE_TOP, top + 1);
}

/** Allocates `n` contiguous pfns aligned to `n` (n = 1 takes a freed page first). Caller holds HOST_LOCK. */
function allocPfns(vm: Vm, n: number): number {
  if (n === 1) {
    const p = popFree(vm);
    if (p !== 0) return p;
  }
  const bump = S.get(vm.i32, G.HOST_PFN_BUMP);
  const base = Math.ceil(bump / n) * n;
  if (base + n > vm.layout.config.hostPages) throw new RangeError('host physical pages exhausted (raise the guest size the layout was built for)');
  for (let p = bump; p < base; p++) pushFree(vm, p);
  S.put(vm.i32, G.HOST_PFN_BUMP, base + n);
  return base;
}

/**
 * A thread's own stock of free host pages, like the kernel's per-CPU page lists: 4K
 * fault-ins take pages from it, and refill it with a 128-byte-aligned run of pfns at a
 * time, so two threads faulting in parallel do not write the same cache lines of the
 * per-pfn arrays (owner, generation).
 */
export class HostPageCache {
  readonly pfns = new Int32Array(HOST_PAGE_BATCH);
  count = 0;
}

/** A page from the thread's stock, refilled under HOST_LOCK when empty (0: none left). */
function takeCachedPfn(vm: Vm, cache: HostPageCache): number {
  if (cache.count === 0) {
    internalLock(vm.i32, G.HOST_LOCK);
    try {
      refillCache(vm, cache);
    } finally {
      internalUnlock(vm.i32, G.HOST_LOCK);
    }
  }
  return cache.pfns[--cache.count]!;
}

/** Refills an empty stock: an aligned run of fresh pfns, else one freed page. Caller holds HOST_LOCK. */
function refillCache(vm: Vm, cache: HostPageCache): void {
  {
    const bump = S.get(vm.i32, G.HOST_PFN_BUMP);
    const base = Math.ceil(bump / HOST_PAGE_BATCH) * HOST_PAGE_BATCH;
    if (base + HOST_PAGE_BATCH <= vm.layout.config.hostPages) {
      for (let p = bump; p < base; p++) pushFree(vm, p);
      S.put(vm.i32, G.HOST_PFN_BUMP, base + HOST_PAGE_BATCH);
      for (let i = 0; i < HOST_PAGE_BATCH; i++) cache.pfns[i] = base + HOST_PAGE_BATCH - 1 - i;
      cache.count = HOST_PAGE_BATCH;
    } else {
      cache.pfns[0] = allocPfns(vm, 1);
      cache.count = 1;
    }
  }
}

/**
 * A 4K fault-in without HOST_LOCK (the kernel takes only the page-table lock of that
 * PMD): a page from the thread's stock, published by CAS into the empty hva slot. Whoever
 * loses the CAS uses the winner's page. munmap stores the protection before it takes the
 * page (hostApplyChange), so a fault-in that published into a range being unmapped sees
 * it afterwards and takes its page back — unless the munmap already took (and frees) it.
 */
function faultIn4k(vm: Vm, h: number, cache: HostPageCache): number {
  const w = vm.layout.hvaToPfnBase + h;
  const p = takeCachedPfn(vm, cache);
  S.store(vm.i32, vm.layout.pfnOwnerBase + p, h + 1);
  const prev = S.compareExchange(vm.i32, w, 0, p);
  if (prev !== 0) {
    S.store(vm.i32, vm.layout.pfnOwnerBase + p, 0);
    cache.pfns[cache.count++] = p;
    return prev;
  }
  S.add(vm.i32, G.HOST_PAGES_IN_USE, 1);
  if ((S.load8(vm.u8, protByte(vm, h)) & HVA_MAPPED) === 0) {
    if (S.compareExchange(vm.i32, w, p, 0) === p) hostFreePage(vm, p);
    return 0;
  }
  return p;
}

/** Caller holds HOST_LOCK (the in-use count is atomic: lockless 4K fault-ins add to it too). */
function claim(vm: Vm, pfn: number, owner: number): void {
  S.put(vm.i32, vm.layout.pfnOwnerBase + pfn, owner);
  S.add(vm.i32, G.HOST_PAGES_IN_USE, 1);
}

/** hostFreePage() with HOST_LOCK held by the caller. The zero pages are never freed. */
function freeLocked(vm: Vm, pfn: number): void {
  if (isZeroPfn(vm, pfn)) throw new Error(`host: free of the zero page (pfn 0x${pfn.toString(16)})`);
  S.store(vm.i32, vm.layout.pfnOwnerBase + pfn, 0);
  S.add(vm.i32, vm.layout.pfnGenBase + pfn, 1);
  S.sub(vm.i32, G.HOST_PAGES_IN_USE, 1);
  pushFree(vm, pfn);
}

/** Frees a host page: owner cleared, generation bumped (stale users become detectable). */
export function hostFreePage(vm: Vm, pfn: number): void {
  internalLock(vm.i32, G.HOST_LOCK);
  try {
    freeLocked(vm, pfn);
  } finally {
    internalUnlock(vm.i32, G.HOST_LOCK);
  }
  bumpStateEpoch(vm);
}

/**
 * hva_to_pfn(): the host page behind hva page `h`, faulting it in if absent. Fails (0)
 * when the hva is not mapped or a write finds it read-only — KVM's KVM_PFN_ERR_FAULT,
 * which the fault path turns into -EFAULT — and when a write finds the zero page
 * (`out.cow`: the gup must break CoW first).
 *
 * `out.writable` is hva_to_pfn_fast()'s opportunistic get_user_page_fast_only(FOLL_WRITE):
 * it succeeds only when the host PTE is present and writable — a page of its own in a
 * writable mapping, never the zero page. A read fault (no FOLL_WRITE) on untouched
 * anonymous memory gets the zero page read-only.
 */
export function hvaToPfn(vm: Vm, h: number, write: boolean, out: GupResult, cache?: HostPageCache): number {
  // Plain reads (READ_ONCE of the host page tables): a stale answer is what the
  // mmu_invalidate_seq protocol exists to catch.
  const pb = vm.layout.hvaProtByte + h;
  const prot = S.get8(vm.u8, pb);
  out.cow = false;
  if ((prot & HVA_MAPPED) === 0 || (prot & HVA_READ) === 0) return 0;
  if (write && (prot & HVA_WRITE) === 0) return 0;
  let pfn = S.get(vm.i32, vm.layout.hvaToPfnBase + h);
  if (pfn === 0) pfn = faultInHostPage(vm, h, write, cache);
  if (pfn === 0) return 0;
  const zero = isZeroPfn(vm, pfn);
  if (write && zero) {
    out.cow = true;
    return 0;
  }
  const backing = ((S.get8(vm.u8, pb) & HVA_BACKING_MASK) >> HVA_BACKING_SHIFT) + 1;
  out.pfn = pfn;
  out.writable = (prot & HVA_WRITE) !== 0 && !zero;
  out.level = backing;
  return pfn;
}

/** True for the zero page and the 512 pfns of the huge zero page. */
export function isZeroPfn(vm: Vm, pfn: number): boolean {
  if (pfn === 0) return false;
  if (pfn === S.load(vm.i32, G.ZERO_PFN)) return true;
  const hz = S.load(vm.i32, G.HUGE_ZERO_PFN);
  return hz !== 0 && pfn >= hz && pfn < hz + pagesPerLevel(2);
}

/** The host memory of hva page `h`. */
export function hvaHostMemory(vm: Vm, h: number): HostMemory {
  return HOST_MEMORIES[(hvaProt(vm, h) & HVA_MEM_MASK) >> HVA_MEM_SHIFT]!;
}

/** ZERO_PAGE(0), allocated on first use. Caller holds HOST_LOCK. */
function zeroPfnLocked(vm: Vm): number {
  let z = S.get(vm.i32, G.ZERO_PFN);
  if (z !== 0) return z;
  z = allocPfns(vm, 1);
  S.put(vm.i32, vm.layout.pfnOwnerBase + z, ZERO_PAGE_OWNER);
  S.store(vm.i32, G.ZERO_PFN, z);
  return z;
}

/** The huge zero page (512 aligned pfns), allocated on first use like mm_get_huge_zero_folio(). Caller holds HOST_LOCK. */
function hugeZeroPfnLocked(vm: Vm): number {
  let hz = S.get(vm.i32, G.HUGE_ZERO_PFN);
  if (hz !== 0) return hz;
  const n = pagesPerLevel(2);
  hz = allocPfns(vm, n);
  for (let i = 0; i < n; i++) S.put(vm.i32, vm.layout.pfnOwnerBase + hz + i, ZERO_PAGE_OWNER);
  S.store(vm.i32, G.HUGE_ZERO_PFN, hz);
  return hz;
}

/**
 * A read fault on untouched anonymous 4K memory without HOST_LOCK: the zero page,
 * published by CAS into the empty hva slot (the winner's page if another fault-in was
 * first). Like faultIn4k, a munmap seen afterwards takes the mapping back.
 */
function mapZero4k(vm: Vm, h: number): number {
  let z = S.load(vm.i32, G.ZERO_PFN);
  if (z === 0) {
    internalLock(vm.i32, G.HOST_LOCK);
    try {
      z = zeroPfnLocked(vm);
    } finally {
      internalUnlock(vm.i32, G.HOST_LOCK);
    }
  }
  const w = vm.layout.hvaToPfnBase + h;
  const prev = S.compareExchange(vm.i32, w, 0, z);
  if (prev !== 0) return prev;
  if ((S.load8(vm.u8, protByte(vm, h)) & HVA_MAPPED) === 0) {
    S.compareExchange(vm.i32, w, z, 0);
    return 0;
  }
  return z;
}

function faultInHostPage(vm: Vm, h: number, write: boolean, cache: HostPageCache | undefined): number {
  const prot = S.get8(vm.u8, protByte(vm, h));
  const zeroFill = !write && (prot & HVA_MEM_MASK) >> HVA_MEM_SHIFT === MEM_ANONYMOUS;
  if (cache !== undefined && (prot & HVA_BACKING_MASK) === 0) return zeroFill ? mapZero4k(vm, h) : faultIn4k(vm, h, cache);
  internalLock(vm.i32, G.HOST_LOCK);
  try {
    const existing = S.get(vm.i32, vm.layout.hvaToPfnBase + h);
    if (existing !== 0) return existing;
    const backing = ((S.get8(vm.u8, protByte(vm, h)) & HVA_BACKING_MASK) >> HVA_BACKING_SHIFT) + 1;
    if (backing === 1) return zeroFill ? installZeroLocked(vm, h) : installLocked4k(vm, h);
    const n = pagesPerLevel(backing);
    const blockBase = h - (h % n);
    let blockFree = n > 1;
    for (let i = 0; blockFree && i < n; i++) if (S.get(vm.i32, vm.layout.hvaToPfnBase + blockBase + i) !== 0) blockFree = false;
    if (!blockFree) {
      splitBacking(vm, h);
      return zeroFill ? installZeroLocked(vm, h) : installLocked4k(vm, h);
    }
    // THP read fault: the huge zero page, mapped by one PMD (do_huge_pmd_anonymous_page).
    const base = zeroFill ? hugeZeroPfnLocked(vm) : allocPfns(vm, n);
    mapBlockLocked(vm, blockBase, n, base, !zeroFill);
    return base + (h - blockBase);
  } finally {
    internalUnlock(vm.i32, G.HOST_LOCK);
  }
}

/** The zero page for `h` under HOST_LOCK (by CAS: a lockless fault-in may race for a 4K hva). */
function installZeroLocked(vm: Vm, h: number): number {
  const z = zeroPfnLocked(vm);
  const prev = S.compareExchange(vm.i32, vm.layout.hvaToPfnBase + h, 0, z);
  return prev !== 0 ? prev : z;
}

/** A 4K page for `h` under HOST_LOCK; by CAS, since a lockless fault-in (faultIn4k) may race for a 4K hva. */
function installLocked4k(vm: Vm, h: number): number {
  const p = allocPfns(vm, 1);
  claim(vm, p, h + 1);
  const prev = S.compareExchange(vm.i32, vm.layout.hvaToPfnBase + h, 0, p);
  if (prev === 0) return p;
  S.put(vm.i32, vm.layout.pfnOwnerBase + p, 0);
  S.sub(vm.i32, G.HOST_PAGES_IN_USE, 1);
  pushFree(vm, p);
  return prev;
}

/**
 * From 6.13 (1ced09e0331f), a write to the huge zero page allocates a THP for the whole
 * PMD (do_huge_zero_wp_pmd()) instead of splitting it and copying one 4K page: the block
 * stays 2M and every page of it is new and writable. False when `h` is not in a PMD
 * mapping the huge zero page (the caller then breaks CoW per 4K page). HOST_LOCK held.
 */
function thpCowLocked(vm: Vm, h: number): boolean {
  const n = pagesPerLevel(2);
  const base = h - (h % n);
  const hz = S.get(vm.i32, G.HUGE_ZERO_PFN);
  if (hz === 0 || (S.get8(vm.u8, protByte(vm, base)) & HVA_BACKING_MASK) === 0) return false;
  if (S.get(vm.i32, vm.layout.hvaToPfnBase + base) !== hz) return false;
  mapBlockLocked(vm, base, n, allocPfns(vm, n), true);
  return true;
}

/** Maps the `n` hva pages from `blockBase` to the contiguous pfns from `pfn` (claimed for them when `own`). HOST_LOCK held. */
function mapBlockLocked(vm: Vm, blockBase: number, n: number, pfn: number, own: boolean): void {
  for (let i = 0; i < n; i++) {
    if (own) claim(vm, pfn + i, blockBase + i + 1);
    S.store(vm.i32, vm.layout.hvaToPfnBase + blockBase + i, pfn + i);
  }
}

/** Splits the huge backing block containing `h` to 4K (THP split). */
function splitBacking(vm: Vm, h: number): void {
  const backing = ((S.get8(vm.u8, protByte(vm, h)) & HVA_BACKING_MASK) >> HVA_BACKING_SHIFT) + 1;
  if (backing === 1) return;
  const n = pagesPerLevel(backing);
  const base = h - (h % n);
  // A PMD of the huge zero page becomes PTEs of the 4K zero page (__split_huge_zero_page_pmd).
  const hz = S.get(vm.i32, G.HUGE_ZERO_PFN);
  const first = S.get(vm.i32, vm.layout.hvaToPfnBase + base);
  const zero = hz !== 0 && first === hz ? zeroPfnLocked(vm) : 0;
  for (let i = 0; i < n; i++) {
    const b = protByte(vm, base + i);
    S.store8(vm.u8, b, S.get8(vm.u8, b) & ~HVA_BACKING_MASK);
    if (zero !== 0) S.store(vm.i32, vm.layout.hvaToPfnBase + base + i, zero);
  }
}

/**
 * The mm's own page-table change for an event over hva pages [start, end), made between
 * invalidate_range_start and _end. Returns the pfns to free after _end.
 *  - migrate: each present page moves to a new pfn (contents copied);
 *  - reclaim: each present page is unmapped (swapped out; a later gup faults a new one);
 *  - mprotect: protection becomes `prot` (pages stay);
 *  - munmap: the range is no longer mapped at all;
 *  - cow: a zero-page PTE gets a new page of its own, writable (wp_page_copy).
 * The zero pages are never migrated, reclaimed or freed: they stay mapped, or the PTE is
 * just cleared.
 */
export function hostApplyChange(vm: Vm, kind: HostChangeKind, start: number, end: number, prot: number): number[] {
  const old: number[] = [];
  internalLock(vm.i32, G.HOST_LOCK);
  try {
    if (kind === 'cow' && vm.kernel.switches.thpOnHugeZeroWpFault && thpCowLocked(vm, start)) return old;
    for (let h = start; h < end; h++) {
      splitBacking(vm, h);
      const w = vm.layout.hvaToPfnBase + h;
      const pfn = S.get(vm.i32, w);
      switch (kind) {
        case 'migrate':
          if (pfn !== 0 && !isZeroPfn(vm, pfn)) {
            const np = allocPfns(vm, 1);
            claim(vm, np, h + 1);
            S.store(vm.i32, w, np);
            old.push(pfn);
          }
          break;
        case 'reclaim':
          if (pfn !== 0 && !isZeroPfn(vm, pfn)) { S.store(vm.i32, w, 0); old.push(pfn); }
          break;
        case 'cow':
          if (isZeroPfn(vm, pfn)) {
            const np = allocPfns(vm, 1);
            claim(vm, np, h + 1);
            S.store(vm.i32, w, np);
          }
          break;
        case 'munmap': {
          // The protection first, then take the page: a lockless 4K fault-in that
          // published a page after this read sees the unmapped hva and takes it back.
          S.store8(vm.u8, protByte(vm, h), 0);
          const taken = S.exchange(vm.i32, w, 0);
          if (taken !== 0 && !isZeroPfn(vm, taken)) old.push(taken);
          break;
        }
        case 'mprotect': {
          const b = protByte(vm, h);
          if ((S.get8(vm.u8, b) & HVA_MAPPED) !== 0) S.store8(vm.u8, b, (S.get8(vm.u8, b) & ~(HVA_READ | HVA_WRITE)) | prot);
          break;
        }
      }
    }
  } finally {
    internalUnlock(vm.i32, G.HOST_LOCK);
  }
  bumpStateEpoch(vm);
  return old;
}

/** kvm_gmem_get_pfn(): the guest_memfd page at file page `index`, allocated on first use. */
export function gmemGetPfn(vm: Vm, index: number): number {
  const w = vm.layout.gmemToPfnBase + index;
  const existing = S.load(vm.i32, w);
  if (existing !== 0) return existing;
  internalLock(vm.i32, G.HOST_LOCK);
  try {
    const again = S.get(vm.i32, w);
    if (again !== 0) return again;
    const p = allocPfns(vm, 1);
    claim(vm, p, -(index + 1));
    S.store(vm.i32, w, p);
    return p;
  } finally {
    internalUnlock(vm.i32, G.HOST_LOCK);
  }
}

/** Reserves `npages` of guest_memfd file space (the slot's guest_memfd offset). */
export function gmemReserve(vm: Vm, npages: number): number {
  const base = S.add(vm.i32, G.GMEM_BUMP, npages);
  if (base + npages > vm.layout.config.gmemPages) throw new RangeError('guest_memfd space exhausted');
  return base;
}

/** The page guest_memfd holds at `index` (0 when none). */
export function gmemPfn(vm: Vm, index: number): number {
  return S.load(vm.i32, vm.layout.gmemToPfnBase + index);
}

/** The backing level (1, 2, 3) of hva page `h`. */
export function hvaBackingLevel(vm: Vm, h: number): number {
  return ((hvaProt(vm, h) & HVA_BACKING_MASK) >> HVA_BACKING_SHIFT) + 1;
}

/** [start, end) widened to the huge backing blocks it touches (what the mm's split invalidates). */
export function hostNotifierRange(vm: Vm, start: number, end: number): [number, number] {
  const a = pagesPerLevel(hvaBackingLevel(vm, start));
  const b = pagesPerLevel(hvaBackingLevel(vm, end - 1));
  return [start - (start % a), Math.ceil(end / b) * b];
}
