// Goal: the TDP iterator and the one-shot walks find the right SPTE at every level and never write; method: hand-built 4-level tables in a real Vm's pool, walked by tdpIterStart/StepDown, tdpFindLeaf and tdpNextLeaf.

import test from 'ava';
import { spteWord } from '../../src/kvm/layout.js';
import { FROZEN_HI, FROZEN_LO, NONLEAF_HI, makeNonleafLo, makeSpteHi, makeSpteLo, sptePfn } from '../../src/kvm/spte.js';
import { TdpIter, levelBaseGfn, spteIndex, tdpFindLeaf, tdpIterStart, tdpIterStepDown, tdpIterStepIntoKnown, tdpNextLeaf, type LeafRef } from '../../src/kvm/tdp-iter.js';
import type { Vm } from '../../src/kvm/vm.js';
import { clearTable, newVm, setSpte } from './fixtures.js';

const ROOT = 1;
const leaf = (pfn: number, level: number) => ({ lo: makeSpteLo({ pfn, level, hostWritable: true, writable: true, exec: false, prefetch: false }), hi: makeSpteHi({ pfn, level, hostWritable: true, writable: true, exec: false, prefetch: false }) });

/**
 * root(1) [0] → L3 table 2 [0] → L2 table 3: [0] → L1 table 4 (4K leaves at gfn 5 and 511),
 * [1] huge 2M leaf (gfns 512-1023, pfn 0x10000), [2] FROZEN; L3 table 2 [2] → L2 table 5 [0] → L1 table 6
 * (leaf at gfn 2*262144 + 3); L3 [1] a 1G leaf (gfns 262144-524287).
 */
function build(): Vm {
  const vm = newVm();
  for (const t of [1, 2, 3, 4, 5, 6]) clearTable(vm, t);
  setSpte(vm, ROOT, 0, makeNonleafLo(2), NONLEAF_HI);
  setSpte(vm, 2, 0, makeNonleafLo(3), NONLEAF_HI);
  setSpte(vm, 3, 0, makeNonleafLo(4), NONLEAF_HI);
  let l = leaf(0x1005, 1); setSpte(vm, 4, 5, l.lo, l.hi);
  l = leaf(0x11ff, 1); setSpte(vm, 4, 511, l.lo, l.hi);
  l = leaf(0x10000, 2); setSpte(vm, 3, 1, l.lo, l.hi);
  setSpte(vm, 3, 2, FROZEN_LO, FROZEN_HI);
  l = leaf(0x40000, 3); setSpte(vm, 2, 1, l.lo, l.hi);
  setSpte(vm, 2, 2, makeNonleafLo(5), NONLEAF_HI);
  setSpte(vm, 5, 0, makeNonleafLo(6), NONLEAF_HI);
  l = leaf(0x77777, 1); setSpte(vm, 6, 3, l.lo, l.hi);
  return vm;
}

const newLeaf = (): LeafRef => ({ sptep: 0, level: 0, table: 0, lo: 0, hi: 0, baseGfn: 0 });

function poolSnapshot(vm: Vm): Int32Array {
  return vm.i32.slice(vm.layout.ptBase, spteWord(vm.layout, 7, 0));
}

test('spteIndex and levelBaseGfn', (t) => {
  const gfn = (3 << 27) + (5 << 18) + (7 << 9) + 9;
  t.deepEqual([4, 3, 2, 1].map((l) => spteIndex(gfn, l)), [3, 5, 7, 9]);
  t.is(levelBaseGfn(gfn, 1), gfn);
  t.is(levelBaseGfn(gfn, 2), gfn - 9);
  t.is(levelBaseGfn(gfn, 3), gfn - 9 - (7 << 9));
  t.is(levelBaseGfn(gfn, 4), 3 << 27);
  t.deepEqual([4, 3, 2, 1].map((l) => spteIndex(2 ** 32 - 1, l)), [31, 511, 511, 511], 'the top of the 44-bit space (gfns are 32 bits)');
});

test('iterator: start at the root, step down level by level to the 4K leaf, recording the path', (t) => {
  const vm = build();
  const before = poolSnapshot(vm);
  const it = new TdpIter();
  tdpIterStart(vm, it, ROOT, 5);
  t.deepEqual([it.level, it.table, it.sptep], [4, ROOT, spteWord(vm.layout, ROOT, 0)]);
  t.is(it.oldLo, makeNonleafLo(2));
  tdpIterStepDown(vm, it);
  t.deepEqual([it.level, it.table], [3, 2]);
  tdpIterStepDown(vm, it);
  t.deepEqual([it.level, it.table], [2, 3]);
  tdpIterStepDown(vm, it);
  t.deepEqual([it.level, it.table, it.sptep], [1, 4, spteWord(vm.layout, 4, 5)]);
  t.is(sptePfn(it.oldLo, it.oldHi), 0x1005);
  t.deepEqual([...it.path].slice(1, 5), [4, 3, 2, ROOT]);
  t.deepEqual(poolSnapshot(vm), before, 'walking never writes');
});

