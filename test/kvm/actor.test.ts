// Goal: an actor's fault counters — outcomes counted by index read back per outcome and errno, keys in the order first seen, each fault counted once however often the counts are read; method: ActorStats directly.

import test from 'ava';
import { ActorStats } from '../../src/kvm/actor.js';

test('faults by outcome: RET_PF outcomes and errnos, in the order first seen', (t) => {
  const s = new ActorStats();
  s.countFaultRet('spurious', null);
  s.countFaultRet('fixed', null);
  s.countFaultRet('continue', 'EFAULT');
  s.countFaultRet('fixed', null);
  s.countFaultRet('retry', null);
  t.deepEqual([...s.faultsByRet], [['spurious', 1], ['fixed', 2], ['-EFAULT', 1], ['retry', 1]]);
});

test('reading the counts does not count a fault twice, and later faults add to them', (t) => {
  const s = new ActorStats();
  s.countFaultRet('fixed', null);
  t.deepEqual(Object.fromEntries(s.faultsByRet), { fixed: 1 });
  t.deepEqual(Object.fromEntries(s.faultsByRet), { fixed: 1 }, 'a second read is the same');
  s.countFaultRet('fixed', null);
  s.countFaultRet('emulate', null);
  s.countFaultRet('continue', 'ENOMEM');
  s.countFaultRet('continue', 'ENOMEM');
  t.deepEqual([...s.faultsByRet], [['fixed', 2], ['emulate', 1], ['-ENOMEM', 2]]);
});

test('no fault, no key', (t) => {
  t.is(new ActorStats().faultsByRet.size, 0);
});
