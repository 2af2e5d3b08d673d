// Goal: the epoch-based RCU for page-table pages ends a grace period exactly when every reader that could have loaded a pointer unpublished at that epoch has left; method: rcuReadLock/Unlock by several actors around rcuNewEpoch, checking rcuGracePeriodDone.

import test from 'ava';
import { ACTOR, G, actorWord } from '../../src/kvm/layout.js';
import { rcuGracePeriodDone, rcuNewEpoch, rcuReadHeld, rcuReadLock, rcuReadUnlock } from '../../src/kvm/rcu.js';
import { newVm } from './fixtures.js';

test('read-side sections are recorded per actor with the epoch they began in', (t) => {
  const vm = newVm();
  t.false(rcuReadHeld(vm, 0));
  rcuReadLock(vm, 0);
  t.true(rcuReadHeld(vm, 0));
  t.false(rcuReadHeld(vm, 1));
  t.is(vm.i32[actorWord(vm.layout, 0, ACTOR.RCU_READ)], 1, 'epoch 0 + 1');
  rcuNewEpoch(vm);
  rcuReadLock(vm, 1);
  t.is(vm.i32[actorWord(vm.layout, 1, ACTOR.RCU_READ)], 2);
  rcuReadUnlock(vm, 0);
  t.false(rcuReadHeld(vm, 0));
  t.is(vm.i32[actorWord(vm.layout, 0, ACTOR.RCU_READ)], 0);
});

test('rcuNewEpoch bumps the global epoch and returns the new one', (t) => {
  const vm = newVm();
  t.is(rcuNewEpoch(vm), 1);
  t.is(rcuNewEpoch(vm), 2);
  t.is(vm.i32[G.RCU_EPOCH], 2);
});

test('a grace period waits for readers that began before it, not for later ones', (t) => {
  const vm = newVm({ vcpus: 3 });
  rcuReadLock(vm, 0); // before
  const e = rcuNewEpoch(vm);
  rcuReadLock(vm, 1); // after
  t.false(rcuGracePeriodDone(vm, e));
  rcuReadUnlock(vm, 0);
  t.true(rcuGracePeriodDone(vm, e), 'the later reader does not matter');
  t.true(rcuReadHeld(vm, 1));
  const e2 = rcuNewEpoch(vm);
  t.false(rcuGracePeriodDone(vm, e2), 'the later reader began before e2');
  t.true(rcuGracePeriodDone(vm, e), 'but not before e');
  rcuReadUnlock(vm, 1);
  t.true(rcuGracePeriodDone(vm, e2));
});

test('any actor — vCPU, host or vmm — can hold a grace period back; a quiescent VM never does', (t) => {
  const vm = newVm({ vcpus: 2 });
  const e = rcuNewEpoch(vm);
  t.true(rcuGracePeriodDone(vm, e));
  for (const a of [0, 1, vm.layout.hostActor, vm.layout.vmmActor]) {
    const vm2 = newVm({ vcpus: 2 });
    rcuReadLock(vm2, a);
    const e2 = rcuNewEpoch(vm2);
    t.false(rcuGracePeriodDone(vm2, e2), vm2.actorName(a));
    rcuReadUnlock(vm2, a);
    t.true(rcuGracePeriodDone(vm2, e2));
  }
});

test('re-entering a read section after leaving moves the reader to the current epoch', (t) => {
  const vm = newVm();
  rcuReadLock(vm, 0);
  const e = rcuNewEpoch(vm);
  rcuReadUnlock(vm, 0);
  rcuReadLock(vm, 0); // a new section: cannot see what was unpublished at e
  t.true(rcuGracePeriodDone(vm, e));
  t.false(rcuGracePeriodDone(vm, rcuNewEpoch(vm)));
});
