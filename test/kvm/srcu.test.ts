// Goal: synchronize_srcu on kvm->srcu waits exactly for the readers that entered before it started, and says which reader word it waits on; method: srcuReadLock/Unlock by several actors around synchronizeSrcuStart, checking srcuGracePeriodPendingOn.

import test from 'ava';
import { ACTOR, G, actorWord } from '../../src/kvm/layout.js';
import { srcuGracePeriodPendingOn, srcuReadHeld, srcuReadLock, srcuReadUnlock, synchronizeSrcuStart } from '../../src/kvm/srcu.js';
import { newVm } from './fixtures.js';

const word = (vm: ReturnType<typeof newVm>, a: number): number => actorWord(vm.layout, a, ACTOR.SRCU_READ);

test('read-side sections are per actor', (t) => {
  const vm = newVm();
  t.false(srcuReadHeld(vm, 0));
  srcuReadLock(vm, 0);
  t.true(srcuReadHeld(vm, 0));
  t.false(srcuReadHeld(vm, 1));
  t.is(vm.i32[word(vm, 0)], 1);
  srcuReadUnlock(vm, 0);
  t.false(srcuReadHeld(vm, 0));
});

test('synchronize waits exactly for readers that entered before it started, reporting the word', (t) => {
  const vm = newVm({ vcpus: 3 });
  const vmm = vm.layout.vmmActor;
  srcuReadLock(vm, 0);
  srcuReadLock(vm, 2);
  const e = synchronizeSrcuStart(vm);
  t.is(vm.i32[G.SRCU_EPOCH], e);
  srcuReadLock(vm, 1); // entered after the start: sees the new memslots, not waited for
  t.is(srcuGracePeriodPendingOn(vm, e, vmm), word(vm, 0));
  srcuReadUnlock(vm, 0);
  t.is(srcuGracePeriodPendingOn(vm, e, vmm), word(vm, 2));
  srcuReadUnlock(vm, 2);
  t.is(srcuGracePeriodPendingOn(vm, e, vmm), -1);
  t.true(srcuReadHeld(vm, 1));
});

test('a reader that leaves and re-enters during the grace period no longer holds it back', (t) => {
  const vm = newVm();
  srcuReadLock(vm, 0);
  const e = synchronizeSrcuStart(vm);
  t.not(srcuGracePeriodPendingOn(vm, e, 3), -1);
  srcuReadUnlock(vm, 0);
  srcuReadLock(vm, 0);
  t.is(srcuGracePeriodPendingOn(vm, e, 3), -1);
});

test('the updater does not wait for itself (self is skipped)', (t) => {
  const vm = newVm();
  const vmm = vm.layout.vmmActor;
  srcuReadLock(vm, vmm);
  const e = synchronizeSrcuStart(vm);
  t.is(srcuGracePeriodPendingOn(vm, e, vmm), -1);
  t.is(srcuGracePeriodPendingOn(vm, e, 0), word(vm, vmm));
});

test('a second synchronize waits for readers that entered during the first', (t) => {
  const vm = newVm();
  const e1 = synchronizeSrcuStart(vm);
  srcuReadLock(vm, 1);
  t.is(srcuGracePeriodPendingOn(vm, e1, 3), -1);
  const e2 = synchronizeSrcuStart(vm);
  t.is(e2, e1 + 1);
  t.is(srcuGracePeriodPendingOn(vm, e2, 3), word(vm, 1));
});
