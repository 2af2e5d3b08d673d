// Goal: the dirty bitmap marks, tests, takes and scans gfns of a slot exactly, only while the slot logs, from per-slot bitmaps carved out of the layout's pool; method: direct calls on a real Vm with hand-made SlotInfos.

import test from 'ava';
import { beginDirtyMark, dirtyBitmapAlloc, dirtyLogInProgress, dirtyMarkInFlight, endDirtyMark, kvmSlotDirtyTrackEnabled, markPageDirtyInSlot, nextDirtyGfn, setDirtyLogInProgress, takePageDirty, testPageDirty } from '../../src/kvm/dirty-bitmap.js';
import { KVM_MEM_LOG_DIRTY_PAGES, SlotInfo } from '../../src/kvm/memslots.js';
import type { Vm } from '../../src/kvm/vm.js';
import { newVm } from './fixtures.js';

function loggingSlot(vm: Vm, baseGfn: number, npages: number, id = 0): SlotInfo {
  const s = new SlotInfo();
  s.index = 0; s.id = id; s.baseGfn = baseGfn; s.npages = npages; s.flags = KVM_MEM_LOG_DIRTY_PAGES;
  s.dirtyBase = dirtyBitmapAlloc(vm, npages);
  return s;
}

const all = (vm: Vm, s: SlotInfo): number[] => {
  const out: number[] = [];
  for (let g = nextDirtyGfn(vm, s, 0); g >= 0; g = nextDirtyGfn(vm, s, g + 1)) out.push(g);
  return out;
};

test('bitmaps are word-aligned, disjoint and zeroed', (t) => {
  const vm = newVm();
  const a = dirtyBitmapAlloc(vm, 40);
  const b = dirtyBitmapAlloc(vm, 1);
  t.is(a % 32, 0);
  t.is(b % 32, 0);
  t.true(b >= a + 40);
  const s = loggingSlot(vm, 0, 64);
  t.deepEqual(all(vm, s), []);
});

test('mark → test → take: the bit is set once and taken once', (t) => {
  const vm = newVm();
  const s = loggingSlot(vm, 1000, 100);
  t.false(testPageDirty(vm, s, 1005));
  markPageDirtyInSlot(vm, s, 1005);
  t.true(testPageDirty(vm, s, 1005));
  t.false(testPageDirty(vm, s, 1004));
  t.false(testPageDirty(vm, s, 1006));
  t.true(takePageDirty(vm, s, 1005));
  t.false(testPageDirty(vm, s, 1005));
  t.false(takePageDirty(vm, s, 1005), 'taken already');
});

test('a slot that does not log dirty pages is never marked', (t) => {
  const vm = newVm();
  const s = loggingSlot(vm, 0, 64);
  t.true(kvmSlotDirtyTrackEnabled(s));
  const off = new SlotInfo().copyFrom(s);
  off.flags = 0;
  t.false(kvmSlotDirtyTrackEnabled(off));
  markPageDirtyInSlot(vm, off, 3);
  t.false(testPageDirty(vm, s, 3));
});

test('nextDirtyGfn scans in order across word boundaries, relative to the slot base', (t) => {
  const vm = newVm();
  const base = 5; // not a multiple of 32
  const s = loggingSlot(vm, base, 200);
  const dirty = [0, 1, 31, 32, 33, 63, 64, 130, 199].map((i) => base + i);
  for (const g of dirty) markPageDirtyInSlot(vm, s, g);
  t.deepEqual(all(vm, s), dirty);
  t.is(nextDirtyGfn(vm, s, base + 34), base + 63);
  t.is(nextDirtyGfn(vm, s, base + 131), base + 199);
  t.is(nextDirtyGfn(vm, s, base + 200), -1, 'past the slot');
  t.is(nextDirtyGfn(vm, s, 0), base, 'a cursor below the slot starts at its base');
});

test('neighbouring slots do not see each other’s bits', (t) => {
  const vm = newVm();
  const a = loggingSlot(vm, 0, 33, 0);
  const b = loggingSlot(vm, 33, 10, 1);
  markPageDirtyInSlot(vm, a, 32);
  markPageDirtyInSlot(vm, b, 33);
  t.deepEqual(all(vm, a), [32]);
  t.deepEqual(all(vm, b), [33]);
});

test('the bitmap pool is bounded: exhausting it is a RangeError naming the cause', (t) => {
  const vm = newVm();
  t.throws(() => dirtyBitmapAlloc(vm, vm.layout.config.dirtyWords * 32 + 1), { instanceOf: RangeError, message: /dirty bitmap pool exhausted/ });
});

test('GET_DIRTY_LOG-in-progress flag per slot id', (t) => {
  const vm = newVm();
  t.false(dirtyLogInProgress(vm, 3));
  setDirtyLogInProgress(vm, 3, true);
  t.true(dirtyLogInProgress(vm, 3));
  t.false(dirtyLogInProgress(vm, 4));
  setDirtyLogInProgress(vm, 3, false);
  t.false(dirtyLogInProgress(vm, 3));
});

test('a dirty mark in flight is matched on the whole gfn, above 2^32 too', (t) => {
  const vm = newVm({ physBits: 52 });
  const g = 2 ** 40 - 1;
  t.false(dirtyMarkInFlight(vm, g));
  beginDirtyMark(vm, 1, g);
  t.true(dirtyMarkInFlight(vm, g));
  t.false(dirtyMarkInFlight(vm, g % 2 ** 32), 'the same low word');
  t.false(dirtyMarkInFlight(vm, g - 1));
  endDirtyMark(vm, 1);
  t.false(dirtyMarkInFlight(vm, g));
});
