// Goal: every SPTE change goes through the two setters and handleChangedSpte with the kernel's assertions (forbidden transitions, lockdep), removed tables are frozen and RCU-queued, link/split/zap are single CASes that change nothing when they lose, and roots are refcounted; method: direct calls on a real Vm with a recording KvmThread.

import test from 'ava';
import { G, ROOT, TABLE, rootWord, spteWord, tableMetaWord } from '../../src/kvm/layout.js';
import { mmuReadTrylock, mmuWriteTrylock } from '../../src/kvm/mmu-lock.js';
import { TABLE_CACHED, TABLE_LIVE, TABLE_REMOVED, mmuTopupMemoryCaches, tableState, tdpMmuAllocSp } from '../../src/kvm/page-pool.js';
import {
  FROZEN_HI, FROZEN_LO, NONLEAF_HI, NONPRESENT_HI, NONPRESENT_LO, SPTE_A, SPTE_D, SPTE_PS, SPTE_W, isFrozen, isLarge,
  isShadowPresent, makeMmioHi, makeMmioLo, makeNonleafLo, makeSpteHi, makeSpteLo, spteChildTable, sptePfn,
} from '../../src/kvm/spte.js';
import {
  casLockless, claimInvalidatedRoots, handleChangedSpte, handleRemovedPt, isObsoleteRoot, isObsoleteRootLocked, kvmTdpMmuGetVcpuRoot, kvmTdpMmuInvalidateAllRoots,
  kvmTdpMmuPutRoot, referencedRootTable, rootTable, rootsInUse, sptePair, tdpMmuLinkSp, tdpMmuSetSpteAtomic, tdpMmuSetSpteLocked, tdpMmuSplitHugePage,
  tdpMmuZapSpteAtomic, vcpuRootSlot, wrprotLo,
} from '../../src/kvm/tdp-mmu.js';
import type { Vm } from '../../src/kvm/vm.js';
import { KVM_MEMSLOT_INVALID, memslotReplace, memslotsActiveSet } from '../../src/kvm/memslots.js';
import { getSpte, newVm, recorder, setSpte, vmWithSlot, type RecordingThread } from './fixtures.js';

const leafArgs = (pfn: number, level = 1, writable = true) => ({ pfn, level, hostWritable: true, writable, exec: false, prefetch: false });
const leaf = (pfn: number, level = 1, writable = true): [number, number] => [makeSpteLo(leafArgs(pfn, level, writable)), makeSpteHi(leafArgs(pfn, level, writable))];
const NP: [number, number] = [NONPRESENT_LO, NONPRESENT_HI];
const FROZEN: [number, number] = [FROZEN_LO, FROZEN_HI];

/** A table from actor 0's cache (every SPTE non-present). */
function table(vm: Vm, level: number, actor = 0): number {
  if (!mmuTopupMemoryCaches(vm, actor)) throw new Error('pool exhausted');
  return tdpMmuAllocSp(vm, actor, level, 0);
}

function allSptes(vm: Vm, tbl: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < 512; i++) out.push(getSpte(vm, tbl, i));
  return out;
}

const kinds = (t: RecordingThread): string[] => t.findings.map((f) => f.kind);

function change(th: RecordingThread, level: number, from: [number, number], to: [number, number]): void {
  handleChangedSpte(th, 0x42, from[0], from[1], to[0], to[1], level, true);
}

// ---------------------------------------------------------------- handleChangedSpte

test('present leaf → present leaf with another pfn is reported (handle_changed_spte BUG), at every level', (t) => {
  const vm = newVm();
  for (const level of [1, 2, 3]) {
    const th = recorder(vm, 0);
    change(th, level, leaf(0x1000 * 512, level), leaf(0x2000 * 512, level));
    t.deepEqual(kinds(th), ['forbidden-spte-transition'], `level ${level}`);
    t.is(th.findings[0]!.gfn, 0x42);
    t.regex(th.findings[0]!.message, /another pfn/);
  }
});

test('legal changes report nothing: same pfn with other permissions, zap, install, identical value', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  change(th, 1, leaf(7), leaf(7, 1, false)); // write-protect
  change(th, 1, leaf(7, 1, false), leaf(7)); // make writable
  change(th, 1, leaf(7), [leaf(7)[0] & ~SPTE_A, leaf(7)[1]]); // clear A
  change(th, 1, leaf(7), NP); // zap
  change(th, 1, NP, leaf(9)); // install
  change(th, 1, NP, NP);
  change(th, 2, leaf(512), NP);
  t.deepEqual(th.findings, []);
});

