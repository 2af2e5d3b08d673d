// Goal: memory attributes are stored sparsely per 1-GiB chunk like the kernel's xarray, range checks are exact across chunks, and the hugepage "mixed" flags change only when kvmUpdateHugepageMixed recomputes them; method: direct calls on real Vms of each type.

import test from 'ava';
import { G } from '../../src/kvm/layout.js';
import { ATTR_CHUNK_GFNS } from '../../src/kvm/limits.js';
import {
  KVM_MEMORY_ATTRIBUTE_PRIVATE as PRIVATE, hugepageMixed, kvmGetMemoryAttributes, kvmMemIsPrivate, kvmRangeHasMemoryAttributes, kvmStoreMemoryAttributes,
  kvmUpdateHugepageMixed,
} from '../../src/kvm/mem-attrs.js';
import { newVm } from './fixtures.js';

const G1 = ATTR_CHUNK_GFNS;

test('KVM_MEMORY_ATTRIBUTE_PRIVATE is bit 3', (t) => {
  t.is(PRIVATE, 8);
  t.is(G1, 262144, 'one chunk per 1 GiB of guest memory');
});

test('nothing stored: every gfn has no attributes and no chunk exists', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  for (const gfn of [0, 1, G1 - 1, G1, 2 ** 32 - 1]) t.is(kvmGetMemoryAttributes(vm, gfn), 0);
  t.is(vm.i32[G.ATTR_CHUNK_BUMP], 0);
  t.false(kvmMemIsPrivate(vm, 5));
});

test('storing allocates only the chunks it touches; storing 0 over absent chunks allocates nothing', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  kvmStoreMemoryAttributes(vm, 0, 4 * G1, 0);
  t.is(vm.i32[G.ATTR_CHUNK_BUMP], 0);
  kvmStoreMemoryAttributes(vm, 10, 20, PRIVATE);
  t.is(vm.i32[G.ATTR_CHUNK_BUMP], 1);
  kvmStoreMemoryAttributes(vm, 3 * G1 - 2, 3 * G1 + 2, PRIVATE);
  t.is(vm.i32[G.ATTR_CHUNK_BUMP], 3, 'the range straddles chunks 2 and 3');
  for (const [gfn, want] of [[9, 0], [10, PRIVATE], [19, PRIVATE], [20, 0], [3 * G1 - 3, 0], [3 * G1 - 2, PRIVATE], [3 * G1 + 1, PRIVATE], [3 * G1 + 2, 0], [G1 + 15, 0]] as const) {
    t.is(kvmGetMemoryAttributes(vm, gfn), want, `gfn ${gfn}`);
  }
  kvmStoreMemoryAttributes(vm, 0, 4 * G1, 0);
  t.is(vm.i32[G.ATTR_CHUNK_BUMP], 3, 'clearing keeps the chunks');
  t.is(kvmGetMemoryAttributes(vm, 15), 0);
});

test('kvm_mem_is_private: only VM types with private memory', (t) => {
  for (const [type, want] of [['default', false], ['sw_protected', true], ['snp', true], ['tdx', true]] as const) {
    const vm = newVm({ type });
    kvmStoreMemoryAttributes(vm, 0, 1, PRIVATE);
    t.is(kvmMemIsPrivate(vm, 0), want, type);
    t.false(kvmMemIsPrivate(vm, 1));
  }
});

test('range check: every gfn has exactly the attributes, across chunks, absent chunks count as 0', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  kvmStoreMemoryAttributes(vm, 10, 20, PRIVATE);
  t.true(kvmRangeHasMemoryAttributes(vm, 10, 20, PRIVATE));
  t.false(kvmRangeHasMemoryAttributes(vm, 9, 20, PRIVATE));
  t.false(kvmRangeHasMemoryAttributes(vm, 10, 21, PRIVATE));
  t.true(kvmRangeHasMemoryAttributes(vm, 20, 3 * G1, 0), 'through absent chunks');
  t.false(kvmRangeHasMemoryAttributes(vm, G1, 2 * G1, PRIVATE), 'an absent chunk is not private');
  t.true(kvmRangeHasMemoryAttributes(vm, 0, 0, PRIVATE), 'empty range');
  kvmStoreMemoryAttributes(vm, G1 - 5, G1 + 5, PRIVATE);
  t.true(kvmRangeHasMemoryAttributes(vm, G1 - 5, G1 + 5, PRIVATE));
  t.false(kvmRangeHasMemoryAttributes(vm, 0, 2 * G1, 0));
});

