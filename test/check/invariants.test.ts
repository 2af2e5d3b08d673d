// Goal: each check of the invariant scan passes a state the protocol produces and catches the hand-broken version of it — SPTE writable invariants, SPTEs outside memslots, freed or remapped host pages (with the in-progress invalidation exemption), a writable zero page, private/shared, mprotect, lost dirty pages, read-only slots, mixed-attribute hugepages, table reuse and two parents, lock discipline, unbalanced counters — in the full scan and the incremental one; method: real faults on a real Vm through the compiled page-fault machine, then one word of shared state changed by hand.

import test from 'ava';
import { checkQuiesced, checkSptes, scanInvariants } from '../../src/check/invariants.js';
import { rcuReadLock, rcuReadUnlock } from '../../src/kvm/rcu.js';
import { srcuReadLock, srcuReadUnlock } from '../../src/kvm/srcu.js';
import { dirtyBitmapAlloc } from '../../src/kvm/dirty-bitmap.js';
import type { Violation } from '../../src/kvm/findings.js';
import { HVA_READ, hostApplyChange, hostFreePage, isZeroPfn } from '../../src/kvm/host.js';
import { ACTOR, G, TABLE, TABLE_FREE, actorWord, tableMetaWord } from '../../src/kvm/layout.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, kvmStoreMemoryAttributes } from '../../src/kvm/mem-attrs.js';
import {
  KVM_MEMSLOT_INVALID, KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, SlotInfo, memslotRemove, memslotReplace, memslotsActiveSet,
} from '../../src/kvm/memslots.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd, mnActiveInvalidateInc } from '../../src/kvm/mmu-invalidate.js';
import { LOCK_HELD_READ, LOCK_HELD_WRITE } from '../../src/kvm/mmu-lock.js';
import { SPTE_HI_HOST_WRITABLE, SPTE_HI_MMU_WRITABLE, SPTE_W, sptePfn, spteChildTable } from '../../src/kvm/spte.js';
import { spteIndex } from '../../src/kvm/tdp-iter.js';
import { kvmTdpMmuInvalidateAllRoots, rootTable, vcpuRootSlot } from '../../src/kvm/tdp-mmu.js';
import type { Vm } from '../../src/kvm/vm.js';
import { compiled } from '../../src/protocol/machines.js';
import { fault, getSpte, leafOf, vmWithSlot, type SlotVm } from '../kvm/fixtures.js';

const kinds = (vs: readonly Violation[]): string[] => vs.map((v) => v.kind);

/** A VM with gfn `gfn` mapped writable by a real fault, and a clean scan to start from. */
function mapped(o: Parameters<typeof vmWithSlot>[0] = {}, gfn = 0x21): SlotVm & { gfn: number; sptep: number; pfn: number } {
  const s = vmWithSlot(o);
  const r = fault(s.a, gfn, { write: true });
  if (r.ret !== 'fixed') throw new Error(`setup fault: ${JSON.stringify(r)}`);
  const l = leafOf(s.a, gfn);
  return { ...s, gfn, sptep: l.sptep, pfn: sptePfn(l.lo, l.hi) };
}

function replaceSlot(vm: Vm, slot: SlotInfo, change: (s: SlotInfo) => void): void {
  const next = new SlotInfo().copyFrom(slot);
  change(next);
  memslotReplace(vm, memslotsActiveSet(vm), next);
}

test('a state the protocol made passes both scans and the end-of-run balance', (t) => {
  const m = mapped();
  t.is(fault(m.a, 0x500, { write: false }).ret, 'fixed');
  t.deepEqual(scanInvariants(m.vm), []);
  t.deepEqual(checkSptes(m.vm, [m.sptep]), []);
  t.deepEqual(checkQuiesced(m.vm), []);
  t.deepEqual(m.violations, []);
});

test('check_spte_writable_invariants: W without MMU-writable', (t) => {
  const m = mapped();
  Atomics.and(m.vm.i32, m.sptep + 1, ~SPTE_HI_MMU_WRITABLE);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['spte-invariant']);
  t.deepEqual(kinds(checkSptes(m.vm, [m.sptep])), ['spte-invariant'], 'the incremental scan of the SPTE finds it too');
  t.deepEqual(checkSptes(m.vm, []), [], 'and only looks at the SPTEs it is given');
});