test('non-present → non-present is legal only with MMIO or a new FROZEN SPTE', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  const mmio: [number, number] = [makeMmioLo(5, 3), makeMmioHi(5, 3)];
  const mmio2: [number, number] = [makeMmioLo(5, 4), makeMmioHi(5, 4)];
  change(th, 1, NP, mmio);
  change(th, 1, mmio, NP);
  change(th, 1, mmio, mmio2);
  change(th, 1, NP, FROZEN);
  t.deepEqual(th.findings, []);
  change(th, 1, NP, [0, 0]);
  t.deepEqual(kinds(th), ['forbidden-spte-transition']);
  t.regex(th.findings[0]!.message, /non-present → non-present/);
});

test('FROZEN → non-present through handle_changed_spte is reported, as in the kernel (only a *new* FROZEN SPTE is exempt)', (t) => {
  // Kernel: WARN_ON_ONCE(!is_mmio_spte(old) && !is_mmio_spte(new) && !is_frozen_spte(new)).
  const vm = newVm();
  const th = recorder(vm, 0);
  change(th, 1, FROZEN, NP);
  t.deepEqual(kinds(th), ['forbidden-spte-transition']);
});

test('a present non-leaf replaced by non-present, a leaf or another table: the old table is removed', (t) => {
  const vm = newVm();
  for (const to of ['nonpresent', 'leaf', 'table'] as const) {
    const th = recorder(vm, 0);
    const child = table(vm, 1);
    setSpte(vm, child, 3, ...leaf(0x33));
    const pending = vm.i32[G.POOL_PENDING_COUNT]!;
    const next: [number, number] = to === 'nonpresent' ? NP : to === 'leaf' ? leaf(512 * 9, 2) : [makeNonleafLo(table(vm, 1)), NONLEAF_HI];
    change(th, 2, [makeNonleafLo(child), NONLEAF_HI], next);
    t.deepEqual(th.findings, [], to);
    t.is(tableState(vm, child), TABLE_REMOVED, to);
    t.is(vm.i32[G.POOL_PENDING_COUNT], pending + 1, to);
    t.true(allSptes(vm, child).every(([lo, hi]) => isFrozen(lo, hi)), `${to}: children frozen`);
  }
});

test('a non-leaf that keeps its table (A bit change) removes nothing', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  const child = table(vm, 1);
  const pending = vm.i32[G.POOL_PENDING_COUNT]!;
  const lo = makeNonleafLo(child);
  change(th, 2, [lo, 0], [lo & ~SPTE_A, 0]);
  t.is(vm.i32[G.POOL_PENDING_COUNT], pending);
  t.not(tableState(vm, child), TABLE_REMOVED);
});

// ---------------------------------------------------------------- handleRemovedPt

test('handleRemovedPt freezes every child for good, recursively, and queues each table for RCU freeing', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  const l2 = table(vm, 2);
  const l1 = table(vm, 1);
  setSpte(vm, l2, 0, makeNonleafLo(l1), NONLEAF_HI);
  setSpte(vm, l2, 1, ...leaf(512 * 3, 2));
  setSpte(vm, l2, 2, FROZEN_LO, FROZEN_HI);
  setSpte(vm, l1, 7, ...leaf(0x77));
  const pending = vm.i32[G.POOL_PENDING_COUNT]!;
  const epoch = vm.i32[G.RCU_EPOCH]!;
  handleRemovedPt(th, l2, 2, true);
  t.true(allSptes(vm, l2).every(([lo, hi]) => isFrozen(lo, hi)));
  t.true(allSptes(vm, l1).every(([lo, hi]) => isFrozen(lo, hi)));
  t.is(tableState(vm, l2), TABLE_REMOVED);
  t.is(tableState(vm, l1), TABLE_REMOVED);
  t.is(vm.i32[G.POOL_PENDING_COUNT], pending + 2);
  t.true(vm.i32[G.RCU_EPOCH]! > epoch, 'each queued table starts a grace period');
  t.deepEqual(th.findings, []);
});

// ---------------------------------------------------------------- the atomic setter

test('tdpMmuSetSpteAtomic: one CAS; on success memory changes and handleChangedSpte runs', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const tbl = table(vm, 1);
  const w = setSpte(vm, tbl, 4, ...NP);
  t.true(tdpMmuSetSpteAtomic(th, w, 1, 4, ...NP, ...leaf(0x44)));
  t.deepEqual(getSpte(vm, tbl, 4), leaf(0x44));
  t.deepEqual(th.writes, [w]);
  // A present leaf to another pfn through the setter: the BUG is reported.
  t.true(tdpMmuSetSpteAtomic(th, w, 1, 4, ...leaf(0x44), ...leaf(0x45)));
  t.deepEqual(kinds(th), ['forbidden-spte-transition']);
});

