// Goal: the outcomes the model allows per op cover the racing orders — a delete that beats the next access as well as one that loses — and map results to what userspace sees; method: small scenarios on the deterministic engine.

import test from 'ava';
import { PriorityScheduler, modelExpectations, outcomeOf, priorityOrders } from '../../src/export/expectations.js';
import { parseScenario } from '../../src/workload/scenario.js';

test('outcomeOf: ok, mmio for an emulated access, the errno otherwise', (t) => {
  t.is(outcomeOf({ op: 'access', ok: true, errno: null, emulated: false, exits: 1 }), 'ok');
  t.is(outcomeOf({ op: 'access', ok: true, errno: null, emulated: true, exits: 1 }), 'mmio');
  t.is(outcomeOf({ op: 'access', ok: false, errno: 'EFAULT', emulated: false, exits: 1 }), 'EFAULT');
  t.is(outcomeOf({ op: 'pre_fault', ret: -1, errno: 'ENOENT', gpa: '0x0', size: '0x1000', calls: 2 }), 'ENOENT');
  t.is(outcomeOf({ op: 'set_memslot', ret: 0, errno: null, change: 'delete' }), 'ok');
  t.is(outcomeOf({ op: 'invalidate', ret: 0, pagesFreed: 3 }), 'ok');
});

test('priority orders: every permutation up to four actors, rotations and reverses beyond', (t) => {
  t.is(priorityOrders([0, 1, 2]).length, 6);
  t.is(priorityOrders([0, 1, 2, 3]).length, 24);
  const five = priorityOrders([0, 1, 2, 3, 4]);
  t.is(five.length, 10);
  t.deepEqual(five[1], [1, 2, 3, 4, 0]);
});

test('the priority scheduler runs its first actor, but yields one step after a long run', (t) => {
  const s = new PriorityScheduler([2, 0]);
  const view = (previous: number) => ({ runnable: [0, 1, 2], headOpIndex: [0, 0, 0], previous, step: 0 });
  t.is(s.next(view(-1)), 2);
  let yielded = false;
  for (let i = 0; i < 100; i++) if (s.next(view(2)) === 0) yielded = true;
  t.true(yielded);
  t.is(new PriorityScheduler([5]).next(view(0)), 0);
});

test('an access racing a delete of its slot: both outcomes allowed, the one before the delete only ok', (t) => {
  const s = parseScenario(JSON.stringify({
    name: 't', description: 'd', vm: { type: 'default', vcpus: 1 },
    memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }, { slot: 1, gpa: '32MiB', size: '2MiB' }],
    ops: [
      { actor: 'vcpu0', op: 'access', gpa: '32MiB', access: 'read' },
      { actor: 'vcpu0', op: 'access', gpa: '32MiB', access: 'write' },
      { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: '0', after: 0 },
    ],
  }), 't.json');
  const e = modelExpectations(s, '6.19', 4);
  t.is(e.runs, 1 + 2 + 4);
  t.true(e.clean > 0);
  t.deepEqual(e.allowed[0], ['ok']);
  t.deepEqual(e.allowed[1], ['mmio', 'ok']);
  t.deepEqual(e.allowed[2], ['ok']);
});