test('an SPTE outside every memslot is stale, unless its slot is INVALID (zapped by kvm_mmu_zap_all_fast later)', (t) => {
  const m = mapped();
  replaceSlot(m.vm, m.slot, (s) => { s.flags = KVM_MEMSLOT_INVALID; });
  // Being deleted or moved, the slot's SPTEs are not checked against the host any more.
  hostApplyChange(m.vm, 'migrate', m.slot.hvaBase + m.gfn, m.slot.hvaBase + m.gfn + 1, 0);
  t.deepEqual(scanInvariants(m.vm), []);
  memslotRemove(m.vm, memslotsActiveSet(m.vm), m.slot.id);
  const v = scanInvariants(m.vm);
  t.deepEqual(kinds(v), ['stale-spte']);
  t.is(v[0]!.gfn, m.gfn);
});

test('a hugepage SPTE running past the end of its (shrunk) slot is stale, unless the slot is INVALID', (t) => {
  const m = mapped({ backingLevel: 2 }, 0x203);
  t.is(leafOf(m.a, 0x203).level, 2);
  replaceSlot(m.vm, m.slot, (s) => { s.npages = 0x300; s.flags = KVM_MEMSLOT_INVALID; });
  t.deepEqual(scanInvariants(m.vm), []);
  replaceSlot(m.vm, m.slot, (s) => { s.npages = 0x300; });
  t.deepEqual(kinds(scanInvariants(m.vm)), ['stale-spte']);
});

test('an SPTE to a host page the host has freed is a use-after-free', (t) => {
  const m = mapped();
  hostFreePage(m.vm, m.pfn);
  const v = scanInvariants(m.vm);
  t.deepEqual(kinds(v), ['use-after-free']);
  t.is(v[0]!.pfn, m.pfn);
});

test('an SPTE to a page the host no longer maps there: legal only while an invalidation covering it is in progress', (t) => {
  const m = mapped();
  kvmMmuInvalidateBegin(m.vm);
  kvmMmuInvalidateRangeAdd(m.vm, m.gfn, m.gfn + 1);
  hostApplyChange(m.vm, 'migrate', m.slot.hvaBase + m.gfn, m.slot.hvaBase + m.gfn + 1, 0);
  t.deepEqual(scanInvariants(m.vm), [], 'the notifier has not returned yet');
  kvmMmuInvalidateEnd(m.vm);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['use-after-free']);
});

test('an invalidation elsewhere does not exempt the SPTE', (t) => {
  const m = mapped();
  kvmMmuInvalidateBegin(m.vm);
  kvmMmuInvalidateRangeAdd(m.vm, m.gfn + 1, m.gfn + 100);
  hostApplyChange(m.vm, 'migrate', m.slot.hvaBase + m.gfn, m.slot.hvaBase + m.gfn + 1, 0);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['use-after-free']);
});

test('a writable SPTE over a host page made read-only (mprotect without a zap) is stale', (t) => {
  const m = mapped();
  hostApplyChange(m.vm, 'mprotect', m.slot.hvaBase + m.gfn, m.slot.hvaBase + m.gfn + 1, HVA_READ);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['stale-spte']);
});

test('a writable SPTE in a dirty-logged slot whose dirty bit is clear is a lost dirty page', (t) => {
  const m = mapped({ flags: KVM_MEM_LOG_DIRTY_PAGES });
  t.deepEqual(scanInvariants(m.vm), [], 'the fault marked it dirty');
  replaceSlot(m.vm, m.slot, (s) => { s.dirtyBase = dirtyBitmapAlloc(m.vm, s.npages); });
  t.deepEqual(kinds(scanInvariants(m.vm)), ['lost-dirty-page']);
});

test('a writable SPTE in a read-only memslot breaks the SPTE invariants', (t) => {
  const m = mapped();
  replaceSlot(m.vm, m.slot, (s) => { s.flags = KVM_MEM_READONLY; });
  t.deepEqual(kinds(scanInvariants(m.vm)), ['spte-invariant']);
});

test('a shared gfn converted to private while its hva page is still mapped is a private/shared mismatch', (t) => {
  const m = mapped({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD });
  t.deepEqual(scanInvariants(m.vm), []);
  kvmStoreMemoryAttributes(m.vm, m.gfn, m.gfn + 1, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['private-shared-mismatch']);
});

test('a 2M SPTE over gfns with different attributes is a mixed-attribute hugepage', (t) => {
  const m = mapped({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD, backingLevel: 2 }, 0x203);
  t.is(leafOf(m.a, 0x203).level, 2);
  t.deepEqual(scanInvariants(m.vm), []);
  kvmStoreMemoryAttributes(m.vm, 0x3ff, 0x400, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['mixed-attribute-hugepage', 'private-shared-mismatch']);
});