test('tdpMmuSetSpteAtomic: a lost CAS returns false and changes nothing', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const tbl = table(vm, 1);
  const w = setSpte(vm, tbl, 4, ...leaf(0x44));
  const before = vm.i32.slice(spteWord(vm.layout, tbl, 0), spteWord(vm.layout, tbl + 1, 0));
  t.false(tdpMmuSetSpteAtomic(th, w, 1, 4, ...NP, ...leaf(0x99)), 'stale old value');
  t.false(tdpMmuSetSpteAtomic(th, w, 1, 4, leaf(0x44)[0], leaf(0x44)[1] ^ 1, ...NP), 'high word differs');
  t.deepEqual(vm.i32.slice(spteWord(vm.layout, tbl, 0), spteWord(vm.layout, tbl + 1, 0)), before);
  t.deepEqual(th.findings, []);
  t.deepEqual(th.writes, []);
});

test('tdpMmuSetSpteAtomic without mmu_lock is a lock-discipline finding; on a FROZEN old value a WARN', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  const tbl = table(vm, 1);
  const w = setSpte(vm, tbl, 1, ...NP);
  tdpMmuSetSpteAtomic(th, w, 1, 1, ...NP, ...leaf(5));
  t.deepEqual(kinds(th), ['lock-discipline']);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const th2 = recorder(vm, 0);
  setSpte(vm, tbl, 1, ...FROZEN);
  tdpMmuSetSpteAtomic(th2, w, 1, 1, ...FROZEN, ...leaf(5));
  t.true(kinds(th2).includes('forbidden-spte-transition'));
  t.regex(th2.findings[0]!.message, /FROZEN/);
});

test('casLockless (fast_page_fault): CAS without bookkeeping', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  const tbl = table(vm, 1);
  const ro = leaf(8, 1, false);
  const w = setSpte(vm, tbl, 8, ...ro);
  t.false(casLockless(th, w, 1, 8, ...NP, ro[0] | SPTE_W, ro[1]));
  t.deepEqual(getSpte(vm, tbl, 8), ro);
  t.true(casLockless(th, w, 1, 8, ...ro, ro[0] | SPTE_W | SPTE_D, ro[1]));
  t.is(getSpte(vm, tbl, 8)[0], ro[0] | SPTE_W | SPTE_D);
  t.deepEqual(th.findings, []);
});

// ---------------------------------------------------------------- the write-locked setter

test('tdpMmuSetSpteLocked: needs the write lock, returns the value it replaced', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  const tbl = table(vm, 1);
  const w = setSpte(vm, tbl, 2, ...leaf(0x22));
  t.is(mmuReadTrylock(vm, 0), 'ok');
  tdpMmuSetSpteLocked(th, w, 1, 2, ...NP);
  t.deepEqual(kinds(th), ['lock-discipline'], 'read lock is not enough');
  const vm2 = newVm();
  const th2 = recorder(vm2, 1);
  const tbl2 = table(vm2, 1, 1);
  const w2 = setSpte(vm2, tbl2, 2, ...leaf(0x22));
  t.is(mmuWriteTrylock(vm2, 1), 'ok');
  t.deepEqual(tdpMmuSetSpteLocked(th2, w2, 1, 2, wrprotLo(leaf(0x22)[0]), leaf(0x22)[1]), leaf(0x22));
  t.is(getSpte(vm2, tbl2, 2)[0] & SPTE_W, 0);
  t.deepEqual(tdpMmuSetSpteLocked(th2, w2, 1, 2, ...NP), [wrprotLo(leaf(0x22)[0]), leaf(0x22)[1]]);
  t.deepEqual(getSpte(vm2, tbl2, 2), NP);
  t.deepEqual(th2.findings, []);
  t.deepEqual(th2.writes, [w2, w2]);
});

// ---------------------------------------------------------------- zap, link, split

