// Goal: the two memslot sets support replace/remove/lookup/copy as kvm_replace_memslot and __gfn_to_memslot do, and the generation carries an update-in-progress flag around each swap; method: direct calls on a real Vm, plus the swap steps of set-memory-region.ts on a stub KvmActor.

import test from 'ava';
import { G } from '../../src/kvm/layout.js';
import { MEMSLOTS_MAX } from '../../src/kvm/limits.js';
import { genBeginUpdate, genEndUpdate, swapActiveMemslots } from '../../src/kvm/set-memory-region.js';
import {
  KVM_MEMSLOT_INVALID, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, SlotInfo, activeSlots, gfnToMemslot, idToMemslot, memslotRemove, memslotReplace,
  memslotsActiveSet, memslotsCopySet, memslotsCount, memslotsGeneration, memslotsUpdateInProgress, readSlot, slotLevelAligned,
} from '../../src/kvm/memslots.js';
import type { Vm } from '../../src/kvm/vm.js';
import { newVm, stubActor } from './fixtures.js';

function slot(id: number, baseGfn: number, npages: number, o: Partial<SlotInfo> = {}): SlotInfo {
  const s = new SlotInfo();
  s.id = id; s.baseGfn = baseGfn; s.npages = npages; s.flags = o.flags ?? 0; s.hvaBase = o.hvaBase ?? 1000 + id; s.gmemBase = o.gmemBase ?? 0; s.dirtyBase = o.dirtyBase ?? 0;
  return s;
}

const ids = (vm: Vm, set: number): number[] => Array.from({ length: memslotsCount(vm, set) }, (_, i) => readSlot(vm, set, i, new SlotInfo()).id);

test('a fresh VM: set 0 active, both sets empty, generation 0, no update in progress', (t) => {
  const vm = newVm();
  t.is(memslotsActiveSet(vm), 0);
  t.is(memslotsCount(vm, 0), 0);
  t.is(memslotsCount(vm, 1), 0);
  t.is(memslotsGeneration(vm), 0);
  t.false(memslotsUpdateInProgress(vm));
  t.false(gfnToMemslot(vm, 0, 0, new SlotInfo()));
});

test('replace inserts a new id and overwrites an existing one in place', (t) => {
  const vm = newVm();
  memslotReplace(vm, 1, slot(3, 0, 16));
  memslotReplace(vm, 1, slot(7, 100, 8, { flags: KVM_MEM_LOG_DIRTY_PAGES, dirtyBase: 64, gmemBase: 5 }));
  t.deepEqual(ids(vm, 1), [3, 7]);
  t.is(memslotsCount(vm, 0), 0, 'the other set is untouched');
  memslotReplace(vm, 1, slot(3, 0, 16, { flags: KVM_MEM_READONLY | KVM_MEMSLOT_INVALID }));
  t.deepEqual(ids(vm, 1), [3, 7]);
  const out = new SlotInfo();
  t.true(idToMemslot(vm, 1, 3, out));
  t.is(out.flags, KVM_MEM_READONLY | KVM_MEMSLOT_INVALID);
  t.true(idToMemslot(vm, 1, 7, out));
  t.deepEqual([out.index, out.id, out.flags, out.baseGfn, out.npages, out.hvaBase, out.gmemBase, out.dirtyBase], [1, 7, KVM_MEM_LOG_DIRTY_PAGES, 100, 8, 1007, 5, 64]);
  t.true(out.valid);
});

test('lookup by gfn: inside [base, base + npages) only; a miss clears the output', (t) => {
  const vm = newVm();
  memslotReplace(vm, 0, slot(0, 0, 16));
  memslotReplace(vm, 0, slot(1, 32, 16));
  const out = new SlotInfo();
  t.true(gfnToMemslot(vm, 0, 15, out));
  t.is(out.id, 0);
  t.true(out.contains(15));
  t.false(gfnToMemslot(vm, 0, 16, out));
  t.false(out.valid);
  t.is(out.id, -1);
  t.true(gfnToMemslot(vm, 0, 32, out));
  t.is(out.id, 1);
  t.true(gfnToMemslot(vm, 0, 47, out));
  t.false(gfnToMemslot(vm, 0, 48, out));
  t.false(idToMemslot(vm, 0, 9, out));
  t.false(out.valid);
});

test('slots above 2^31 gfns (8 TiB) are found: base gfns are unsigned', (t) => {
  const vm = newVm();
  memslotReplace(vm, 0, slot(2, 0xc0000000, 512));
  const out = new SlotInfo();
  t.true(gfnToMemslot(vm, 0, 0xc0000005, out));
  t.is(out.baseGfn, 0xc0000000);
  t.false(gfnToMemslot(vm, 0, 5, out));
  memslotReplace(vm, 0, slot(3, 0xffffff00, 0x100));
  t.true(gfnToMemslot(vm, 0, 0xffffffff, out));
  t.is(out.id, 3);
});

test('remove packs the records; removing an absent id is a no-op', (t) => {
  const vm = newVm();
  for (const id of [1, 2, 3, 4]) memslotReplace(vm, 0, slot(id, id * 100, 10));
  memslotRemove(vm, 0, 2);
  t.deepEqual(ids(vm, 0), [1, 4, 3], 'the last record moves into the hole');
  memslotRemove(vm, 0, 3);
  t.deepEqual(ids(vm, 0), [1, 4]);
  memslotRemove(vm, 0, 99);
  t.deepEqual(ids(vm, 0), [1, 4]);
  const out = new SlotInfo();
  t.false(gfnToMemslot(vm, 0, 205, out));
  t.true(gfnToMemslot(vm, 0, 405, out));
  t.is(out.index, 1);
});

