// Goal: the host primary MMU maps hva pages to pfns the way the mm does (aligned mmap, gup fault-in per host memory — the zero page and huge zero page for reads of anonymous memory, CoW on write —, contiguous huge blocks split on partial change, migrate/reclaim/munmap/mprotect) and every freed page's generation moves so stale users are detectable; method: direct calls on a real Vm.

import test from 'ava';
import { G } from '../../src/kvm/layout.js';
import {
  HVA_MAPPED, HVA_READ, HVA_WRITE, HostPageCache, gmemGetPfn, gmemPfn, gmemReserve, hostApplyChange, hostFreePage, hostMmap, hostNotifierRange, hvaBackingLevel, hvaPfn,
  hostMunmapDeleted, hvaProt, hvaToPfn, pfnAllocated, pfnGeneration, pfnOwner, type GupResult,
  ZERO_PAGE_OWNER, hostMemoryPageSizeError, hvaHostMemory, isZeroPfn,
} from '../../src/kvm/host.js';
import type { Vm } from '../../src/kvm/vm.js';
import { newVm } from './fixtures.js';

const gup = (): GupResult => ({ pfn: 0, writable: false, level: 0, cow: false });
const inUse = (vm: Vm): number => vm.i32[G.HOST_PAGES_IN_USE]!;

test('mmap reserves hva pages aligned to the backing level, read-write, nothing faulted in', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const a = hostMmap(vm, 3, 1);
  t.true(a >= 1, 'hva page 0 is never handed out');
  const b = hostMmap(vm, 1024, 2);
  t.is(b % 512, 0);
  t.true(b >= a + 3);
  const c = hostMmap(vm, 5, 1);
  t.is(c, b + 1024);
  for (const h of [a, a + 2, b, b + 1023, c + 4]) {
    t.is(hvaProt(vm, h) & (HVA_READ | HVA_WRITE | HVA_MAPPED), HVA_READ | HVA_WRITE | HVA_MAPPED);
    t.is(hvaPfn(vm, h), 0);
  }
  t.is(hvaBackingLevel(vm, a), 1);
  t.is(hvaBackingLevel(vm, b + 7), 2);
  t.is(hvaProt(vm, c + 5), 0, 'past the mapping');
  t.is(inUse(vm), 0);
});

test('mmap of more than the address space is a RangeError naming the cause', (t) => {
  const vm = newVm();
  t.throws(() => hostMmap(vm, vm.layout.config.hvaPages + 1, 1), { instanceOf: RangeError, message: /address space exhausted/ });
});

test('gup faults a 4K page of shared memory in once, owned by its hva, writable as mapped', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 4, 1, 'shared');
  const out = gup();
  const p = hvaToPfn(vm, h + 1, true, out);
  t.true(p > 0);
  t.deepEqual(out, { pfn: p, writable: true, level: 1, cow: false });
  t.is(hvaPfn(vm, h + 1), p);
  t.is(pfnOwner(vm, p), h + 1 + 1, 'owner = hva page + 1');
  t.true(pfnAllocated(vm, p));
  t.is(inUse(vm), 1);
  t.is(hvaToPfn(vm, h + 1, false, gup()), p, 'a second gup finds the same page');
  t.is(inUse(vm), 1);
  t.not(hvaToPfn(vm, h + 2, false, gup()), p);
});

test('huge backing (hugetlbfs): the first gup allocates a whole aligned contiguous block', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  hostMmap(vm, 3, 1, 'shared'); // misalign the bump pointers first
  hvaToPfn(vm, 1, false, gup());
  const h = hostMmap(vm, 1024, 2, 'hugetlbfs');
  const out = gup();
  const p = hvaToPfn(vm, h + 700, false, out);
  t.is(out.level, 2);
  const base = p - 188; // 700 - 512
  t.is(base % 512, 0, 'pfn block aligned to 2M');
  for (let i = 0; i < 512; i++) {
    if (hvaPfn(vm, h + 512 + i) !== base + i) { t.fail(`hva ${i} not contiguous`); break; }
  }
  t.is(hvaPfn(vm, h), 0, 'the other block is untouched');
  t.is(inUse(vm), 1 + 512);
  // Pfns skipped for alignment are not lost: a 4K allocation reuses one of them.
  const h4 = hostMmap(vm, 1, 1, 'shared');
  const q = hvaToPfn(vm, h4, false, gup());
  t.true(q < base, 'a pfn below the aligned block is reused');
});

