// Goal: the page fault's guards and actions do what kvm_mmu_do_page_fault and kvm_tdp_mmu_map do — memslot lookup and its cache, the memslot and private/shared checks, pfn resolution, the goal level, is_page_fault_stale, the walk's link/split/install by CAS, fast_page_fault, prefetch — and a whole fault ends in the right RET_PF_* (retries by reason, errno paths); method: direct calls on a real Vm with a stub KvmActor, and whole faults stepped through the compiled page-fault machine with a hook between steps.

import test from 'ava';
import { explore, type RaceTarget } from '../../src/race/race.js';
import { scenarioHash } from '../../src/race/token.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { dirtyBitmapAlloc, testPageDirty } from '../../src/kvm/dirty-bitmap.js';
import { gmemPfn, hostApplyChange, hvaPfn } from '../../src/kvm/host.js';
import { ACTOR, G, TABLE, actorWord, tableMetaWord } from '../../src/kvm/layout.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, kvmStoreMemoryAttributes, kvmUpdateHugepageMixed } from '../../src/kvm/mem-attrs.js';
import {
  KVM_MEMSLOT_INVALID, KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, SlotInfo, memslotReplace, memslotsActiveSet,
} from '../../src/kvm/memslots.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd } from '../../src/kvm/mmu-invalidate.js';
import { mmuReadTrylock } from '../../src/kvm/mmu-lock.js';
import { TABLE_FREE, tableState } from '../../src/kvm/page-pool.js';
import * as pf from '../../src/kvm/page-fault.js';
import { FROZEN_HI, FROZEN_LO, SPTE_A, SPTE_D, SPTE_PS, SPTE_W, SPTE_X, isMmio, isShadowPresent, makeSpteHi, makeSpteLo, spteChildTable, sptePfn } from '../../src/kvm/spte.js';
import { spteIndex } from '../../src/kvm/tdp-iter.js';
import { kvmTdpMmuInvalidateAllRoots, rootTable, vcpuRootSlot, wrprotLo } from '../../src/kvm/tdp-mmu.js';
import { fault, init, leafOf, once, setSpte, vmWithSlot as setup } from './fixtures.js';

// ---------------------------------------------------------------- entry and memslot lookup

test('fault entry fills struct kvm_page_fault and looks the memslot up; a gfn outside every slot has none', (t) => {
  const { a, slot } = setup({ baseGfn: 0x100 });
  init(a, 0x180, { write: true, prefetch: true });
  const f = a.fault;
  t.deepEqual([f.gfn, f.write, f.exec, f.prefetch, f.ret, f.errno, f.sp], [0x180, true, false, true, 'continue', null, 0]);
  t.true(f.slot.valid);
  t.deepEqual([f.slot.id, f.slot.baseGfn, f.slot.hvaBase], [0, 0x100, slot.hvaBase]);
  init(a, 0x100 + slot.npages);
  t.false(a.fault.slot.valid);
  t.true(pf.noSlot(a));
  t.false(pf.slotIsInvalid(a));
});

test('the last used slot serves the next lookup only while the memslot generation is unchanged', (t) => {
  const { vm, a, slot } = setup();
  init(a, 5);
  const changed = new SlotInfo().copyFrom(slot);
  changed.flags = KVM_MEM_READONLY;
  memslotReplace(vm, memslotsActiveSet(vm), changed); // behind the cache's back: no generation bump
  init(a, 6);
  t.is(a.fault.slot.flags, 0, 'cached');
  Atomics.add(vm.i32, G.MEMSLOTS_GEN, 1);
  init(a, 6);
  t.is(a.fault.slot.flags, KVM_MEM_READONLY, 'looked up again');
});

test('setRet keeps a reason only for a retry; setFaultErrno is the r < 0 path', (t) => {
  const { a } = setup();
  init(a, 1);
  pf.setRet(a, 'retry', 'stale');
  t.deepEqual([a.fault.ret, a.fault.retryReason], ['retry', 'stale']);
  pf.setRet(a, 'fixed', 'stale');
  t.deepEqual([a.fault.ret, a.fault.retryReason], ['fixed', null]);
  pf.setFaultErrno(a, 'EFAULT');
  t.deepEqual([a.fault.ret, a.fault.errno], ['continue', 'EFAULT']);
});

// ---------------------------------------------------------------- memslot and pfn checks

