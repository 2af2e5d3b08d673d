// Goal: the epoch readers behind RCU and SRCU record each section's starting epoch in the actor's own word of one flavour, and a grace period is pending exactly while a reader of that flavour (other than the caller) began at or before its epoch; method: direct calls on a real Vm with both flavours' words.

import test from 'ava';
import { epochAdvance, epochReadHeld, epochReadLock, epochReadUnlock, epochReaderPendingOn } from '../../src/kvm/epoch-readers.js';
import { ACTOR, G, actorWord } from '../../src/kvm/layout.js';
import { newVm } from './fixtures.js';

const RCU = ACTOR.RCU_READ;
const SRCU = ACTOR.SRCU_READ;

test('a section records its epoch + 1 in the actor\'s word of its flavour only; unlock clears it', (t) => {
  const vm = newVm();
  epochAdvance(vm, G.SRCU_EPOCH);
  epochAdvance(vm, G.SRCU_EPOCH);
  epochReadLock(vm, 1, SRCU, G.SRCU_EPOCH);
  t.is(vm.i32[actorWord(vm.layout, 1, SRCU)], 3);
  t.true(epochReadHeld(vm, 1, SRCU));
  t.false(epochReadHeld(vm, 1, RCU), 'the other flavour is untouched');
  t.false(epochReadHeld(vm, 0, SRCU), 'and so are the other actors');
  epochReadUnlock(vm, 1, SRCU);
  t.false(epochReadHeld(vm, 1, SRCU));
  t.is(vm.i32[actorWord(vm.layout, 1, SRCU)], 0);
});

test('advance bumps the flavour\'s epoch and returns the new value', (t) => {
  const vm = newVm();
  t.is(epochAdvance(vm, G.RCU_EPOCH), 1);
  t.is(epochAdvance(vm, G.RCU_EPOCH), 2);
  t.is(vm.i32[G.RCU_EPOCH], 2);
  t.is(vm.i32[G.SRCU_EPOCH], 0);
});

test('pending on the first reader that began at or before the epoch; a later reader, a reader of the other flavour or the caller do not count', (t) => {
  const vm = newVm({ vcpus: 3 });
  epochReadLock(vm, 2, RCU, G.RCU_EPOCH); // began in epoch 0
  const e = epochAdvance(vm, G.RCU_EPOCH);
  epochReadLock(vm, 0, RCU, G.RCU_EPOCH); // began after: epoch 1
  epochReadLock(vm, 1, SRCU, G.SRCU_EPOCH); // another flavour
  t.is(epochReaderPendingOn(vm, RCU, e, -1), actorWord(vm.layout, 2, RCU));
  t.is(epochReaderPendingOn(vm, RCU, e, 2), -1, 'the caller itself is skipped');
  epochReadUnlock(vm, 2, RCU);
  t.is(epochReaderPendingOn(vm, RCU, e, -1), -1);
  t.is(epochReaderPendingOn(vm, RCU, e + 1, -1), actorWord(vm.layout, 0, RCU), 'a later epoch waits for it');
  t.is(epochReaderPendingOn(vm, SRCU, 0, -1), -1, 'nothing is pending on an epoch before every section began');
  t.is(epochReaderPendingOn(vm, SRCU, 1, -1), actorWord(vm.layout, 1, SRCU));
});