test('a partial change of a huge block splits it to 4K (THP split)', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const h = hostMmap(vm, 512, 2);
  const p0 = hvaToPfn(vm, h, true, gup());
  const old = hostApplyChange(vm, 'mprotect', h + 10, h + 11, HVA_READ);
  t.deepEqual(old, []);
  for (const x of [h, h + 10, h + 511]) t.is(hvaBackingLevel(vm, x), 1);
  t.is(hvaPfn(vm, h + 5), p0 + 5, 'pages stay where they were');
  const out = gup();
  hvaToPfn(vm, h + 3, false, out);
  t.is(out.level, 1);
  t.is(hvaProt(vm, h + 10) & HVA_WRITE, 0);
  t.is(hvaProt(vm, h + 9) & HVA_WRITE, HVA_WRITE);
});

test('the notifier range of a change inside a huge block is the whole block', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const h = hostMmap(vm, 1024, 2);
  t.deepEqual(hostNotifierRange(vm, h + 10, h + 11), [h, h + 512]);
  t.deepEqual(hostNotifierRange(vm, h + 500, h + 600), [h, h + 1024]);
  const s = hostMmap(vm, 10, 1);
  t.deepEqual(hostNotifierRange(vm, s + 2, s + 4), [s + 2, s + 4]);
});

test('migrate: present pages move to new pfns and the old ones are returned (not yet freed)', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 4, 1);
  const p = hvaToPfn(vm, h, true, gup());
  const old = hostApplyChange(vm, 'migrate', h, h + 4, 0);
  t.deepEqual(old, [p], 'absent pages are not migrated');
  const np = hvaPfn(vm, h);
  t.true(np > 0 && np !== p);
  t.is(pfnOwner(vm, np), h + 1);
  t.true(pfnAllocated(vm, p), 'the mm frees the old page only after invalidate_range_end');
  t.is(hvaPfn(vm, h + 1), 0);
});

test('reclaim: pages unmapped, returned; the next gup faults in a fresh page', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 2, 1, 'shared');
  const p = hvaToPfn(vm, h, false, gup());
  t.deepEqual(hostApplyChange(vm, 'reclaim', h, h + 2, 0), [p]);
  t.is(hvaPfn(vm, h), 0);
  t.is(hvaProt(vm, h) & HVA_MAPPED, HVA_MAPPED, 'still mapped: swapped out, not unmapped');
  hostFreePage(vm, p);
  const q = hvaToPfn(vm, h, false, gup());
  t.true(q > 0);
  t.is(hvaPfn(vm, h), q);
});

test('munmap: nothing mapped any more, gup fails (KVM_PFN_ERR_FAULT)', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 2, 1, 'shared');
  const p = hvaToPfn(vm, h, false, gup());
  t.deepEqual(hostApplyChange(vm, 'munmap', h, h + 2, 0), [p]);
  t.is(hvaProt(vm, h), 0);
  t.is(hvaToPfn(vm, h, false, gup()), 0);
  t.is(hvaToPfn(vm, h + 1, false, gup()), 0);
});