test('iterator: the value read is the SPTE at the gfn’s index, present or not', (t) => {
  const vm = build();
  const it = new TdpIter();
  tdpIterStart(vm, it, ROOT, 6);
  tdpIterStepDown(vm, it); tdpIterStepDown(vm, it); tdpIterStepDown(vm, it);
  t.is(it.oldLo, 0);
  t.is(it.oldHi, 1 << 31, 'SHADOW_NONPRESENT_VALUE');
  tdpIterStart(vm, it, ROOT, 512 + 7);
  tdpIterStepDown(vm, it); tdpIterStepDown(vm, it);
  t.is(it.level, 2);
  t.is(sptePfn(it.oldLo, it.oldHi), 0x10000);
});

test('tdpIterStepIntoKnown steps into a just-linked table without reading it', (t) => {
  const vm = build();
  const it = new TdpIter();
  tdpIterStart(vm, it, ROOT, 5);
  tdpIterStepIntoKnown(vm, it, 9, 123, 456);
  t.deepEqual([it.level, it.table, it.sptep, it.oldLo, it.oldHi, it.path[3]], [3, 9, spteWord(vm.layout, 9, 0), 123, 456, 9]);
});

test('tdpFindLeaf stops at the leaf, the first non-present SPTE, or a FROZEN one', (t) => {
  const vm = build();
  const before = poolSnapshot(vm);
  const out = newLeaf();
  tdpFindLeaf(vm, ROOT, 511, out);
  t.deepEqual([out.level, out.table, out.baseGfn, sptePfn(out.lo, out.hi)], [1, 4, 511, 0x11ff]);
  tdpFindLeaf(vm, ROOT, 1000, out);
  t.deepEqual([out.level, out.table, out.baseGfn, sptePfn(out.lo, out.hi)], [2, 3, 512, 0x10000], '2M leaf');
  t.is(out.sptep, spteWord(vm.layout, 3, 1));
  tdpFindLeaf(vm, ROOT, 262144 + 99, out);
  t.deepEqual([out.level, out.table, out.baseGfn], [3, 2, 262144], '1G leaf');
  tdpFindLeaf(vm, ROOT, 1024 + 3, out);
  t.deepEqual([out.level, out.lo, out.hi], [2, FROZEN_LO, FROZEN_HI], 'frozen');
  tdpFindLeaf(vm, ROOT, 6, out);
  t.deepEqual([out.level, out.table, out.lo], [1, 4, 0], 'non-present 4K');
  tdpFindLeaf(vm, ROOT, 3 * 262144, out);
  t.deepEqual([out.level, out.table, out.lo, out.baseGfn], [3, 2, 0, 3 * 262144], 'non-present at L3');
  tdpFindLeaf(vm, ROOT, 1 << 27, out);
  t.deepEqual([out.level, out.table, out.lo], [4, ROOT, 0], 'non-present at the root');
  t.deepEqual(poolSnapshot(vm), before, 'walking never writes');
});

test('tdpNextLeaf visits the present leaves in gfn order, skipping non-present subtrees and FROZEN SPTEs', (t) => {
  const vm = build();
  const before = poolSnapshot(vm);
  const out = newLeaf();
  const seen: [number, number][] = [];
  let cursor = 0;
  const end = 1 << 27;
  while (tdpNextLeaf(vm, ROOT, cursor, end, out)) {
    seen.push([out.baseGfn, out.level]);
    cursor = out.baseGfn + (out.level === 1 ? 1 : out.level === 2 ? 512 : 262144);
  }
  t.deepEqual(seen, [[5, 1], [511, 1], [512, 2], [262144, 3], [2 * 262144 + 3, 1]]);
  t.deepEqual(poolSnapshot(vm), before, 'walking never writes');
});

test('tdpNextLeaf respects the cursor and the exclusive end', (t) => {
  const vm = build();
  const out = newLeaf();
  t.true(tdpNextLeaf(vm, ROOT, 6, 1 << 27, out));
  t.is(out.baseGfn, 511);
  t.true(tdpNextLeaf(vm, ROOT, 700, 1 << 27, out), 'a cursor inside a huge leaf finds that leaf');
  t.deepEqual([out.baseGfn, out.level], [512, 2]);
  t.false(tdpNextLeaf(vm, ROOT, 0, 5, out), 'end is exclusive');
  t.true(tdpNextLeaf(vm, ROOT, 0, 6, out));
  t.false(tdpNextLeaf(vm, ROOT, 1024, 262144, out), 'only FROZEN and non-present in between');
  t.false(tdpNextLeaf(vm, ROOT, 2 * 262144 + 4, 1 << 30, out));
  t.false(tdpNextLeaf(vm, ROOT, 10, 10, out), 'empty range');
});