test('tdpMmuZapSpteAtomic: freeze, flush while FROZEN, then clear; a lost CAS neither flushes nor writes', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const tbl = table(vm, 1);
  const w = setSpte(vm, tbl, 6, ...leaf(0x66));
  const seenDuringFlush: [number, number][] = [];
  const flush = (): void => { seenDuringFlush.push(sptePair(vm, w)); };
  t.false(tdpMmuZapSpteAtomic(th, w, 1, 6, ...leaf(0x67), true, flush));
  t.deepEqual(seenDuringFlush, []);
  t.deepEqual(getSpte(vm, tbl, 6), leaf(0x66));
  t.true(tdpMmuZapSpteAtomic(th, w, 1, 6, ...leaf(0x66), true, flush));
  t.deepEqual(seenDuringFlush, [FROZEN], 'the TLB flush happens while the SPTE is FROZEN');
  t.deepEqual(getSpte(vm, tbl, 6), NP);
  setSpte(vm, tbl, 6, ...leaf(0x66));
  t.true(tdpMmuZapSpteAtomic(th, w, 1, 6, ...leaf(0x66), false, flush));
  t.is(seenDuringFlush.length, 1, 'no flush for an invalid root');
  t.deepEqual(th.findings, []);
});

test('tdpMmuLinkSp: CAS a new table into a non-present SPTE; it becomes live with its parent recorded', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const parent = table(vm, 2);
  const child = table(vm, 1);
  t.is(tableState(vm, child), TABLE_CACHED);
  const w = spteWord(vm.layout, parent, 10);
  t.true(tdpMmuLinkSp(th, w, 2, 10 * 512, ...NP, child));
  t.deepEqual(getSpte(vm, parent, 10), [makeNonleafLo(child), NONLEAF_HI]);
  t.is(spteChildTable(getSpte(vm, parent, 10)[0]), child);
  t.is(tableState(vm, child), TABLE_LIVE);
  t.is(vm.i32[tableMetaWord(vm.layout, child, TABLE.PARENT)], w + 1);
  t.deepEqual(th.findings, []);
});

test('tdpMmuLinkSp: a lost CAS leaves the parent SPTE and the table state unchanged', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const parent = table(vm, 2);
  const child = table(vm, 1);
  const w = setSpte(vm, parent, 10, ...leaf(512 * 4, 2)); // someone installed a huge page meanwhile
  t.false(tdpMmuLinkSp(th, w, 2, 10 * 512, ...NP, child));
  t.deepEqual(getSpte(vm, parent, 10), leaf(512 * 4, 2));
  t.is(tableState(vm, child), TABLE_CACHED);
  t.is(vm.i32[tableMetaWord(vm.layout, child, TABLE.PARENT)], 0);
});

test('tdpMmuSplitHugePage: 2M → 512 4K leaves with the same pfns, permissions and A/D; 1G → 512 2M leaves', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const parent = table(vm, 2);
  for (const [level, base] of [[2, 0x3ffe00], [3, 0x40000 * 5]] as const) {
    const child = table(vm, level - 1);
    const huge = leaf(base, level);
    const w = setSpte(vm, parent, level, ...huge);
    t.true(tdpMmuSplitHugePage(th, w, level, 0, ...huge, child));
    t.deepEqual(getSpte(vm, parent, level), [makeNonleafLo(child), NONLEAF_HI]);
    const step = level === 2 ? 1 : 512;
    allSptes(vm, child).forEach(([lo, hi], i) => {
      if (sptePfn(lo, hi) !== base + i * step) t.fail(`L${level} child ${i}: pfn ${sptePfn(lo, hi)}`);
      if ((lo & 0xfff & ~SPTE_PS) !== (huge[0] & 0xfff & ~SPTE_PS)) t.fail(`L${level} child ${i}: flags`);
      if ((hi & ~0xfffff) !== (huge[1] & ~0xfffff)) t.fail(`L${level} child ${i}: high flags`);
      if (isLarge(lo) !== (level === 3)) t.fail(`L${level} child ${i}: PS`);
      if (!isShadowPresent(lo)) t.fail('not present');
    });
    t.is(tableState(vm, child), TABLE_LIVE);
  }
  t.deepEqual(th.findings, [], 'a split is not a pfn change');
});

test('tdpMmuSplitHugePage: a lost CAS leaves the huge SPTE in place', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const parent = table(vm, 2);
  const child = table(vm, 1);
  const huge = leaf(512 * 8, 2);
  const w = setSpte(vm, parent, 0, ...huge);
  t.false(tdpMmuSplitHugePage(th, w, 2, 0, ...leaf(512 * 9, 2), child));
  t.deepEqual(getSpte(vm, parent, 0), huge);
  t.is(tableState(vm, child), TABLE_CACHED);
});

// ---------------------------------------------------------------- roots