test('an INVALID slot is both slotIsInvalid and noSlot; a readonly slot refuses writes only; gfns above the max gfn', (t) => {
  const inv = setup({ flags: KVM_MEMSLOT_INVALID });
  init(inv.a, 3);
  t.true(pf.slotIsInvalid(inv.a));
  t.true(pf.noSlot(inv.a));
  const ro = setup({ flags: KVM_MEM_READONLY });
  init(ro.a, 3, { write: true });
  t.true(pf.writeToReadonlySlot(ro.a));
  init(ro.a, 3);
  t.false(pf.writeToReadonlySlot(ro.a));
  t.false(pf.slotIsInvalid(ro.a));
  init(ro.a, ro.a.vm.maxGfn);
  t.false(pf.gfnAboveMaxGfn(ro.a));
  init(ro.a, ro.a.vm.maxGfn + 1);
  t.true(pf.gfnAboveMaxGfn(ro.a));
});

test('private/shared mismatch: only on a VM with private memory, against the attributes', (t) => {
  const def = setup();
  init(def.a, 3, { isPrivate: true });
  t.false(pf.isPrivateMismatch(def.a), 'a default VM has no private memory');
  const sw = setup({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD });
  kvmStoreMemoryAttributes(sw.vm, 0, 16, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  init(sw.a, 3, { isPrivate: false });
  t.true(pf.isPrivateMismatch(sw.a));
  init(sw.a, 3, { isPrivate: true });
  t.false(pf.isPrivateMismatch(sw.a));
  init(sw.a, 20, { isPrivate: true });
  t.true(pf.isPrivateMismatch(sw.a));
});

test('kvm_gmem_get_pfn only for a guest_memfd slot: its page, writable, 4K', (t) => {
  const plain = setup();
  init(plain.a, 3, { isPrivate: true });
  t.false(pf.tryKvmGmemGetPfn(plain.a));
  const { vm, a, slot } = setup({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD });
  init(a, 3, { isPrivate: true });
  t.true(pf.tryKvmGmemGetPfn(a));
  t.is(a.fault.pfn, gmemPfn(vm, slot.gmemBase + 3));
  t.deepEqual([a.fault.mapWritable, a.fault.hostLevel], [true, 1]);
});

test('hva_to_pfn faults the host page in; a readonly slot maps it read-only; an unmapped hva is KVM_PFN_ERR_FAULT', (t) => {
  const { vm, a, slot } = setup();
  init(a, 7, { write: true });
  t.true(pf.tryHvaToPfn(a));
  t.is(a.fault.pfn, hvaPfn(vm, slot.hvaBase + 7));
  t.true(a.fault.mapWritable);
  const ro = setup({ flags: KVM_MEM_READONLY });
  init(ro.a, 7);
  t.true(pf.tryHvaToPfn(ro.a));
  t.false(ro.a.fault.mapWritable);
  hostApplyChange(vm, 'munmap', slot.hvaBase, slot.hvaBase + 16, 0);
  init(a, 8);
  t.false(pf.tryHvaToPfn(a));
});

test('goal level: 2M where backing, bounds and alignment allow (pfn aligned down); 4K under dirty logging, at a slot edge or over mixed attributes', (t) => {
  const huge = setup({ backingLevel: 2, npages: 2048 });
  init(huge.a, 0x203);
  t.true(pf.tryHvaToPfn(huge.a));
  const pfn = huge.a.fault.pfn;
  pf.computeGoalLevel(huge.a);
  t.is(huge.a.fault.goalLevel, 2);
  t.is(huge.a.fault.pfn, pfn - 3);
  const edge = setup({ backingLevel: 2, npages: 2048 + 16 });
  init(edge.a, 2048 + 3);
  t.true(pf.tryHvaToPfn(edge.a));
  pf.computeGoalLevel(edge.a);
  t.is(edge.a.fault.goalLevel, 1, 'the 2M region runs past the slot end');
  const logged = setup({ backingLevel: 2, flags: KVM_MEM_LOG_DIRTY_PAGES });
  init(logged.a, 0x203);
  t.true(pf.tryHvaToPfn(logged.a));
  pf.computeGoalLevel(logged.a);
  t.is(logged.a.fault.goalLevel, 1);
  const mixed = setup({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD, backingLevel: 2 });
  kvmStoreMemoryAttributes(mixed.vm, 0x200, 0x201, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  kvmUpdateHugepageMixed(mixed.vm, 0x200, 0x201);
  init(mixed.a, 0x203);
  t.true(pf.tryHvaToPfn(mixed.a));
  pf.computeGoalLevel(mixed.a);
  t.is(mixed.a.fault.goalLevel, 1);
});

// ---------------------------------------------------------------- is_page_fault_stale and the retry checks

test('is_page_fault_stale: an obsolete root, or an invalidation since the seq snapshot or over the gfn', (t) => {
  const { vm, a } = setup();
  init(a, 9);
  pf.snapshotMmuSeq(a);
  t.false(pf.faultIsObsoleteRoot(a));
  t.false(pf.faultRetryLocked(a));
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 100, 200);
  t.false(pf.faultRetryLocked(a), 'in progress elsewhere');
  t.false(pf.faultRetryUnsafe(a));
  kvmMmuInvalidateRangeAdd(vm, 9, 10);
  t.true(pf.faultRetryLocked(a), 'in progress over the gfn');
  t.true(pf.faultRetryUnsafe(a));
  kvmMmuInvalidateEnd(vm);
  t.true(pf.faultRetryLocked(a), 'ended since the snapshot: the seq moved');
  pf.snapshotMmuSeq(a);
  t.false(pf.faultRetryLocked(a));
  kvmTdpMmuInvalidateAllRoots(vm);
  t.true(pf.faultIsObsoleteRoot(a));
});

test('mmu_invalidate_retry_gfn() under mmu_lock WARNs when in_progress is raised with no range added, and retries', (t) => {
  const { vm, a, violations } = setup();
  init(a, 9);
  pf.snapshotMmuSeq(a);
  kvmMmuInvalidateBegin(vm);
  t.false(pf.faultRetryUnsafe(a), 'the lockless pre-check compares against INVALID_GPA: no retry');
  t.true(pf.faultRetryLocked(a));
  t.is(violations.length, 1);
  t.is(violations[0]!.kind, 'unbalanced-in-progress');
  t.regex(violations[0]!.message, /mmu_invalidate_retry_gfn\(\) WARNs/);
  kvmMmuInvalidateRangeAdd(vm, 100, 200);
  t.false(pf.faultRetryLocked(a), 'with a range elsewhere: no retry, no WARN');
  t.is(violations.length, 1);
});

test('is_page_fault_stale with no root loaded reports the INVALID_PAGE dereference (R11) and retries', (t) => {
  const { vm, a, violations } = setup();
  Atomics.store(vm.i32, actorWord(vm.layout, a.actor, ACTOR.ROOT_SLOT), -1);
  init(a, 9);
  t.true(pf.faultIsObsoleteRoot(a));
  t.deepEqual(violations.map((v) => v.kind), ['invalid-root']);
});

test('read unlock without the lock is a lock-discipline finding; the trylock takes it for read', (t) => {
  const { a, violations } = setup();
  pf.faultReadUnlock(a);
  t.deepEqual(violations.map((v) => v.kind), ['lock-discipline']);
  t.true(pf.tryReadLock(a));
  pf.faultReadUnlock(a);
  t.is(violations.length, 1);
});

// ---------------------------------------------------------------- whole faults: RET_PF_* and retries by reason

test('a first fault links the missing tables and installs the leaf: RET_PF_FIXED; the same fault again is RET_PF_SPURIOUS', (t) => {
  const { vm, a, slot, violations } = setup();
  const r = fault(a, 0x42, { write: true });
  t.deepEqual([r.ret, r.reason, r.errno], ['fixed', null, null]);
  t.deepEqual(r.states.filter((s) => s === 'link').length, 3, 'three tables below the root');
  const l = leafOf(a, 0x42);
  t.is(l.level, 1);
  t.is(sptePfn(l.lo, l.hi), hvaPfn(vm, slot.hvaBase + 0x42));
  t.not(l.lo & SPTE_A, 0);
  t.not(l.lo & SPTE_W, 0);
  t.is(fault(a, 0x42, { write: true }).ret, 'spurious');
  t.deepEqual(violations, []);
});

test('no memslot: an MMIO SPTE is installed and the fault emulates; above the max gfn it emulates without one', (t) => {
  const { a } = setup({ npages: 512 });
  const r = fault(a, 0x1000);
  t.deepEqual([r.ret, r.reason], ['emulate', null]);
  const l = leafOf(a, 0x1000);
  t.true(isMmio(l.lo, l.hi));
  t.is(fault(a, 0x1000).ret, 'emulate', 'already there: still emulate');
  const above = fault(a, a.vm.maxGfn + 1);
  t.is(above.ret, 'emulate');
  t.false(above.states.includes('lock'));
});

test('an INVALID slot retries (invalid-slot); a prefetch on it fails with EAGAIN', (t) => {
  const { a } = setup({ flags: KVM_MEMSLOT_INVALID });
  t.deepEqual(fault(a, 3), { ret: 'retry', reason: 'invalid-slot', errno: null, states: ['topup', 'snapshot', 'precheck', 'slotChecks'] });
  const p = fault(a, 3, { prefetch: true });
  t.deepEqual([p.ret, p.errno], ['continue', 'EAGAIN']);
});

test('a write to a readonly slot emulates; a shared access to a private gfn is EFAULT', (t) => {
  const ro = setup({ flags: KVM_MEM_READONLY });
  t.is(fault(ro.a, 3, { write: true }).ret, 'emulate');
  t.is(fault(ro.a, 3).ret, 'fixed');
  const sw = setup({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD });
  kvmStoreMemoryAttributes(sw.vm, 0, 16, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  t.deepEqual(fault(sw.a, 3).errno, 'EFAULT');
  t.deepEqual(fault(sw.a, 3, { isPrivate: true }).ret, 'fixed');
  const l = leafOf(sw.a, 3);
  t.is(sptePfn(l.lo, l.hi), gmemPfn(sw.vm, sw.slot.gmemBase + 3), 'a private gfn maps the guest_memfd page');
  t.deepEqual(fault(sw.a, 20, { isPrivate: true }).errno, 'EFAULT', 'private access to a shared gfn');
});

test('retries by reason: invalidation before gup, after gup, stale under the lock, obsolete root', (t) => {
  const { vm, a } = setup();
  kvmMmuInvalidateBegin(vm);
  kvmMmuInvalidateRangeAdd(vm, 0, 16);
  t.is(fault(a, 3).reason, 'invalidate-precheck');
  kvmMmuInvalidateEnd(vm);
  const begin = () => { kvmMmuInvalidateBegin(vm); kvmMmuInvalidateRangeAdd(vm, 0, 16); };
  const post = once(begin);
  t.is(fault(a, 3, {}, (s) => post(s, 'postcheck')).reason, 'invalidate-postcheck');
  kvmMmuInvalidateEnd(vm);
  const stale = once(() => { begin(); kvmMmuInvalidateEnd(vm); });
  t.is(fault(a, 3, {}, (s) => stale(s, 'lock')).reason, 'stale');
  const obsolete = once(() => kvmTdpMmuInvalidateAllRoots(vm));
  t.is(fault(a, 3, {}, (s) => obsolete(s, 'lock')).reason, 'obsolete-root');
});

test('retries by reason: a FROZEN SPTE on the walk, and a lost CAS at link and at install', (t) => {
  const { vm, a, violations } = setup();
  const root = rootTable(vm, vcpuRootSlot(vm, a.actor));
  setSpte(vm, root, spteIndex(3, 4), FROZEN_LO, FROZEN_HI);
  t.is(fault(a, 3).reason, 'frozen');
  setSpte(vm, root, spteIndex(3, 4), 0, 1 << 31);
  // Another walker links the same table first: our CAS fails, our table goes back.
  const steal = once(() => Atomics.store(vm.i32, a.iter.sptep, Atomics.load(vm.i32, a.iter.sptep) ^ 1));
  const lost = fault(a, 3, {}, (s) => steal(s, 'link'));
  t.deepEqual([lost.ret, lost.reason], ['retry', 'cas-failed']);
  t.is(a.fault.sp, 0, 'the unused table was freed');
  t.is(a.stats.casFailures, 1);
  t.is(fault(a, 3).ret, 'fixed', 'and the retry succeeds');
  // Another actor freezes the SPTE the iterator read, between the read and our install.
  const target = once(() => Atomics.store(vm.i32, a.iter.sptep, FROZEN_LO));
  setSpte(vm, a.iter.table, spteIndex(3, 1), 0, 1 << 31);
  const late = fault(a, 3, { write: true }, (s) => target(s, 'target'));
  t.deepEqual([late.ret, late.reason], ['retry', 'cas-failed']);
  t.deepEqual(violations.filter((v) => v.kind !== 'forbidden-spte-transition'), []);
});

// ---------------------------------------------------------------- prefetch, huge pages, fast path, table reuse

test('prefetch: installs without the Accessed bit, and never overwrites a present SPTE (spurious)', (t) => {
  const { a } = setup();
  t.is(fault(a, 5, { prefetch: true }).ret, 'fixed');
  const l = leafOf(a, 5);
  t.is(l.lo & SPTE_A, 0);
  // Write-protected, so only the prefetch rule (not an allowed access) makes the write spurious.
  Atomics.store(a.vm.i32, l.sptep, wrprotLo(l.lo));
  const again = fault(a, 5, { prefetch: true, write: true });
  t.is(again.ret, 'spurious');
  t.is(leafOf(a, 5).lo, wrprotLo(l.lo), 'unchanged');
  t.is(fault(a, 5, { write: true }).ret, 'fixed', 'a real fault does make it writable');
});

test('a 2M mapping, then a 4K goal inside it (dirty logging turned on): the huge SPTE is split into an equivalent table', (t) => {
  const { vm, a, slot } = setup({ backingLevel: 2 });
  t.is(fault(a, 0x203, { write: true }).ret, 'fixed');
  const huge = leafOf(a, 0x203);
  t.is(huge.level, 2);
  t.not(huge.lo & SPTE_PS, 0);
  const logged = new SlotInfo().copyFrom(slot);
  logged.flags = KVM_MEM_LOG_DIRTY_PAGES;
  logged.dirtyBase = dirtyBitmapAlloc(vm, logged.npages);
  memslotReplace(vm, memslotsActiveSet(vm), logged);
  Atomics.add(vm.i32, G.MEMSLOTS_GEN, 1);
  const r = fault(a, 0x205, { write: true });
  t.true(r.states.includes('split'));
  const base = sptePfn(huge.lo, huge.hi);
  const child = spteChildTable(Atomics.load(vm.i32, huge.sptep));
  for (const i of [0, 3, 511]) {
    const small = leafOf(a, 0x200 + i);
    t.is(small.level, 1);
    t.is(small.table, child);
    t.is(sptePfn(small.lo, small.hi), base + i, `entry ${i}`);
    t.is(small.lo & SPTE_PS, 0);
  }
});

test('fast_page_fault: a write to a write-protected MMU-writable 4K SPTE is fixed by CAS and logged dirty; an allowed access is spurious', (t) => {
  const { vm, a, slot } = setup({ flags: KVM_MEM_LOG_DIRTY_PAGES });
  t.is(fault(a, 9, { write: true }).ret, 'fixed');
  const l = leafOf(a, 9);
  Atomics.store(vm.i32, l.sptep, wrprotLo(l.lo) & ~SPTE_D);
  init(a, 9, { write: true, present: true });
  t.true(pf.tryFastPageFault(a));
  t.is(a.fault.ret, 'fixed');
  t.not(leafOf(a, 9).lo & SPTE_W, 0);
  t.true(testPageDirty(vm, slot, 9));
  init(a, 9, { present: true });
  t.true(pf.tryFastPageFault(a));
  t.is(a.fault.ret, 'spurious');
  init(a, 10, { write: true, present: true });
  t.false(pf.tryFastPageFault(a), 'nothing mapped: the slow path');
  init(a, 9, { write: true, present: false });
  t.false(pf.tryFastPageFault(a), 'not a permission fault');
});

test('fast_page_fault refuses a private gfn and a prefetch: they take the slow path', (t) => {
  const { vm, a } = setup({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD });
  t.is(fault(a, 3, { write: true }).ret, 'fixed');
  kvmStoreMemoryAttributes(vm, 0, 16, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  init(a, 3, { present: true });
  t.false(pf.tryFastPageFault(a));
  init(a, 30, { present: true, prefetch: true });
  t.false(pf.tryFastPageFault(a));
});

test('stepping into a table that was freed meanwhile is reported as table reuse', (t) => {
  const { vm, a, violations } = setup();
  t.is(fault(a, 3).ret, 'fixed');
  init(a, 3);
  t.true(mmuReadTrylock(vm, a.actor) === 'ok');
  pf.faultIterStart(a);
  const child = spteChildTable(a.iter.oldLo);
  Atomics.store(vm.i32, tableMetaWord(vm.layout, child, TABLE.STATE), TABLE_FREE);
  t.is(tableState(vm, child), TABLE_FREE);
  pf.faultIterStepDown(a);
  t.deepEqual(violations.map((v) => v.kind), ['table-reuse']);
});

test('spurious-access and equality guards read the iterator and the new SPTE', (t) => {
  const { vm, a, slot } = setup();
  t.is(fault(a, 4, { write: true }).ret, 'fixed');
  init(a, 4);
  a.iter.oldLo = leafOf(a, 4).lo;
  a.iter.oldHi = leafOf(a, 4).hi;
  a.iter.level = 1;
  t.true(pf.isSpuriousAccess(a));
  t.true(pf.accessAllowed(a.iter.oldLo, true, false));
  t.false(pf.accessAllowed(wrprotLo(a.iter.oldLo), true, false));
  t.true(pf.accessAllowed(a.iter.oldLo, false, true));
  t.false(pf.accessAllowed(a.iter.oldLo & ~SPTE_X, false, true), 'no X: exec not allowed');
  t.true(pf.tryHvaToPfn(a));
  const args = { pfn: hvaPfn(vm, slot.hvaBase + 4), level: 1, hostWritable: true, writable: true, exec: true, prefetch: false };
  a.iter.oldLo = makeSpteLo(args);
  a.iter.oldHi = makeSpteHi(args);
  t.true(pf.newSpteEqualsOld(a));
  t.true(isShadowPresent(a.fault.newLo));
});

test('386d69f9f29b (6.13): a fault that finds a present leaf already allowing its access is spurious; on 6.12 it installs its own SPTE unless that equals the old one', (t) => {
  for (const kernel of ['6.12', '6.13'] as const) {
    const { a } = setup({ kernel });
    t.is(fault(a, 4, { prefetch: true }).ret, 'fixed', 'a pre-fault maps the page (no A bit)');
    const prefetched = leafOf(a, 4);
    const again = fault(a, 4);
    t.is(again.ret, kernel === '6.13' ? 'spurious' : 'fixed', kernel);
    const now = leafOf(a, 4);
    if (kernel === '6.13') t.deepEqual([now.lo, now.hi], [prefetched.lo, prefetched.hi], 'nothing rewritten');
    else t.notDeepEqual([now.lo, now.hi], [prefetched.lo, prefetched.hi], 'the guest fault rewrote the SPTE');
  }
  const { a } = setup({ kernel: '6.12' });
  t.is(fault(a, 4, { write: true }).ret, 'fixed');
  t.is(fault(a, 4).ret, 'spurious', '6.12: an identical new SPTE is still spurious');
});

/**
 * Two vCPUs write one page of a dirty-logged slot across KVM_GET_DIRTY_LOGs: each first
 * write after a GET is a fast page fault, whose mark_page_dirty_in_slot() comes one step
 * after its cmpxchg — a window in which the other vCPU writes through the SPTE and a GET
 * can run.
 */
const fastMarkWindow = {
  name: 'fast-pf-mark-window',
  vm: { type: 'default', vcpus: 2 },
  memslots: [{ slot: 0, gpa: '0x0', size: '4MiB', flags: ['log_dirty_pages'] }],
  ops: [
    { actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'write' },
    { actor: 'vmm', op: 'get_dirty_log', slot: 0, after: 0 },
    { actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'write', after: 1 },
    { actor: 'vcpu1', op: 'access', gpa: '0x1000', access: 'write', after: 1 },
    { actor: 'vmm', op: 'get_dirty_log', slot: 0 },
    { actor: 'vmm', op: 'get_dirty_log', slot: 0 },
  ],
};
const fastMarkTarget: RaceTarget = { id: 'test:fast-pf-mark-window', scenario: parseScenario(JSON.stringify(fastMarkWindow), 'fast-pf-mark-window'), hash: scenarioHash(fastMarkWindow), entry: null };

test('fast_page_fault() marks the page dirty a step after its cmpxchg: every schedule of the window keeps the dirty-log checks; a mark that never comes is a lost dirty page', (t) => {
  const clean = explore(fastMarkTarget, { budget: 800 });
  t.false(clean.found, clean.run?.violations[0]?.message ?? '');
  t.true([...clean.coverage].some(([name, n]) => name.startsWith('page-fault: topup → fastMark') && n > 0), 'the fast fix with its dirty mark ran');
  const lost = explore(fastMarkTarget, { budget: 800, skip: ['page-fault.fastPageFaultMarkDirty'] });
  t.true(lost.found);
  t.is(lost.run!.violations[0]!.kind, 'lost-dirty-page');
});