test('mprotect: read-only pages fail a write gup, allow a read gup reporting not writable; PROT_NONE fails both', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 2, 1);
  const p = hvaToPfn(vm, h, true, gup());
  t.deepEqual(hostApplyChange(vm, 'mprotect', h, h + 1, HVA_READ), []);
  t.is(hvaToPfn(vm, h, true, gup()), 0);
  const out = gup();
  t.is(hvaToPfn(vm, h, false, out), p, 'the page stays');
  t.false(out.writable);
  hostApplyChange(vm, 'mprotect', h, h + 1, 0);
  t.is(hvaToPfn(vm, h, false, gup()), 0);
  hostApplyChange(vm, 'mprotect', h, h + 1, HVA_READ | HVA_WRITE);
  t.is(hvaToPfn(vm, h, true, gup()), p);
  hostApplyChange(vm, 'munmap', h + 1, h + 2, 0);
  hostApplyChange(vm, 'mprotect', h + 1, h + 2, HVA_READ | HVA_WRITE);
  t.is(hvaProt(vm, h + 1), 0, 'mprotect does not map an unmapped page');
});

test('freeing a page clears its owner and bumps its generation; the pfn is reused with the new generation', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 2, 1, 'shared');
  const p = hvaToPfn(vm, h, false, gup());
  const gen = pfnGeneration(vm, p);
  const used = inUse(vm);
  hostApplyChange(vm, 'reclaim', h, h + 1, 0);
  hostFreePage(vm, p);
  t.false(pfnAllocated(vm, p));
  t.is(pfnOwner(vm, p), 0);
  t.is(pfnGeneration(vm, p), gen + 1);
  t.is(inUse(vm), used - 1);
  const q = hvaToPfn(vm, h + 1, false, gup());
  t.is(q, p, 'a freed 4K page is handed out first');
  t.is(pfnGeneration(vm, q), gen + 1, 'a stale user holding generation gen is detectable');
  t.false(pfnAllocated(vm, 0));
  t.false(pfnAllocated(vm, vm.layout.config.hostPages));
});

test('guest_memfd: reserved file space, pages allocated on first use and stable after', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  const base = gmemReserve(vm, 16);
  t.true(base >= 1);
  t.is(gmemPfn(vm, base + 3), 0);
  const p = gmemGetPfn(vm, base + 3);
  t.true(p > 0);
  t.is(gmemGetPfn(vm, base + 3), p);
  t.is(gmemPfn(vm, base + 3), p);
  t.is(pfnOwner(vm, p), -(base + 3 + 1), 'guest_memfd pages are owned by negative indices');
  t.true(gmemReserve(vm, 4) >= base + 16);
  t.throws(() => gmemReserve(vm, vm.layout.config.gmemPages), { instanceOf: RangeError });
});

test('a deleted slot\'s range is unmapped, its pages freed (generation moved), and reused by later mmaps; freed neighbours merge', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const bump0 = vm.i32[G.HVA_BUMP]!;
  const a = hostMmap(vm, 100, 1);
  const b = hostMmap(vm, 50, 1);
  const g = gup();
  const pfn = hvaToPfn(vm, a + 3, true, g);
  const gen = pfnGeneration(vm, pfn);
  const used = inUse(vm);
  hostMunmapDeleted(vm, a, 100);
  t.is(hvaProt(vm, a + 3), 0, 'unmapped');
  t.is(hvaPfn(vm, a + 3), 0);
  t.false(pfnAllocated(vm, pfn));
  t.is(pfnGeneration(vm, pfn), gen + 1, 'a stale user of the page is detectable');
  t.is(inUse(vm), used - 1);
  t.is(hostMmap(vm, 60, 1), a, 'first fit in the freed range');
  hostMunmapDeleted(vm, a, 60);
  hostMunmapDeleted(vm, b, 50);
  t.is(vm.i32[G.HVA_BUMP], bump0, 'merged ranges at the top give the address space back');
  for (let i = 0; i < 1000; i++) hostMunmapDeleted(vm, hostMmap(vm, 512, 1), 512);
  t.is(vm.i32[G.HVA_BUMP], bump0, 'create/delete cycles do not grow the address space');
});

