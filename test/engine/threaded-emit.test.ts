// Goal: an actor's event emission — faults and retries batched into one record per kind and reset, accesses sent only in batches unless forced, deltas of CAS failures, zaps and flushes, one record per completed op; method: a CounterBatch over real ActorStats into a ring, read back with drainRing.

import test from 'ava';
import { Control, EV, RingWriter, drainRing, type ActorEvent } from '../../src/engine/control.js';
import { CounterBatch, FAULT_OUTCOMES, emitOp, errnoCode, errnoName, faultOutcomeCode, faultOutcomeName } from '../../src/engine/threaded-emit.js';
import { ActorStats } from '../../src/kvm/actor.js';
import { ACTOR_ACCESS_BATCH } from '../../src/kvm/limits.js';

function rig() {
  const ctl = Control.create(1, 64);
  const ring = new RingWriter(ctl, 0);
  const stats = new ActorStats();
  const read = (): ActorEvent[] => { const out: ActorEvent[] = []; drainRing(ctl, 0, (e) => out.push(e)); return out; };
  return { ring, stats, batch: new CounterBatch(ring, stats), read };
}

test('faults by outcome and retries by reason: one record per kind, then reset', (t) => {
  const { batch, read } = rig();
  batch.faultDone('fixed', null, null);
  batch.faultDone('fixed', null, null);
  batch.faultDone('retry', null, 'stale');
  batch.faultDone('continue', 'EFAULT', null);
  batch.flush(false);
  const got = read();
  t.deepEqual(got.filter((e) => e.type === EV.FAULT).map((e) => [faultOutcomeName(e.code), e.a]), [['fixed', 2], ['retry', 1], ['-EFAULT', 1]]);
  t.deepEqual(got.filter((e) => e.type === EV.RETRY).map((e) => e.a), [1]);
  batch.flush(false);
  t.deepEqual(read(), [], 'counts were reset');
});

test('accesses go out in batches (or when forced); CAS failures, zaps and flushes as deltas', (t) => {
  const { batch, stats, read } = rig();
  stats.accesses = ACTOR_ACCESS_BATCH - 1;
  stats.zaps = 4;
  batch.flush(false);
  t.deepEqual(read().map((e) => [e.type, e.a]), [[EV.ZAPS, 4]]);
  stats.accesses = ACTOR_ACCESS_BATCH;
  stats.tlbHits = 10;
  stats.zaps = 6;
  batch.flush(false);
  t.deepEqual(read().map((e) => [e.type, e.a, e.b]), [[EV.ACCESSES, ACTOR_ACCESS_BATCH, 10], [EV.ZAPS, 2, 0]]);
  stats.accesses += 1;
  batch.flush(false);
  t.deepEqual(read(), []);
  batch.flush(true);
  t.deepEqual(read().map((e) => [e.type, e.a]), [[EV.ACCESSES, 1]]);
});

test('codes read back: fault outcomes, errnos; one record per completed op', (t) => {
  for (const [i, o] of FAULT_OUTCOMES.entries()) t.is(faultOutcomeName(faultOutcomeCode(o, null)), o, String(i));
  t.is(errnoName(errnoCode('ENOENT')), 'ENOENT');
  t.is(errnoName(errnoCode(null)), null);
  const { ring, read } = rig();
  emitOp(ring, { op: 'pre_fault', gpa: 0n, size: 8192n, flags: 0n, untilDone: true }, { op: 'pre_fault', ret: -2, errno: 'ENOENT', gpa: '0x0', size: '0x2000', calls: 3 }, 2);
  emitOp(ring, { op: 'access', gpa: 3 * 4096, access: 'write' }, { op: 'access', ok: false, errno: 'EFAULT', emulated: false, exits: 1 }, 0);
  emitOp(ring, { op: 'access', gpa: 0, access: 'read' }, { op: 'access', ok: true, errno: null, emulated: false, exits: 0 }, 0);
  emitOp(ring, { op: 'access', gpa: 2 ** 52 - 4096, access: 'read' }, { op: 'access', ok: false, errno: 'EFAULT', emulated: false, exits: 1 }, 0);
  t.deepEqual(read().map((e) => [e.type, e.a, e.b, e.c]), [[EV.PRE_FAULT, errnoCode('ENOENT'), 2, 3], [EV.ACCESS_FAILED, 3, 0, 0], [EV.ACCESS_FAILED, -1, 0xff, 0]], 'a 40-bit gfn in two words');
});