test('a table linked from a live SPTE must be live with that one parent', (t) => {
  const m = mapped();
  const root = rootTable(m.vm, vcpuRootSlot(m.vm, m.a.actor));
  const child = spteChildTable(getSpte(m.vm, root, spteIndex(m.gfn, m.vm.rootLevel))[0]);
  const parent = tableMetaWord(m.vm.layout, child, TABLE.PARENT);
  const good = Atomics.load(m.vm.i32, parent);
  Atomics.store(m.vm.i32, parent, good + 2);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['table-reuse']);
  t.regex(scanInvariants(m.vm)[0]!.message, /two parents/);
  Atomics.store(m.vm.i32, parent, good);
  Atomics.store(m.vm.i32, tableMetaWord(m.vm.layout, child, TABLE.STATE), TABLE_FREE);
  t.regex(scanInvariants(m.vm)[0]!.message, /not live/);
});

test('an obsolete root is not scanned (its SPTEs are zapped when its last reference goes)', (t) => {
  const m = mapped();
  hostFreePage(m.vm, m.pfn);
  kvmTdpMmuInvalidateAllRoots(m.vm);
  t.deepEqual(scanInvariants(m.vm), []);
  t.deepEqual(checkSptes(m.vm, [m.sptep]), []);
});

test('lock discipline: two writers, or a writer and a reader, at once; a broken lock word', (t) => {
  const m = mapped();
  const held = (actor: number, v: number) => Atomics.store(m.vm.i32, actorWord(m.vm.layout, actor, ACTOR.LOCK_HELD), v);
  held(0, LOCK_HELD_READ);
  held(1, LOCK_HELD_READ);
  t.deepEqual(scanInvariants(m.vm), [], 'two readers are fine');
  held(2, LOCK_HELD_WRITE);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['lock-discipline']);
  held(0, 0);
  held(1, LOCK_HELD_WRITE);
  t.deepEqual(kinds(checkSptes(m.vm, [])), ['lock-discipline'], 'the incremental scan checks the globals too');
  held(1, 0);
  held(2, 0);
  t.deepEqual(scanInvariants(m.vm), []);
  Atomics.store(m.vm.i32, G.MMU_LOCK, compiled('mmu-lock').stateIndex.get('broken')! << 24);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['lock-discipline']);
});

test('counters: in_progress below zero at any time; in_progress or mn_active_invalidate_count left over at the end', (t) => {
  const m = mapped();
  kvmMmuInvalidateBegin(m.vm);
  t.deepEqual(scanInvariants(m.vm), [], 'an invalidation in progress is fine during a run');
  t.deepEqual(kinds(checkQuiesced(m.vm)), ['unbalanced-in-progress']);
  kvmMmuInvalidateEnd(m.vm);
  t.deepEqual(checkQuiesced(m.vm), []);
  kvmMmuInvalidateEnd(m.vm);
  t.deepEqual(kinds(scanInvariants(m.vm)), ['unbalanced-in-progress']);
  Atomics.store(m.vm.i32, G.INVALIDATE_IN_PROGRESS, 0);
  mnActiveInvalidateInc(m.vm);
  t.regex(checkQuiesced(m.vm).map((v) => v.message).join(), /mn_active_invalidate_count is 1/);
});

test('the zero page: a read fault of anonymous memory maps it read-only (clean); made writable by hand it is a zero-page violation', (t) => {
  const s = vmWithSlot({ hostMemory: 'anonymous' });
  t.is(fault(s.a, 0x30, { write: false }).ret, 'fixed');
  const l = leafOf(s.a, 0x30);
  t.true(isZeroPfn(s.vm, sptePfn(l.lo, l.hi)));
  t.is(l.lo & SPTE_W, 0, 'read-only');
  t.deepEqual(scanInvariants(s.vm), []);
  Atomics.or(s.vm.i32, l.sptep + 1, SPTE_HI_HOST_WRITABLE | SPTE_HI_MMU_WRITABLE);
  Atomics.or(s.vm.i32, l.sptep, SPTE_W);
  t.deepEqual(kinds(scanInvariants(s.vm)), ['zero-page']);
  t.deepEqual(kinds(checkSptes(s.vm, [l.sptep])), ['zero-page']);
});

test('at the end: an actor still inside rcu_read_lock() or holding kvm->srcu for read is lock-discipline', (t) => {
  const m = mapped();
  t.deepEqual(checkQuiesced(m.vm), []);
  rcuReadLock(m.vm, 0);
  t.deepEqual(kinds(checkQuiesced(m.vm)), ['lock-discipline']);
  t.regex(checkQuiesced(m.vm)[0]!.message, /rcu_read_lock\(\) after its last op/);
  rcuReadUnlock(m.vm, 0);
  srcuReadLock(m.vm, 1);
  t.regex(checkQuiesced(m.vm)[0]!.message, /kvm->srcu for read after its last op/);
  srcuReadUnlock(m.vm, 1);
  t.deepEqual(checkQuiesced(m.vm), []);
});