test('gfns across a 52-bit space: each chunk is found by its number alone, however far apart', (t) => {
  const vm = newVm({ type: 'sw_protected', physBits: 52 });
  const top = vm.maxGfn;
  t.is(top, 2 ** 40 - 1);
  const gfns = [2 ** 32 - 1, 2 ** 32, 2 ** 36 + 7, top - 1, top];
  for (const g of gfns) t.is(kvmGetMemoryAttributes(vm, g), 0);
  for (const g of gfns) kvmStoreMemoryAttributes(vm, g, g + 1, PRIVATE);
  for (const g of gfns) t.is(kvmGetMemoryAttributes(vm, g), PRIVATE, `gfn 0x${g.toString(16)}`);
  // Neighbours share a chunk, not an attribute; the same offset in other chunks is untouched.
  for (const g of [2 ** 32 + 1, 2 ** 36 + 6, top - 2, 2 ** 32 - 1 - G1, 2 ** 36 + 7 + G1]) t.is(kvmGetMemoryAttributes(vm, g), 0, `gfn 0x${g.toString(16)}`);
  t.is(vm.i32[G.ATTR_CHUNK_BUMP], 4, 'gfns 2^32 - 1 and 2^32 are in different chunks; top - 1 and top in one');
  t.true(kvmRangeHasMemoryAttributes(vm, top - 1, top + 1, PRIVATE));
});

test('more chunks than the layout holds is a RangeError naming the cause', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  const n = vm.layout.config.attrChunks;
  for (let c = 0; c < n; c++) kvmStoreMemoryAttributes(vm, c * G1, c * G1 + 1, PRIVATE);
  t.throws(() => kvmStoreMemoryAttributes(vm, n * G1, n * G1 + 1, PRIVATE), { instanceOf: RangeError, message: /chunks exhausted/ });
});

test('mixed flags are stale after a store and recomputed only by kvmUpdateHugepageMixed', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  kvmStoreMemoryAttributes(vm, 10, 20, PRIVATE);
  t.false(hugepageMixed(vm, 15, 2), 'stale until post-set');
  t.false(hugepageMixed(vm, 15, 3));
  kvmUpdateHugepageMixed(vm, 10, 20);
  t.true(hugepageMixed(vm, 0, 2));
  t.true(hugepageMixed(vm, 511, 2), 'the whole 2M region');
  t.false(hugepageMixed(vm, 512, 2), 'the next 2M region is uniform');
  t.true(hugepageMixed(vm, 1000, 3), 'the 1G region containing it');
  // The whole 2M region becomes private: still flagged mixed until recomputed.
  kvmStoreMemoryAttributes(vm, 0, 512, PRIVATE);
  t.true(hugepageMixed(vm, 0, 2));
  kvmUpdateHugepageMixed(vm, 0, 512);
  t.false(hugepageMixed(vm, 0, 2));
  t.true(hugepageMixed(vm, 0, 3), 'the rest of the 1G region is shared');
  kvmStoreMemoryAttributes(vm, 0, G1, PRIVATE);
  kvmUpdateHugepageMixed(vm, 0, G1);
  t.false(hugepageMixed(vm, 0, 3));
  t.false(hugepageMixed(vm, 77 * 512, 2));
});

test('a recompute over a range touches only the regions overlapping it', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  kvmStoreMemoryAttributes(vm, 5, 6, PRIVATE);
  kvmStoreMemoryAttributes(vm, 1024 + 5, 1024 + 6, PRIVATE);
  kvmUpdateHugepageMixed(vm, 1024, 1025);
  t.false(hugepageMixed(vm, 5, 2), 'region 0 was not recomputed');
  t.true(hugepageMixed(vm, 1024, 2));
  t.false(hugepageMixed(vm, G1 + 5, 2), 'no chunk: never mixed');
});

test('a 2M region straddling the recompute range start is recomputed whole', (t) => {
  const vm = newVm({ type: 'sw_protected' });
  kvmStoreMemoryAttributes(vm, 600, 700, PRIVATE);
  kvmUpdateHugepageMixed(vm, 650, 651);
  t.true(hugepageMixed(vm, 512, 2));
});

test('range checks agree with a gfn-by-gfn check for ranges of every alignment, within and across chunks', (t) => {
  const vm = newVm({ type: 'sw_protected', guestBytes: 4 * 2 ** 30 });
  let seed = 7;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  kvmStoreMemoryAttributes(vm, G1 - 700, G1 + 900, PRIVATE);
  kvmStoreMemoryAttributes(vm, 3 * G1 + 5, 3 * G1 + 6, PRIVATE);
  const naive = (s: number, e: number, attrs: number): boolean => {
    for (let g = s; g < e; g++) if (kvmGetMemoryAttributes(vm, g) !== attrs) return false;
    return true;
  };
  const edges = [0, 1, 3, 4, 5, G1 - 701, G1 - 700, G1 - 699, G1 - 1, G1, G1 + 1, G1 + 899, G1 + 900, G1 + 903, 3 * G1, 3 * G1 + 5, 3 * G1 + 6, 4 * G1];
  for (let k = 0; k < 400; k++) {
    const a = k < 200 ? edges[rnd(edges.length)]! + rnd(9) - 4 : rnd(4 * G1);
    const b = a + (k % 3 === 0 ? rnd(2 * G1) : rnd(1200));
    const s = Math.max(0, a);
    for (const attrs of [0, PRIVATE]) t.is(kvmRangeHasMemoryAttributes(vm, s, b, attrs), naive(s, b, attrs), `[${s}, ${b}) ${attrs}`);
  }
});