test('4K fault-in from a thread\'s page stock: aligned runs of fresh pfns, one page per hva, the loser of a race uses the winner\'s page', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const h = hostMmap(vm, 64, 1);
  const c1 = new HostPageCache();
  const c2 = new HostPageCache();
  const p1 = hvaToPfn(vm, h, true, gup(), c1);
  t.is(p1 % 32, 0, 'a stock starts at an aligned run');
  t.is(c1.count, 31);
  const p2 = hvaToPfn(vm, h + 1, true, gup(), c2);
  t.not(Math.floor(p1 / 32), Math.floor(p2 / 32), 'two threads\' stocks share no cache line of the pfn arrays');
  t.is(hvaToPfn(vm, h, true, gup(), c2), p1, 'already mapped: the existing page');
  t.is(pfnOwner(vm, p1), h + 1);
});

test('anonymous memory: a read gup maps the zero page read-only, nothing allocated; a write gup on it asks for a CoW break; a write on untouched memory allocates writable', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 4, 1);
  const out = gup();
  const z = hvaToPfn(vm, h, false, out, new HostPageCache());
  t.true(isZeroPfn(vm, z));
  t.deepEqual(out, { pfn: z, writable: false, level: 1, cow: false }, 'hva_to_pfn_fast\'s FOLL_WRITE attempt fails on the zero page');
  t.is(hvaToPfn(vm, h + 1, false, gup()), z, 'one zero page for every untouched page');
  t.is(inUse(vm), 0);
  t.is(pfnOwner(vm, z), ZERO_PAGE_OWNER);
  const w = gup();
  t.is(hvaToPfn(vm, h, true, w), 0);
  t.true(w.cow, 'gup with FOLL_WRITE must break CoW first');
  const p = hvaToPfn(vm, h + 2, true, gup());
  t.false(isZeroPfn(vm, p));
  t.is(inUse(vm), 1);
  const again = gup();
  t.is(hvaToPfn(vm, h + 2, false, again), p);
  t.true(again.writable, 'a read of a written page maps it writable (opportunistic FOLL_WRITE)');
  t.is(hvaHostMemory(vm, h), 'anonymous');
});

test('CoW break: the zero-page PTE gets a page of its own, nothing to free; migrate, reclaim and munmap never take the zero page', (t) => {
  const vm = newVm();
  const h = hostMmap(vm, 4, 1);
  const z = hvaToPfn(vm, h, false, gup());
  hvaToPfn(vm, h + 1, false, gup());
  t.deepEqual(hostApplyChange(vm, 'cow', h, h + 1, 0), []);
  const p = hvaPfn(vm, h);
  t.false(isZeroPfn(vm, p));
  t.is(pfnOwner(vm, p), h + 1);
  const out = gup();
  t.is(hvaToPfn(vm, h, true, out), p);
  t.true(out.writable);
  t.deepEqual(hostApplyChange(vm, 'migrate', h + 1, h + 2, 0), [], 'the zero page is not migrated');
  t.deepEqual(hostApplyChange(vm, 'reclaim', h + 1, h + 2, 0), [], 'nor reclaimed');
  t.is(hvaPfn(vm, h + 1), z);
  t.deepEqual(hostApplyChange(vm, 'munmap', h + 1, h + 2, 0), [], 'unmapping it frees nothing');
  t.true(pfnAllocated(vm, z));
  t.throws(() => hostFreePage(vm, z), { message: /free of the zero page/ });
});

test('THP until 6.12: a read maps the huge zero page by one 2M PMD; the CoW of one page splits it to 4K zero PTEs and a new 4K page; a write on an untouched block allocates 2M', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024, kernel: '6.12' });
  const h = hostMmap(vm, 1024, 2);
  const out = gup();
  const hz = hvaToPfn(vm, h + 5, false, out) - 5;
  t.is(out.level, 2);
  t.false(out.writable);
  t.is(hz % 512, 0, 'the huge zero page is 2M-aligned');
  for (const i of [0, 5, 511]) t.true(isZeroPfn(vm, hvaPfn(vm, h + i)));
  t.is(inUse(vm), 0);
  t.deepEqual(hostNotifierRange(vm, h + 5, h + 6), [h, h + 512], 'the CoW\'s notifier covers the PMD');
  hostApplyChange(vm, 'cow', h + 5, h + 6, 0);
  t.is(hvaBackingLevel(vm, h), 1, 'split');
  const z = hvaPfn(vm, h);
  t.true(isZeroPfn(vm, z));
  t.is(hvaPfn(vm, h + 511), z, 'the rest maps the 4K zero page');
  t.false(isZeroPfn(vm, hvaPfn(vm, h + 5)));
  t.is(inUse(vm), 1);
  const w = gup();
  const big = hvaToPfn(vm, h + 600, true, w);
  t.is(w.level, 2);
  t.is((big - 88) % 512, 0);
  t.is(inUse(vm), 1 + 512);
});