test('roots: get creates one with refcount 2 or takes a reference on a valid one; invalidation forces a new one', (t) => {
  const vm = newVm();
  const th0 = recorder(vm, 0);
  const th1 = recorder(vm, 1);
  t.is(kvmTdpMmuGetVcpuRoot(th0), -1, 'empty cache');
  t.true(mmuTopupMemoryCaches(vm, 0));
  const s0 = kvmTdpMmuGetVcpuRoot(th0);
  t.is(s0, 0);
  const refcount = (s: number): number => vm.i32[rootWord(vm.layout, s, ROOT.REFCOUNT)]!;
  t.is(refcount(s0), 2);
  t.is(vm.i32[rootWord(vm.layout, s0, ROOT.SCHEDULED_ZAP)], 1);
  const rt = rootTable(vm, s0);
  t.is(tableState(vm, rt), TABLE_LIVE);
  t.is(vm.i32[tableMetaWord(vm.layout, rt, TABLE.PARENT)], 0);
  t.is(vm.i32[tableMetaWord(vm.layout, rt, TABLE.LEVEL)], 4);
  t.false(isObsoleteRoot(vm, s0));
  t.true(isObsoleteRoot(vm, -1));
  t.is(vcpuRootSlot(vm, 0), -1, 'getting a root does not load it');
  t.is(kvmTdpMmuGetVcpuRoot(th1), s0, 'a valid root is shared');
  t.is(refcount(s0), 3);
  t.false(isObsoleteRootLocked(vm, s0), 'the plain read under mmu_lock agrees');
  t.is(referencedRootTable(vm, s0), rt);
  kvmTdpMmuInvalidateAllRoots(vm);
  t.true(isObsoleteRoot(vm, s0));
  t.true(isObsoleteRootLocked(vm, s0));
  t.true(isObsoleteRootLocked(vm, -1));
  const s1 = kvmTdpMmuGetVcpuRoot(th0);
  t.is(s1, 1);
  t.is(refcount(s1), 2);
  t.deepEqual(rootsInUse(vm), [0, 1]);
  t.deepEqual(claimInvalidatedRoots(vm), [0]);
  t.deepEqual(claimInvalidatedRoots(vm), [], 'claimed once');
});

test('roots: the last put frees the root and everything below it after a grace period', (t) => {
  const vm = newVm();
  const th = recorder(vm, 0);
  t.true(mmuTopupMemoryCaches(vm, 0));
  const s = kvmTdpMmuGetVcpuRoot(th);
  const rt = rootTable(vm, s);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const child = tdpMmuAllocSp(vm, 0, 3, 0);
  t.true(tdpMmuLinkSp(th, spteWord(vm.layout, rt, 0), 4, 0, ...NP, child));
  kvmTdpMmuGetVcpuRoot(recorder(vm, 1)); // refcount 3
  const pending = vm.i32[G.POOL_PENDING_COUNT]!;
  kvmTdpMmuPutRoot(th, s);
  kvmTdpMmuPutRoot(th, s);
  t.deepEqual(rootsInUse(vm), [s], 'still referenced');
  t.is(tableState(vm, rt), TABLE_LIVE);
  kvmTdpMmuPutRoot(th, s);
  t.deepEqual(rootsInUse(vm), []);
  t.is(tableState(vm, rt), TABLE_REMOVED);
  t.is(tableState(vm, child), TABLE_REMOVED);
  t.is(vm.i32[G.POOL_PENDING_COUNT], pending + 2);
  t.deepEqual(th.findings, []);
  t.true(mmuTopupMemoryCaches(vm, 0));
  t.is(kvmTdpMmuGetVcpuRoot(th), s, 'the slot is reused');
});

test('present leaf → MMIO SPTE is reported only over a memslot being deleted (R1); over a slot created after a no-slot lookup the kernel does it too', (t) => {
  const { vm, slot } = vmWithSlot({ baseGfn: 0x40, npages: 16 });
  const mmio: [number, number] = [makeMmioLo(0x42, 1), makeMmioHi(0x42, 1)];
  const live = recorder(vm, 0);
  change(live, 1, leaf(7, 1, false), mmio);
  t.deepEqual(live.findings, [], 'a valid slot: a stale no-slot fault racing its create');
  slot.flags |= KVM_MEMSLOT_INVALID;
  memslotReplace(vm, memslotsActiveSet(vm), slot);
  const dying = recorder(vm, 0);
  change(dying, 1, leaf(7, 1, false), mmio);
  t.deepEqual(kinds(dying), ['forbidden-spte-transition']);
  t.regex(dying.findings[0]!.message, /replaced by an MMIO SPTE \(a fault treated a memslot being deleted as no memslot\)/);
});