test('more than MEMSLOTS_MAX slots in a set is a RangeError', (t) => {
  const vm = newVm();
  for (let id = 0; id < MEMSLOTS_MAX; id++) memslotReplace(vm, 0, slot(id, id * 16, 16));
  t.throws(() => memslotReplace(vm, 0, slot(MEMSLOTS_MAX, 99999, 1)), { instanceOf: RangeError });
  memslotReplace(vm, 0, slot(5, 5 * 16, 8)); // replacing still works
  t.is(memslotsCount(vm, 0), MEMSLOTS_MAX);
});

test('copySet makes the other set identical (including count and removed records)', (t) => {
  const vm = newVm();
  memslotReplace(vm, 0, slot(1, 0, 10));
  memslotReplace(vm, 0, slot(2, 10, 10));
  memslotReplace(vm, 1, slot(9, 500, 10));
  memslotReplace(vm, 1, slot(8, 600, 10));
  memslotReplace(vm, 1, slot(7, 700, 10));
  memslotsCopySet(vm, 0, 1);
  t.deepEqual(ids(vm, 1), [1, 2]);
  const out = new SlotInfo();
  t.false(gfnToMemslot(vm, 1, 705, out));
  t.true(gfnToMemslot(vm, 1, 15, out));
  t.is(out.id, 2);
});

test('activeSlots reads the active set', (t) => {
  const vm = newVm();
  memslotReplace(vm, 1, slot(4, 0, 10));
  t.deepEqual(activeSlots(vm), []);
  Atomics.store(vm.i32, G.MEMSLOTS_ACTIVE, 1);
  t.deepEqual(activeSlots(vm).map((s) => s.id), [4]);
});

test('a swap: update-in-progress set, sets swapped, generation + 1 with the flag cleared, old set brought up to date', (t) => {
  const vm = newVm();
  const { a } = stubActor(vm, vm.layout.vmmActor);
  memslotReplace(vm, 1, slot(1, 0, 16)); // edit the inactive set
  genBeginUpdate(a);
  t.true(memslotsUpdateInProgress(vm));
  t.is(memslotsGeneration(vm), 0);
  swapActiveMemslots(a);
  t.is(memslotsActiveSet(vm), 1);
  genEndUpdate(a);
  t.false(memslotsUpdateInProgress(vm));
  t.is(memslotsGeneration(vm), 1);
  t.deepEqual(ids(vm, 0), [1], 'the now-inactive set is a copy of the active one');
  genBeginUpdate(a);
  swapActiveMemslots(a);
  genEndUpdate(a);
  t.is(memslotsActiveSet(vm), 0);
  t.is(memslotsGeneration(vm), 2);
});

test('slotLevelAligned: a huge mapping needs gfn and backing offset congruent modulo the huge page', (t) => {
  t.true(slotLevelAligned(slot(0, 512, 1024, { hvaBase: 1024 }), 2, false));
  t.false(slotLevelAligned(slot(0, 512, 1024, { hvaBase: 1025 }), 2, false));
  t.true(slotLevelAligned(slot(0, 262144, 1024, { hvaBase: 512 }), 2, false));
  t.false(slotLevelAligned(slot(0, 262144, 1024, { hvaBase: 512 }), 3, false));
  t.true(slotLevelAligned(slot(0, 3, 1024, { hvaBase: 7, gmemBase: 515 }), 2, true), 'private: the guest_memfd offset counts');
  t.false(slotLevelAligned(slot(0, 3, 1024, { hvaBase: 515, gmemBase: 7 }), 2, true));
  t.true(slotLevelAligned(slot(0, 10, 1024, { hvaBase: 10 + 512 * 3 }), 2, false), 'negative difference handled');
});

test('SlotInfo copyFrom and clear', (t) => {
  const a = slot(3, 10, 20, { flags: 1, gmemBase: 4, dirtyBase: 32 });
  a.index = 2;
  const b = new SlotInfo().copyFrom(a);
  t.deepEqual({ ...b }, { ...a });
  b.clear();
  t.false(b.valid);
  t.is(b.id, -1);
});

test('a base gfn above 2^32 is stored whole (two words): slots 2^32 gfns apart are told apart', (t) => {
  const vm = newVm({ physBits: 52 });
  const top = 2 ** 40 - 512;
  memslotReplace(vm, 0, slot(0, 0x100, 512));
  memslotReplace(vm, 0, slot(1, 2 ** 32 + 0x100, 512));
  memslotReplace(vm, 0, slot(2, top, 512));
  const out = new SlotInfo();
  for (const [gfn, id] of [[0x100, 0], [2 ** 32 + 0x100, 1], [2 ** 32 + 0x2ff, 1], [top, 2], [2 ** 40 - 1, 2]] as const) {
    t.true(gfnToMemslot(vm, 0, gfn, out), `gfn 0x${gfn.toString(16)}`);
    t.is(out.id, id);
  }
  t.is(readSlot(vm, 0, 2, new SlotInfo()).baseGfn, top);
  t.false(gfnToMemslot(vm, 0, 2 ** 33 + 0x100, out), 'same low word, another high word');
});