test('shared memory and hugetlbfs allocate on a read and map writable; populated memory is written at mmap; bad page sizes are refused', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const s = hostMmap(vm, 2, 1, 'shared');
  const out = gup();
  const p = hvaToPfn(vm, s, false, out);
  t.false(isZeroPfn(vm, p));
  t.true(out.writable);
  const hg = hostMmap(vm, 512, 2, 'hugetlbfs');
  const o2 = gup();
  hvaToPfn(vm, hg + 3, false, o2);
  t.deepEqual([o2.writable, o2.level], [true, 2]);
  const before = inUse(vm);
  const pop = hostMmap(vm, 8, 1, 'anonymous', true);
  t.is(inUse(vm), before + 8, 'every page written');
  const o3 = gup();
  t.false(isZeroPfn(vm, hvaToPfn(vm, pop + 7, false, o3)));
  t.true(o3.writable);
  t.throws(() => hostMmap(vm, 512, 3), { instanceOf: RangeError, message: /hugetlbfs only/ });
  t.throws(() => hostMmap(vm, 512, 2, 'shared'), { instanceOf: RangeError, message: /4K here/ });
  t.throws(() => hostMmap(vm, 1, 1, 'hugetlbfs'), { instanceOf: RangeError, message: /2M or 1G/ });
  t.is(hostMemoryPageSizeError('anonymous', 2), null);
});

test('THP from 6.13 (1ced09e0331f): the CoW of a page of the huge zero page allocates a whole new THP; the block stays 2M', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024, kernel: '6.13' });
  const h = hostMmap(vm, 1024, 2);
  hvaToPfn(vm, h + 5, false, gup());
  hostApplyChange(vm, 'cow', h + 5, h + 6, 0);
  t.is(hvaBackingLevel(vm, h), 2, 'no split');
  const base = hvaPfn(vm, h);
  t.false(isZeroPfn(vm, base));
  for (const i of [0, 5, 511]) t.is(hvaPfn(vm, h + i), base + i, 'one contiguous THP');
  t.is(inUse(vm), 512);
  const w = gup();
  t.is(hvaToPfn(vm, h + 7, true, w), base + 7);
  t.true(w.writable);
  t.is(w.level, 2);
});

test('a huge-backed mapping whose size is not a multiple of the block: its tail is 4K, so the next mapping never shares a huge block with it', (t) => {
  const vm = newVm({ guestBytes: 64 * 1024 * 1024 });
  const a = hostMmap(vm, 513, 2);
  const b = hostMmap(vm, 256, 1);
  t.is(b, a + 513, 'the 4K mapping starts right after, inside the tail block');
  t.is(hvaBackingLevel(vm, a), 2);
  t.is(hvaBackingLevel(vm, a + 511), 2);
  t.is(hvaBackingLevel(vm, a + 512), 1);
  const g = gup();
  t.true(hvaToPfn(vm, a + 512, true, g) !== 0);
  t.is(g.level, 1, 'the tail faults in as one 4K page');
  t.is(hvaPfn(vm, b), 0, 'the next mapping is untouched');
  const w = gup();
  t.true(hvaToPfn(vm, b, true, w) !== 0);
  t.is(hvaPfn(vm, a + 512), g.pfn, 'faulting the next mapping in leaves the tail page where it was');
});
